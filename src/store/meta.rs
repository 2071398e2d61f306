//! A record's metadata (`meta.json`): how the build was run or where its log came from.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Version of the `meta.json` layout.
pub const META_SCHEMA: u32 = 1;

/// How a log reached the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `buildlens record` ran the build.
    Record,
    /// `buildlens import` copied an existing log.
    Import,
}

/// Contents of `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordMeta {
    pub schema: u32,
    pub id: String,
    pub source: Source,
    /// The build command line (`record`), empty for imports.
    #[serde(default)]
    pub command: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// RFC 3339.
    pub started: String,
    /// `null` while `buildlens record` is still running.
    pub finished: Option<String>,
    pub exit_code: Option<i32>,
    /// Signal that ended the command, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub dockerfile: Option<PathBuf>,
    pub context: Option<PathBuf>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub build_args: Vec<(String, Option<String>)>,
    #[serde(default)]
    pub no_cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `docker-build`, `buildx-build`, `podman-build`, `compose-build`, `act`, `other`.
    #[serde(default)]
    pub tool: String,
    /// The file an import was copied from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<PathBuf>,
    /// `record` of a compose build: each service with a `build:` and the Dockerfile it builds, from the
    /// compose file the command used. A service's steps belong to its Dockerfile only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceDockerfile>,
    /// Pid of the `buildlens record` process while it runs (to tell a live record from an abandoned one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorder_pid: Option<u32>,
    /// A record pulled from a registry (`buildlens pull`): where it came from. Local records have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// Where a pulled record came from (`store::remote`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// `registry/repository`.
    pub remote: String,
    /// The tag it was pulled from.
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Pushed from a CI job.
    #[serde(default)]
    pub ci: bool,
    /// Its id where it was recorded.
    #[serde(default)]
    pub record_id: String,
    /// RFC 3339: when it was pulled.
    #[serde(default)]
    pub pulled: String,
}

impl Origin {
    /// `CI · main · 3h ago` (who: `CI` or the registry; the branch where known; the build's age).
    pub fn label(&self, started: &str, now: chrono::DateTime<chrono::Utc>) -> String {
        let mut parts = vec![if self.ci { "CI".to_string() } else { self.remote.clone() }];
        parts.extend(self.branch.clone());
        if let Ok(then) = chrono::DateTime::parse_from_rfc3339(started) {
            parts.push(crate::present::ago(then.with_timezone(&chrono::Utc), now));
        }
        crate::present::inline(&parts.join(" · ")).into_owned()
    }
}

/// A compose service and the Dockerfile it builds (workspace-relative where inside it, like `dockerfile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDockerfile {
    pub service: String,
    pub dockerfile: PathBuf,
}

impl RecordMeta {
    /// Metadata with only the identity filled in.
    pub fn new(id: String, source: Source, started: String) -> RecordMeta {
        RecordMeta {
            schema: META_SCHEMA,
            id,
            source,
            command: Vec::new(),
            cwd: None,
            started,
            finished: None,
            exit_code: None,
            signal: None,
            dockerfile: None,
            context: None,
            tags: Vec::new(),
            build_args: Vec::new(),
            no_cache: false,
            target: None,
            tool: String::new(),
            imported_from: None,
            services: Vec::new(),
            recorder_pid: None,
            origin: None,
        }
    }

    /// True while the recorder that writes this record is still alive.
    pub fn is_live(&self) -> bool {
        self.finished.is_none() && self.recorder_pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
    }
}

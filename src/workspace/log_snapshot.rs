//! The snapshot of an open build log: the Dockerfile it was built from (`files::log_dockerfile`), the
//! places that point at that Dockerfile's lines (`log_links::scan` over the Dockerfile's open buffer, else
//! its file) and the log's error and warning lines. Computed once per (log version, linked Dockerfile's
//! buffer version or file state); the host keeps the last one per log.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::files;
use super::log_links::{self, LogProblem, LogRef};
use crate::store::{safe_fs, Store};

/// Everything the server reads about one version of one open log.
#[derive(Debug)]
pub struct LogSnapshot {
    pub path: PathBuf,
    pub version: i32,
    /// The Dockerfile the log was built from (inside the workspace), when one is found.
    pub dockerfile: Option<PathBuf>,
    /// The links to that Dockerfile's lines; `None` without a Dockerfile or when its file cannot be read.
    pub refs: Option<Vec<LogRef>>,
    /// The log's error and warning lines.
    pub problems: Arc<Vec<LogProblem>>,
    /// The log's text these ranges are in.
    pub text: Arc<str>,
    pub(super) key: LogKey,
}

/// What a log snapshot was computed from, besides the log's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LogKey {
    pub version: i32,
    pub dockerfile: Option<PathBuf>,
    pub state: DockerfileState,
    /// Workspace root and store folder.
    pub settings: (PathBuf, PathBuf),
}

/// Which text of the linked Dockerfile the links were placed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DockerfileState {
    /// None linked.
    Unlinked,
    /// Its open buffer at this version.
    Open(i32),
    /// Its file, by size and modification time (`None`: not readable).
    File(Option<(u64, Option<SystemTime>)>),
}

/// The linked Dockerfile's buffer (its version and text) when it is open.
pub(super) type OpenBuffer = Option<(i32, Arc<str>)>;

/// The key of the log at `path` (`text` at `version`) now: its linked Dockerfile is looked up again
/// (cheap: a record's meta.json, a few `stat`s), so a Dockerfile created or removed since counts.
pub(super) fn key_of(
    path: &Path,
    version: i32,
    text: &str,
    root: &Path,
    store: &Store,
    open: impl Fn(&Path) -> OpenBuffer,
) -> (LogKey, OpenBuffer) {
    let dockerfile = files::log_dockerfile(path, text, root, store);
    let buffer = dockerfile.as_deref().and_then(&open);
    let state = match (&dockerfile, &buffer) {
        (None, _) => DockerfileState::Unlinked,
        (Some(_), Some((v, _))) => DockerfileState::Open(*v),
        (Some(df), None) => DockerfileState::File(std::fs::metadata(df).ok().map(|m| (m.len(), m.modified().ok()))),
    };
    let settings = (root.to_path_buf(), store.root().to_path_buf());
    (LogKey { version, dockerfile, state, settings }, buffer)
}

/// Computes the snapshot for `key`; `problems` are reused from an earlier snapshot of the same text.
pub(super) fn compute(path: &Path, text: Arc<str>, key: LogKey, buffer: OpenBuffer, problems: Option<Arc<Vec<LogProblem>>>) -> LogSnapshot {
    let problems = problems.unwrap_or_else(|| Arc::new(log_links::problems(&text)));
    // The buffer when the Dockerfile is open (unsaved edits count), else the file (regular, under the cap).
    let dockerfile_text = match (&key.dockerfile, buffer) {
        (Some(_), Some((_, t))) => Some(t.to_string()),
        (Some(df), None) => safe_fs::read_text(df, safe_fs::DOCKERFILE_CAP).ok(),
        (None, _) => None,
    };
    let refs = dockerfile_text.map(|df| log_links::scan(&text, &df));
    LogSnapshot { path: path.to_path_buf(), version: key.version, dockerfile: key.dockerfile.clone(), refs, problems, text, key }
}

impl LogSnapshot {
    /// The bytes of a line of the log (a `LogRef::span` or `LogProblem::span`).
    pub fn line(&self, span: &std::ops::Range<usize>) -> &str {
        self.text.get(span.clone()).unwrap_or("")
    }
}

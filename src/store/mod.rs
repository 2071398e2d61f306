//! The build store: `.buildlens/builds/<id>/` holding the raw log (`build.log`, bytes exactly as
//! produced), `meta.json`, the parsed summary cache (`summary.json`) and, for recorded builds whose image
//! the engine knew, a snapshot of the image's history (`image.json`).
//!
//! Invariants: logs, metadata and image snapshots are written only by `record`/`import` (a snapshot once,
//! atomically), never rewritten or deleted by indexing; the summary cache is replaced whole (write to a temporary file, then rename); nothing is
//! written outside the store's root; record ids are only ever made here, so a path built from one stays
//! inside the store. Every file is read and written through `safe_fs`: only regular files, under a size
//! cap, never blocking; never written through a symlink that leaves the store.

pub mod catalog;
pub mod compose;
pub mod index;
pub mod meta;
pub mod remote;
pub mod safe_fs;
pub mod select;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub use meta::{Origin, RecordMeta, ServiceDockerfile, Source};

/// Folder name of the default store at the workspace root.
pub const DEFAULT_DIR: &str = ".buildlens";
/// The raw log's file name inside a record folder.
pub const LOG_FILE: &str = "build.log";
pub const META_FILE: &str = "meta.json";
pub const SUMMARY_FILE: &str = "summary.json";
/// The image's history, taken by `record` right after a successful build.
pub const IMAGE_FILE: &str = "image.json";
/// The Dockerfile, `.dockerignore` and context manifest as they were when `record` started the build.
pub const INPUTS_FILE: &str = "inputs.json";

/// An opened store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// One record folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub dir: PathBuf,
}

impl Record {
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }
    pub fn meta_path(&self) -> PathBuf {
        self.dir.join(META_FILE)
    }
    pub fn summary_path(&self) -> PathBuf {
        self.dir.join(SUMMARY_FILE)
    }

    pub fn image_path(&self) -> PathBuf {
        self.dir.join(IMAGE_FILE)
    }

    /// The snapshot of the built image's history, if `record` took one (an unreadable one counts as none).
    pub fn image(&self) -> Option<crate::analysis::layers::ImageHistory> {
        safe_fs::read_json(&self.image_path(), safe_fs::IMAGE_CAP)
    }

    /// Writes `image.json` (atomically).
    pub fn write_image(&self, history: &crate::analysis::layers::ImageHistory) -> Result<()> {
        self.write_atomic(&self.image_path(), &serde_json::to_vec_pretty(history)?)
    }

    /// What `record` kept of the build's inputs, if it did (older records and imports have none).
    pub fn inputs(&self) -> Option<crate::analysis::inputs::Inputs> {
        safe_fs::read_json(&self.dir.join(INPUTS_FILE), safe_fs::INPUTS_CAP)
    }

    /// The Dockerfile's text as built, from `inputs.json` (the rest of the file is skipped, not kept).
    pub fn built_dockerfile(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct DockerfileOnly {
            dockerfile: Option<String>,
        }
        safe_fs::read_json::<DockerfileOnly>(&self.dir.join(INPUTS_FILE), safe_fs::INPUTS_CAP)?.dockerfile
    }

    /// Writes `inputs.json` (atomically).
    pub fn write_inputs(&self, inputs: &crate::analysis::inputs::Inputs) -> Result<()> {
        self.write_atomic(&self.dir.join(INPUTS_FILE), &serde_json::to_vec(inputs)?)
    }

    /// The facts `explain` compares: the recorded command line and `inputs.json`.
    pub fn facts(&self) -> crate::analysis::inputs::BuildFacts {
        let meta = self.meta().ok();
        crate::analysis::inputs::BuildFacts {
            build_args: meta.as_ref().map(|m| m.build_args.clone()).unwrap_or_default(),
            no_cache: meta.as_ref().is_some_and(|m| m.no_cache),
            tool: meta.map(|m| m.tool).unwrap_or_default(),
            inputs: self.inputs().map(std::sync::Arc::new),
        }
    }

    /// Reads `meta.json`.
    pub fn meta(&self) -> Result<RecordMeta> {
        let text = safe_fs::read_capped(&self.meta_path(), safe_fs::META_CAP)?;
        serde_json::from_slice(&text).with_context(|| format!("{} is not a buildlens record", self.meta_path().display()))
    }

    /// Writes `meta.json` (atomically: readers never see half a file) and appends it to the store's
    /// catalog (an append that fails is made good by the next reader: `Store::catalog`).
    pub fn write_meta(&self, meta: &RecordMeta) -> Result<()> {
        let json = serde_json::to_vec_pretty(meta)?;
        self.write_atomic(&self.meta_path(), &json)?;
        let _ = catalog::append(self.store_root(), &catalog::Entry::of(meta));
        Ok(())
    }

    /// The store holding this record (records are only made by `Store`: `<root>/builds/<id>`).
    pub fn store_root(&self) -> &Path {
        self.dir.parent().and_then(Path::parent).unwrap_or(&self.dir)
    }

    /// Why nothing can be written in this record's folder, when it resolves outside the store (a
    /// symlink): one problem line for the reports.
    pub fn leaves_store(&self) -> Option<String> {
        let symlink = fs::symlink_metadata(&self.dir).is_ok_and(|m| m.file_type().is_symlink());
        symlink.then(|| safe_fs::confined(self.store_root(), &self.dir).err().map(|e| format!("record {}: {e}", self.id))).flatten()
    }

    /// One problem line per optional file of the record (`image.json`, `inputs.json`, `summary.json`) that
    /// is there but will not be read: not a regular file, or over its cap (`safe_fs`). Looks at metadata
    /// only.
    pub fn refused_files(&self) -> Vec<String> {
        let files = [(IMAGE_FILE, safe_fs::IMAGE_CAP), (INPUTS_FILE, safe_fs::INPUTS_CAP), (SUMMARY_FILE, safe_fs::SUMMARY_CAP)];
        let refused = |(name, cap): (&str, u64)| {
            let meta = fs::metadata(self.dir.join(name)).ok()?;
            let why = if !meta.is_file() {
                "not a regular file".to_string()
            } else if meta.len() > cap {
                format!("larger than its cap of {cap} bytes")
            } else {
                return None;
            };
            Some(format!("record {}: {name} is {why}: not read", self.id))
        };
        files.into_iter().filter_map(refused).collect()
    }

    /// `safe_fs::write_atomic` inside this record's store.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        safe_fs::write_atomic(self.store_root(), path, bytes).with_context(|| format!("writing {}", path.display()))
    }
}

impl Store {
    /// The store to use: `explicit` (`--store`), else `$BUILDLENS_STORE`, else `.buildlens` at the
    /// workspace root found from `cwd` (the nearest folder with a `.buildlens` or `.git`, else `cwd`).
    pub fn locate(explicit: Option<&Path>, cwd: &Path) -> Store {
        Store::locate_for(explicit, cwd, cwd)
    }

    /// `locate` for a command about a file elsewhere (`report path/to/Dockerfile`): a relative `--store` or
    /// `$BUILDLENS_STORE` is taken from `cwd`, where it was typed, but the workspace is searched from
    /// `search_from` (the file's folder).
    pub fn locate_for(explicit: Option<&Path>, cwd: &Path, search_from: &Path) -> Store {
        let given =
            explicit.map(Path::to_path_buf).or_else(|| std::env::var_os("BUILDLENS_STORE").filter(|v| !v.is_empty()).map(PathBuf::from));
        let root = match given {
            Some(root) if root.is_absolute() => root,
            Some(root) => cwd.join(root),
            None => workspace_root(search_from).join(DEFAULT_DIR),
        };
        Store { root }
    }

    pub fn at(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn builds_dir(&self) -> PathBuf {
        self.root.join("builds")
    }

    /// Creates a new, empty record folder with a fresh, time-sortable id.
    pub fn create_record(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Record> {
        let builds = self.builds_dir();
        fs::create_dir_all(&builds).with_context(|| format!("creating the store at {}", builds.display()))?;
        let builds = safe_fs::confined(&self.root, &builds).with_context(|| format!("creating a record in {}", builds.display()))?;
        ignore_in_git(&self.root);
        for attempt in 0..100u32 {
            let id = format!("{}-{:04x}", now.format("%Y%m%dT%H%M%S%.3fZ"), unique_suffix(attempt));
            let dir = builds.join(&id);
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(Record { dir: self.builds_dir().join(&id), id }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
            }
        }
        bail!("could not find a free record id in {}", builds.display())
    }

    /// All records, oldest first (ids sort by time), pulled ones (`remote/`) among them. A missing store
    /// has none.
    pub fn records(&self) -> Vec<Record> {
        let entries = fs::read_dir(self.builds_dir()).into_iter().flatten();
        let mut out: Vec<Record> = entries
            .flatten()
            .filter(|e| e.path().join(META_FILE).is_file())
            .filter_map(|e| Some(Record { id: e.file_name().into_string().ok()?, dir: e.path() }))
            .collect();
        out.extend(remote::records(self));
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// The record with this id, if it exists. Ids containing path separators are refused.
    pub fn record(&self, id: &str) -> Option<Record> {
        self.record_unchecked(id).filter(|r| r.meta_path().is_file())
    }

    /// The record folder this id names (refused as `record` refuses it), without looking at it.
    pub fn record_unchecked(&self, id: &str) -> Option<Record> {
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            return None;
        }
        if let Some(dir) = remote::record_dir(&self.root, id) {
            return Some(Record { id: id.to_string(), dir });
        }
        Some(Record { id: id.to_string(), dir: self.builds_dir().join(id) })
    }
}

/// The nearest ancestor of `cwd` that holds `.buildlens` or `.git`; `cwd` itself when none does.
pub fn workspace_root(cwd: &Path) -> PathBuf {
    cwd.ancestors().find(|dir| dir.join(DEFAULT_DIR).is_dir() || dir.join(".git").exists()).unwrap_or(cwd).to_path_buf()
}

/// Keeps the store out of `git status` without touching the user's `.gitignore`.
pub(crate) fn ignore_in_git(root: &Path) {
    use std::io::Write;
    // Created only where nothing is (not even a symlink): a planted one is never written through.
    if let Ok(mut file) = safe_fs::create_new(&root.join(".gitignore")) {
        let _ = file.write_all(b"# buildlens store: recorded build logs\n*\n");
    }
}

fn unique_suffix(attempt: u32) -> u32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    (std::process::id() ^ nanos ^ attempt.wrapping_mul(0x9e37)) & 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_created_listed_and_looked_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join(".buildlens"));
        let now = chrono::Utc::now();
        let a = store.create_record(now).unwrap();
        let b = store.create_record(now).unwrap();
        assert_ne!(a.id, b.id);
        for r in [&a, &b] {
            r.write_meta(&RecordMeta::new(r.id.clone(), Source::Import, now.to_rfc3339())).unwrap();
        }
        assert_eq!(store.records().len(), 2);
        assert_eq!(store.record(&a.id), Some(a.clone()));
        assert_eq!(store.record("../x"), None);
        assert_eq!(store.record(""), None);
        assert_eq!(a.meta().unwrap().id, a.id);
    }

    #[test]
    fn locate_prefers_flag_then_env_then_workspace() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("ws/.git")).unwrap();
        fs::create_dir_all(dir.path().join("ws/sub")).unwrap();
        let s = Store::locate(Some(Path::new("st")), &dir.path().join("ws/sub"));
        assert_eq!(s.root(), dir.path().join("ws/sub/st"));
        let s = Store::locate_for(Some(Path::new("st")), dir.path(), &dir.path().join("ws/sub"));
        assert_eq!(s.root(), dir.path().join("st"), "a relative --store is taken from where it was typed");
        if std::env::var_os("BUILDLENS_STORE").is_none() {
            let s = Store::locate(None, &dir.path().join("ws/sub"));
            assert_eq!(s.root(), dir.path().join("ws/.buildlens"));
            let s = Store::locate_for(None, dir.path(), &dir.path().join("ws/sub"));
            assert_eq!(s.root(), dir.path().join("ws/.buildlens"), "the workspace is searched from the file's folder");
        }
    }
}

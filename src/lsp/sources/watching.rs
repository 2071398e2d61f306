//! What the store watch holds (kept in the server's `Shared`; `watch` sets it up and replaces it).

use std::path::PathBuf;

/// What is watched, and how.
#[derive(Default)]
pub struct Watching {
    pub(super) target: Option<Target>,
    pub(super) registered: bool,
    /// The `notify` watcher's task (it owns the watcher); aborted when the target changes.
    pub(super) fs: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(task) = self.fs.take() {
            task.abort();
        }
    }
}

/// The folders and globs to watch, from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) store: PathBuf,
    pub(super) root: PathBuf,
    pub(super) globs: Vec<String>,
}

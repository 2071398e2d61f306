//! The build-log line of an offset (where a failed step's diagnostic points: its headline's cause, else
//! where its output ends): the log's newlines up to it counted once per (log, offset) for the host's life.
//! A log is only ever appended to, so the line of an offset never changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Offsets held at most; past it the cache starts again (each entry is one small key).
const HELD: usize = 4096;

/// Log lines of offsets already counted (0-based).
#[derive(Debug, Default)]
pub struct LineCache {
    lines: Mutex<HashMap<(PathBuf, u64), Option<u32>>>,
}

impl LineCache {
    /// The 0-based line of `offset` in the log at `path` (read when not known yet).
    pub fn line(&self, path: &Path, offset: u64) -> Option<u32> {
        let key = (path.to_path_buf(), offset);
        if let Some(known) = self.lines.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return *known;
        }
        let line = super::files::line_at(path, offset);
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() >= HELD {
            lines.clear();
        }
        lines.insert(key, line);
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_counted_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("build.log");
        std::fs::write(&log, "a\nb\nc\n").unwrap();
        let cache = LineCache::default();
        assert_eq!(cache.line(&log, 4), Some(2));
        // Kept: the file is gone, the answer is not.
        std::fs::remove_file(&log).unwrap();
        assert_eq!(cache.line(&log, 4), Some(2));
        assert_eq!(cache.line(&log, 0), None, "a log that cannot be read has no line");
    }
}

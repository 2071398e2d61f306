//! Build logs outside the store, matched by the `buildlens.logGlobs` setting (workspace-relative globs):
//! they count as build records. They are read only: their parsed summaries are cached inside the store
//! (`<store>/external/<hash of the path>.json`), never next to them.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Component, Path, PathBuf};

/// The index key of a globbed log (record ids never contain `:`).
pub const KEY_PREFIX: &str = "log:";
/// Most files looked at while searching for matches (a glob like `**/*.log` over a large workspace).
const MAX_VISITED: usize = 20_000;

/// The globs and the folder they are relative to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogGlobs {
    pub root: PathBuf,
    pub globs: Vec<String>,
}

impl LogGlobs {
    /// Whether `path` is a log these globs name (never a file inside the store).
    pub fn matches(&self, path: &Path, store_root: &Path) -> bool {
        if path.starts_with(store_root) {
            return false;
        }
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        self.globs.iter().any(|g| glob_match(g, relative) || glob_match(g, path))
    }

    /// Every file the globs match now, sorted. Hidden folders (`.git`, the store) are not searched.
    pub fn find(&self, store_root: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut visited = 0usize;
        let mut bases: Vec<PathBuf> = self.globs.iter().filter_map(|g| glob_base(g, &self.root)).collect();
        bases.sort();
        bases.dedup();
        for base in bases {
            self.walk(&base, store_root, &mut visited, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    fn walk(&self, dir: &Path, store_root: &Path, visited: &mut usize, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            *visited += 1;
            if *visited > MAX_VISITED {
                return;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            let hidden = entry.file_name().to_str().is_some_and(|n| n.starts_with('.'));
            if kind.is_dir() && !hidden && !path.starts_with(store_root) {
                self.walk(&path, store_root, visited, out);
            } else if kind.is_file() && self.matches(&path, store_root) {
                out.push(path);
            }
        }
    }
}

/// Whether the whole `path` matches the glob `pattern` (`crate::glob`).
pub fn glob_match(pattern: &str, path: &Path) -> bool {
    crate::glob::matches(pattern, &path.to_string_lossy())
}

/// The folder a glob's fixed part names (`ci/logs/*.txt` → `<root>/ci/logs`).
pub fn glob_base(glob: &str, root: &Path) -> Option<PathBuf> {
    let fixed: PathBuf = Path::new(glob)
        .components()
        .take_while(|c| !c.as_os_str().to_str().is_some_and(|s| s.contains(['*', '?', '[', '{'])))
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let full = if fixed.is_absolute() { fixed } else { root.join(fixed) };
    // A glob without wildcards names a file: watch its folder.
    if glob.contains(['*', '?', '[', '{']) {
        Some(full)
    } else {
        full.parent().map(Path::to_path_buf)
    }
}

/// The index key of the log at `path`.
pub fn key(path: &Path) -> String {
    format!("{KEY_PREFIX}{}", path.display())
}

/// The log a key names, if it is a globbed log's key.
pub fn path_of(key: &str) -> Option<PathBuf> {
    key.strip_prefix(KEY_PREFIX).map(PathBuf::from)
}

/// Where the parsed summary of the log at `path` is cached, inside the store.
pub fn cache_path(store_root: &Path, path: &Path) -> PathBuf {
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    store_root.join("external").join(format!("{:016x}.json", h.finish()))
}

/// The record-like id of a globbed log: its path relative to the workspace root.
pub fn display_id(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_finds_and_keeps_out_of_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let store = root.join(".buildlens");
        for f in ["ci/a.log", "ci/sub/b.log", "ci/c.txt", ".buildlens/builds/r/build.log", "other/d.log"] {
            fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            fs::write(root.join(f), "x").unwrap();
        }
        let g = LogGlobs { root: root.clone(), globs: vec!["ci/**/*.log".into()] };
        assert_eq!(g.find(&store), vec![root.join("ci/a.log"), root.join("ci/sub/b.log")]);
        let all = LogGlobs { root: root.clone(), globs: vec!["**/*.log".into()] };
        assert_eq!(all.find(&store), vec![root.join("ci/a.log"), root.join("ci/sub/b.log"), root.join("other/d.log")]);
        assert!(!all.matches(&store.join("builds/r/build.log"), &store));
        assert_eq!(path_of(&key(&root.join("ci/a.log"))), Some(root.join("ci/a.log")));
        assert_eq!(path_of("20261101T100000.000Z-0001"), None);
        assert!(cache_path(&store, &root.join("ci/a.log")).starts_with(store.join("external")));
        assert_eq!(display_id(&root.join("ci/a.log"), &root), "ci/a.log");
    }
}

//! Store files as the workspace reads them for an open log: the Dockerfile it was built from (its record's,
//! else the one it names, inside the workspace), the line of a byte offset in a log.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::store::{self, RecordMeta, Store};

/// The record's Dockerfile, for a log opened from the store (the caller checks it stays in the
/// workspace: `features::inside_workspace`).
pub fn record_dockerfile(log_path: &Path, root: &Path) -> Option<PathBuf> {
    let record = log_path.parent()?;
    let meta: RecordMeta = store::safe_fs::read_json(&record.join(store::META_FILE), store::safe_fs::META_CAP)?;
    let df = meta.dockerfile?;
    // A relative path in meta.json is relative to the store's parent (`store::select::resolve`), never to
    // the server's own working folder (nor to the record's `cwd`, which is stored the same way).
    Some(match record.parent().and_then(Path::parent) {
        Some(store_dir) => store::select::resolve(&Store::at(store_dir), &df),
        None => root.join(df),
    })
}

/// The 0-based line of byte `offset` in the file at `path` (counts newlines before it; reads at most
/// up to the offset, in chunks).
pub fn line_at(path: &Path, offset: u64) -> Option<u32> {
    let file = store::safe_fs::open_regular(path).ok()?;
    let mut reader = file.take(offset);
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0usize;
    loop {
        let n = reader.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        lines += memchr::memchr_iter(b'\n', buf.get(..n)?).count();
    }
    u32::try_from(lines).ok()
}

/// The Dockerfile the log at `log_path` (text `log`) was built from: its record's, else the one the log
/// names, inside the workspace at `root` (or the one the store belongs to).
pub fn log_dockerfile(log_path: &Path, log: &str, root: &Path, store: &Store) -> Option<PathBuf> {
    let store_ws = store.root().parent().map(Path::to_path_buf);
    let inside = |p: PathBuf| inside_workspace(&p, root).or_else(|| inside_workspace(&p, store_ws.as_deref()?));
    let named = record_dockerfile(log_path, root).and_then(inside);
    named.or_else(|| named_dockerfile(log, root))
}

/// `load build definition from X` (BuildKit), resolved at the workspace root; else `Dockerfile` there.
/// Log text is untrusted: only a file inside the workspace is taken (`/etc/passwd` or `../../x` is not).
fn named_dockerfile(log: &str, root: &Path) -> Option<PathBuf> {
    static LOAD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)load build definition from (\S+)\r?$").unwrap());
    let named = LOAD.captures(log).and_then(|c| c.get(1)).and_then(|m| inside_workspace(&root.join(m.as_str()), root));
    named.or_else(|| inside_workspace(&root.join("Dockerfile"), root))
}

/// `path` resolved (symlinks, `..`), when it is a regular file inside the workspace at `root`.
pub fn inside_workspace(path: &Path, root: &Path) -> Option<PathBuf> {
    let real = fs::canonicalize(path).ok()?;
    let inside = real.starts_with(fs::canonicalize(root).ok()?);
    (inside && fs::metadata(&real).is_ok_and(|m| m.is_file())).then_some(real)
}

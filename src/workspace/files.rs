//! Store files as the workspace reads them for an open log: the Dockerfile a record names, the line of a
//! byte offset in a log.

use std::io::Read;
use std::path::{Path, PathBuf};

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

//! The store's read-only area of pulled records: `<store>/remote/<registry key>/<id>/` with the files of
//! a local record, never mixed with local ids. A remote id is `<start time>-r<record hash 12>.<key>`
//! (a local id ends in 4 hex digits, never `-r…`), so ids still sort by time and name their folder.
//!
//! A record is written whole or not at all: its files go into a fresh hidden temporary folder that is
//! renamed into place last (a pull killed halfway leaves a `.tmp-*` folder no listing reads, removed by
//! the next pull). `remote/catalog.jsonl` lists them as `catalog.jsonl` lists local ones (kept by
//! `Store::catalog`, which appends the records it lacks).

use std::fs;
use std::path::{Path, PathBuf};

use super::{Record, Store, META_FILE};

/// The area's folder name at the store's root.
pub const REMOTE_DIR: &str = "remote";
/// Length of the time part of an id (`20261208T004326.123Z`).
const TIME_LEN: usize = 20;

/// The id of a pulled record.
pub fn remote_id(started_ms: i64, record_hash: &str, key: &str) -> Option<String> {
    let time = chrono::DateTime::from_timestamp_millis(started_ms)?;
    let hash = record_hash.get(..12)?;
    let id = format!("{}-r{hash}.{key}", time.format("%Y%m%dT%H%M%S%.3fZ"));
    parse_id(&id).is_some().then_some(id)
}

/// The registry key of a remote id (`None` for a local id or anything else).
pub fn parse_id(id: &str) -> Option<&str> {
    let time = id.get(..TIME_LEN)?;
    let hash = id.get(TIME_LEN + 2..TIME_LEN + 14)?;
    let key = id.get(TIME_LEN + 15..)?;
    let well_formed = time.ends_with('Z')
        && id.get(TIME_LEN..TIME_LEN + 2) == Some("-r")
        && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id.get(TIME_LEN + 14..TIME_LEN + 15) == Some(".")
        && is_key(key);
    well_formed.then_some(key)
}

/// A registry key: letters, digits, `.`, `-`, `_`; not `.`-led; at most 80.
pub fn is_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 80 && !key.starts_with('.') && key.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The folder of a remote id's record.
pub fn record_dir(root: &Path, id: &str) -> Option<PathBuf> {
    parse_id(id).map(|key| root.join(REMOTE_DIR).join(key).join(id))
}

/// `CI · main · 3h ago` for a pulled record's build (`<id>` or `<id>#<n>`); `None` for a local one
/// (known by its id: no file is read).
pub fn origin_label(store: &Store, build_id: &str) -> Option<String> {
    let id = build_id.split('#').next().unwrap_or(build_id);
    parse_id(id)?;
    let meta = store.record_unchecked(id)?.meta().ok()?;
    Some(meta.origin?.label(&meta.started, chrono::Utc::now()))
}

/// Every pulled record (folders with a meta.json whose name is a remote id of their key).
pub fn records(store: &Store) -> Vec<Record> {
    let area = store.root().join(REMOTE_DIR);
    let Ok(keys) = fs::read_dir(&area) else { return Vec::new() };
    let mut out = Vec::new();
    for key in keys.flatten().filter(|k| k.file_type().is_ok_and(|t| t.is_dir())) {
        let Ok(ids) = fs::read_dir(key.path()) else { continue };
        let key_name = key.file_name();
        for entry in ids.flatten() {
            let Ok(id) = entry.file_name().into_string() else { continue };
            if parse_id(&id).is_some_and(|k| *k == *key_name) && entry.path().join(META_FILE).is_file() {
                out.push(Record { id, dir: entry.path() });
            }
        }
    }
    out
}

/// A pulled record being written: its files go into `dir()`, a fresh temporary folder that `commit`
/// renames into place; dropped uncommitted, the folder is removed.
pub struct Pending {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Pending {
    /// The temporary folder to write the record's files into.
    pub fn dir(&self) -> &Path {
        &self.temp
    }

    /// Moves the record into place and lists it; `Ok(false)`: another pull put it there first.
    pub fn commit(mut self) -> Result<bool, String> {
        if let Err(e) = fs::rename(&self.temp, &self.target) {
            return if self.target.join(META_FILE).is_file() { Ok(false) } else { Err(format!("moving the record into place: {e}")) };
        }
        self.committed = true;
        Ok(true)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

/// Starts writing the pulled record `id`; `Ok(None)` when it is already in the store.
pub fn begin(store: &Store, id: &str) -> Result<Option<Pending>, String> {
    let key = parse_id(id).ok_or_else(|| format!("`{id}` is not a remote record id"))?;
    let area = store.root().join(REMOTE_DIR).join(key);
    fs::create_dir_all(&area).map_err(|e| format!("creating {}: {e}", area.display()))?;
    super::ignore_in_git(store.root());
    let area = super::safe_fs::confined(store.root(), &area).map_err(|e| format!("{}: {e}", area.display()))?;
    let target = area.join(id);
    if target.join(META_FILE).is_file() {
        return Ok(None);
    }
    remove_stale_temporaries(&area);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let temp = area.join(format!(".tmp-{}-{nanos}", std::process::id()));
    fs::create_dir(&temp).map_err(|e| format!("creating {}: {e}", temp.display()))?;
    Ok(Some(Pending { temp, target, committed: false }))
}

/// Temporary folders of pulls that died, older than an hour.
fn remove_stale_temporaries(area: &Path) {
    let Ok(entries) = fs::read_dir(area) else { return };
    let hour = std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let old = entry.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok()).is_some_and(|age| age > hour);
        let is_temp = entry.file_name().to_str().is_some_and(|n| n.starts_with(".tmp-"));
        if is_temp && old && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;

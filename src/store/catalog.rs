//! The store's catalog (`<store>/catalog.jsonl`): one line per `meta.json` written (its id, the Dockerfile
//! and the compose services' Dockerfiles it names), appended, never rebuilt while it is readable, so a
//! reader lists a Dockerfile's records, newest first, without opening every `meta.json` (a year of CI is
//! 10,000 records).
//!
//! Appends are one `write` of a whole line under an exclusive `flock`, so two `record`s never interleave;
//! a line torn by a crash is skipped (and the next append starts on a line of its own). The last line of
//! an id wins (a record's meta is written when it starts and again when it ends). A missing catalog, or
//! one whose first line is not the header, is rebuilt from the `meta.json` files (atomically); a record
//! folder the catalog lacks (its append lost to a concurrent rebuild, a store written by an older
//! version) is read from its `meta.json` and appended, so the catalog heals on the next read.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{safe_fs, Record, RecordMeta, Store};

/// The catalog's file name at the store's root.
pub const CATALOG_FILE: &str = "catalog.jsonl";
/// The first line: what the file is and its layout version.
const HEADER: &str = "{\"buildlens_catalog\":1}";
/// Largest catalog read (about 200 bytes a line: a million metas).
const CATALOG_CAP: u64 = 256 << 20;

/// What the catalog keeps of one record's `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    /// The Dockerfile the record names (as in `meta.json`: workspace-relative where inside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<PathBuf>,
    /// The Dockerfiles of a compose build's services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<PathBuf>,
}

impl Entry {
    pub fn of(meta: &RecordMeta) -> Entry {
        Entry {
            id: meta.id.clone(),
            dockerfile: meta.dockerfile.clone(),
            services: meta.services.iter().map(|s| s.dockerfile.clone()).collect(),
        }
    }

    /// A record whose meta.json could not be read: it may hold builds of any Dockerfile.
    fn unknown(id: String) -> Entry {
        Entry { id, dockerfile: None, services: Vec::new() }
    }

    /// Whether the record may hold builds of `target` (canonical): it names that Dockerfile (itself or a
    /// service's), or names none (its builds' text decides). `canonical` resolves a meta path.
    fn may_build(&self, target: &Path, canonical: &mut impl FnMut(&Path) -> PathBuf) -> bool {
        if !self.services.is_empty() {
            return self.services.iter().any(|s| canonical(s) == target);
        }
        self.dockerfile.as_deref().is_none_or(|d| canonical(d) == target)
    }
}

/// The records of a store as the catalog lists them, oldest first (ids sort by time).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<Entry>,
}

impl Catalog {
    /// The records that may hold builds of the Dockerfile at `dockerfile`, newest first, at most `limit`,
    /// and how many older ones there are.
    pub fn newest_for(&self, store: &Store, dockerfile: &Path, limit: usize) -> (Vec<Record>, usize) {
        let target = canonical(dockerfile);
        let mut resolved: HashMap<PathBuf, PathBuf> = HashMap::new();
        let mut canonical_of =
            |p: &Path| resolved.entry(p.to_path_buf()).or_insert_with(|| canonical(&super::select::resolve(store, p))).clone();
        let mut newest = Vec::new();
        let mut older = 0;
        for entry in self.entries.iter().rev().filter(|e| e.may_build(&target, &mut canonical_of)) {
            if newest.len() < limit {
                newest.extend(store.record_unchecked(&entry.id));
            } else {
                older += 1;
            }
        }
        (newest, older)
    }
}

impl Store {
    /// The catalog, healed: rebuilt from the `meta.json` files when missing or unreadable, completed with
    /// the record folders it lacks. A store that does not exist has an empty one (nothing is created).
    /// Pulled records (`remote/`, their own catalog) are listed among the local ones, by id (time).
    pub fn catalog(&self) -> Catalog {
        let mut catalog = self.local_catalog();
        let remote = self.remote_entries();
        if !remote.is_empty() {
            catalog.entries.extend(remote);
            catalog.entries.sort_by(|a, b| a.id.cmp(&b.id));
        }
        catalog
    }

    /// The pulled records' entries (`remote/catalog.jsonl`, its last line per id), oldest first; a pulled
    /// record it lacks is read from its meta.json and appended (a missing file is made).
    fn remote_entries(&self) -> Vec<Entry> {
        let present = super::remote::records(self);
        if present.is_empty() {
            return Vec::new();
        }
        let area = self.root.join(super::remote::REMOTE_DIR);
        let ids: HashSet<&str> = present.iter().map(|r| r.id.as_str()).collect();
        let mut last: HashMap<String, Entry> = HashMap::new();
        for entry in read_entries(&area).unwrap_or_default().into_iter().filter(|e| ids.contains(e.id.as_str())) {
            last.insert(entry.id.clone(), entry);
        }
        let missing: Vec<&Record> = present.iter().filter(|r| !last.contains_key(&r.id)).collect();
        for record in missing {
            if let Ok(meta) = record.meta() {
                let entry = Entry { id: record.id.clone(), ..Entry::of(&meta) };
                let _ = append(&area, &entry);
                last.insert(record.id.clone(), entry);
            }
        }
        let mut entries: Vec<Entry> = last.into_values().collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        entries
    }

    fn local_catalog(&self) -> Catalog {
        let Ok(names) = fs::read_dir(self.root.join("builds")) else { return Catalog::default() };
        let folders: Vec<String> =
            names.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| !n.starts_with('.')).collect();
        let path = self.root.join(CATALOG_FILE);
        let (mut entries, readable) = match safe_fs::read_capped(&path, CATALOG_CAP) {
            Ok(bytes) => parse(&bytes).map_or((Vec::new(), false), |e| (e, true)),
            Err(_) => (Vec::new(), false),
        };
        let known: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let (mut missing, mut unread) = (Vec::new(), Vec::new());
        for record in folders.iter().filter(|id| !known.contains(id.as_str())).filter_map(|id| self.record_unchecked(id)) {
            match record.meta() {
                // The folder names the record: a meta.json copied or a folder renamed keeps its old `id`.
                Ok(meta) => missing.push(Entry { id: record.id.clone(), ..Entry::of(&meta) }),
                // A meta.json there but not readable (refused, not JSON): listed, not kept, so that the
                // reader says why it skips the record; a folder without one is no record yet.
                Err(_) if fs::symlink_metadata(record.meta_path()).is_ok() => unread.push(Entry::unknown(record.id)),
                Err(_) => {}
            }
        }
        if readable {
            for entry in &missing {
                let _ = append(&self.root, entry);
            }
        }
        entries.extend(missing);
        let mut catalog = settle(entries, &folders);
        if !readable {
            let _ = rewrite(&self.root, &catalog);
        }
        if !unread.is_empty() {
            catalog.entries.extend(unread);
            catalog.entries.sort_by(|a, b| a.id.cmp(&b.id));
        }
        catalog
    }
}

/// Appends `entry` to the catalog of the store at `root` (creating it with its header): one write under
/// an exclusive lock, after a line break when the last line was torn.
pub fn append(root: &Path, entry: &Entry) -> io::Result<()> {
    let root = safe_fs::confined(root, root)?;
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(root.join(CATALOG_FILE))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the catalog is not a regular file"));
    }
    let _lock = Lock::exclusive(&file)?;
    let mut line = Vec::with_capacity(160);
    let len = file.metadata()?.len();
    if len == 0 {
        line.extend_from_slice(HEADER.as_bytes());
        line.push(b'\n');
    } else if !ends_with_newline(&file, len)? {
        line.push(b'\n');
    }
    serde_json::to_writer(&mut line, entry)?;
    line.push(b'\n');
    (&file).write_all(&line)
}

/// The entries of the catalog at `root` (lines that are no entry skipped, ids not settled); `None` when it
/// is missing or lacks the header.
pub(crate) fn read_entries(root: &Path) -> Option<Vec<Entry>> {
    parse(&safe_fs::read_capped(&root.join(CATALOG_FILE), CATALOG_CAP).ok()?)
}

/// The entries of a catalog's text (lines that are no entry skipped); `None` when it lacks the header.
fn parse(bytes: &[u8]) -> Option<Vec<Entry>> {
    let mut lines = bytes.split(|&b| b == b'\n');
    if lines.next() != Some(HEADER.as_bytes()) {
        return None;
    }
    Some(lines.filter(|l| !l.is_empty()).filter_map(|l| serde_json::from_slice::<Entry>(l).ok()).collect())
}

/// One entry per id (its last line), of the folders that exist, oldest first. In place: a year of CI is
/// 10,000 lines, and a map of them beside the list was most of the server's start-up memory peak.
fn settle(mut entries: Vec<Entry>, folders: &[String]) -> Catalog {
    let present: HashSet<&str> = folders.iter().map(String::as_str).collect();
    entries.retain(|e| present.contains(e.id.as_str()));
    // Later lines first, then a stable sort by id: the first of each id is its last line.
    entries.reverse();
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    entries.dedup_by(|later, first| later.id == first.id);
    entries.shrink_to_fit();
    Catalog { entries }
}

/// Replaces the catalog with `catalog` (atomically).
fn rewrite(root: &Path, catalog: &Catalog) -> io::Result<()> {
    let mut text = Vec::with_capacity(catalog.entries.len() * 120 + HEADER.len() + 1);
    text.extend_from_slice(HEADER.as_bytes());
    text.push(b'\n');
    for entry in &catalog.entries {
        serde_json::to_writer(&mut text, entry)?;
        text.push(b'\n');
    }
    safe_fs::write_atomic(root, &root.join(CATALOG_FILE), &text)
}

fn ends_with_newline(mut file: &File, len: u64) -> io::Result<bool> {
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len.saturating_sub(1)))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// An exclusive `flock` on a file, released when dropped.
struct Lock<'a>(&'a File);

impl<'a> Lock<'a> {
    fn exclusive(file: &'a File) -> io::Result<Lock<'a>> {
        // SAFETY: flock only takes an advisory lock on a descriptor this borrow keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Lock(file))
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking a descriptor still open.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;

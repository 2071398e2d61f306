//! The analysis seam: what a Dockerfile's recorded builds say, loaded from the store. The default
//! `StoreSource` reads every record (meta + cached summary), keeps those built from the document's
//! Dockerfile and calls `analysis::annotate`; it caches the loaded records until the store changes.
//! A deleted store, a corrupt record or an unreadable log just gives fewer builds.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::analysis::{self, Annotated, RecordedBuild};
use crate::store::{self, RecordMeta, Store};

/// Produces the analysis of a document. The server holds one; `StoreSource` is the real one.
pub trait Source: Send + Sync {
    /// Changes whenever the store's records change (cheap: no parsing).
    fn generation(&self, store: &Store) -> u64;
    /// The annotation of `text`, the buffer of the Dockerfile at `path`.
    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str) -> Annotated;
}

/// One readable record: its metadata and the builds its log holds.
struct Loaded {
    meta: RecordMeta,
    builds: Vec<RecordedBuild>,
}

/// The records of one store at one generation.
type Cached = (PathBuf, u64, Arc<Vec<Loaded>>);

/// Records loaded once per store generation.
#[derive(Default)]
pub struct StoreSource {
    cache: Mutex<Option<Cached>>,
}

impl Source for StoreSource {
    fn generation(&self, store: &Store) -> u64 {
        let mut h = DefaultHasher::new();
        store.root().hash(&mut h);
        for record in store.records() {
            record.id.hash(&mut h);
            for path in [record.log_path(), record.meta_path()] {
                let m = fs::metadata(&path).ok();
                m.as_ref().map(|m| m.len()).hash(&mut h);
                m.and_then(|m| m.modified().ok()).hash(&mut h);
            }
        }
        h.finish()
    }

    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str) -> Annotated {
        let loaded = self.load(store);
        let builds: Vec<RecordedBuild> =
            loaded.iter().flat_map(|l| l.builds.iter().filter(|b| applies_to(&l.meta, b, path, root)).cloned()).collect();
        analysis::annotate(text, &builds)
    }
}

impl StoreSource {
    fn load(&self, store: &Store) -> Arc<Vec<Loaded>> {
        let generation = self.generation(store);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((root, g, loaded)) = cache.as_ref() {
            if root == store.root() && *g == generation {
                return loaded.clone();
            }
        }
        let loaded = Arc::new(store.records().iter().filter_map(load_record).collect::<Vec<_>>());
        *cache = Some((store.root().to_path_buf(), generation, loaded.clone()));
        loaded
    }
}

fn load_record(record: &store::Record) -> Option<Loaded> {
    let meta = record.meta().map_err(|e| eprintln!("buildlens: skipping record {}: {e:#}", record.id)).ok()?;
    let live = meta.is_live();
    let (summary, _) =
        store::index::summary(record, !live).map_err(|e| eprintln!("buildlens: skipping record {}: {e:#}", record.id)).ok()?;
    let several = summary.parsed.builds.len() > 1;
    let builds = summary
        .parsed
        .builds
        .into_iter()
        .enumerate()
        .map(|(n, build)| RecordedBuild {
            id: if several { format!("{}#{}", record.id, n + 1) } else { record.id.clone() },
            started: build.started.clone().or_else(|| Some(meta.started.clone())),
            build,
            log_path: record.log_path(),
            live,
        })
        .collect();
    Some(Loaded { meta, builds })
}

/// Whether a recorded build used the Dockerfile at `path`: the record's Dockerfile when it names one
/// (relative to the build's working folder), else the file name the builder loaded, else `Dockerfile`.
pub fn applies_to(meta: &RecordMeta, build: &RecordedBuild, path: &Path, root: &Path) -> bool {
    if let Some(df) = &meta.dockerfile {
        let base = meta.cwd.as_deref().unwrap_or(root);
        return same_file(&base.join(df), path);
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match &build.build.dockerfile {
        Some(loaded) => Path::new(loaded).file_name().and_then(|n| n.to_str()) == Some(name),
        None => name == "Dockerfile",
    }
}

/// The record's Dockerfile, for a log opened from the store.
pub fn record_dockerfile(log_path: &Path, root: &Path) -> Option<PathBuf> {
    let meta: RecordMeta = serde_json::from_slice(&fs::read(log_path.parent()?.join(store::META_FILE)).ok()?).ok()?;
    let df = meta.dockerfile?;
    Some(meta.cwd.as_deref().unwrap_or(root).join(df))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The 0-based line of byte `offset` in the file at `path` (counts newlines before it; reads at most
/// up to the offset, in chunks).
pub fn line_at(path: &Path, offset: u64) -> Option<u32> {
    let file = fs::File::open(path).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_at_counts_newlines_before_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("build.log");
        fs::write(&p, "a\nb\nc\n").unwrap();
        assert_eq!(line_at(&p, 0), Some(0));
        assert_eq!(line_at(&p, 2), Some(1));
        assert_eq!(line_at(&p, 99), Some(3));
        assert_eq!(line_at(&dir.path().join("gone"), 1), None);
    }

    #[test]
    fn a_missing_store_has_no_builds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("nope"));
        let src = StoreSource::default();
        let a = src.annotate(&store, dir.path(), &dir.path().join("Dockerfile"), "FROM a\n");
        assert!(a.instructions.iter().all(|i| i.last.is_none()));
        assert_eq!(src.generation(&store), src.generation(&store));
    }
}

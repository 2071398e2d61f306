//! The index of the records a `StoreSource` keeps: one small entry per readable record (metadata, which
//! Dockerfile it built, the log's size, its parsed builds while held), which paths touch which record,
//! and which records built a given Dockerfile.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::log_globs::{self, LogGlobs};
use super::select::Named;
use super::services;
use crate::analysis::RecordedBuild;
use crate::store::catalog::{self, Catalog};
use crate::store::{self, RecordMeta, Store};

/// What the index keeps of one readable record.
#[derive(Clone)]
pub(super) struct Entry {
    /// Sorts by time: the record id, or a globbed log's modification time in the same form.
    pub(super) order: String,
    /// What the entry was read from, to tell a real change from a repeated event; `None` for an older
    /// record listed from the store's catalog alone (`listed_entry`), read when an analysis picks it.
    pub(super) meta: Option<Box<RecordMeta>>,
    /// The record's Dockerfile (canonical where it exists), when the record names one (shared: a store's
    /// records name a few Dockerfiles, thousands of times).
    pub(super) dockerfile: Option<Arc<Path>>,
    /// Per build in the log: the Dockerfile names the builder loaded (one per service of a compose build).
    pub(super) loaded: Vec<Option<String>>,
    pub(super) log_len: u64,
    /// The parsed builds, while held (see `Index::hold`).
    pub(super) builds: Option<Arc<Vec<RecordedBuild>>>,
}

#[derive(Default)]
pub(super) struct Index {
    pub(super) root: Option<PathBuf>,
    pub(super) all_stale: bool,
    pub(super) stale: BTreeSet<String>,
    pub(super) entries: BTreeMap<String, Entry>,
    pub(super) generation: u64,
    /// Ids whose builds are in memory, least recently used first.
    pub(super) held: VecDeque<String>,
    /// Logs outside the store that count as records (`log_globs`).
    pub(super) globs: LogGlobs,
}

impl Index {
    /// Keeps `id`'s builds in memory; forgets those of the least recently used beyond `cap`.
    pub(super) fn hold(&mut self, id: &str, cap: usize) {
        self.held.retain(|h| h != id);
        self.held.push_back(id.to_string());
        while self.held.len() > cap {
            let Some(old) = self.held.pop_front() else { break };
            if let Some(e) = self.entries.get_mut(&old) {
                e.builds = None;
            }
        }
    }

    /// The ids to re-index now (and resets the stale marks), with the store's catalog when every record
    /// is (start-up, the store moved): it lists the older records without opening their files.
    pub(super) fn take_stale(&mut self, store: &Store) -> (Vec<String>, Option<Catalog>) {
        if self.root.as_deref() != Some(store.root()) {
            let generation = self.generation.wrapping_add(1);
            let globs = std::mem::take(&mut self.globs);
            *self = Index { root: Some(store.root().to_path_buf()), all_stale: true, generation, globs, ..Index::default() };
        }
        let mut ids = std::mem::take(&mut self.stale);
        let mut listed = None;
        if std::mem::take(&mut self.all_stale) {
            let catalog = store.catalog();
            ids.extend(catalog.entries.iter().map(|e| e.id.clone()));
            ids.extend(self.globs.find(store.root()).iter().map(|p| log_globs::key(p)));
            ids.extend(self.entries.keys().cloned());
            listed = Some(catalog);
        }
        // Records first (by time), then the globbed logs (`log:` sorts after digits).
        (ids.into_iter().collect(), listed)
    }
}

/// A record chosen for `target`: what its metadata says about it (`select::Named`; `None`: nothing of it
/// counts), and its builds when held.
pub(super) fn picked(store: &Store, id: &str, e: &Entry, target: &Path) -> Picked {
    let named = match &e.meta {
        Some(meta) => Named::of(store, meta, target),
        // Listed from the catalog alone: its meta is read now (its builds are about to be).
        None => match store.record(id).and_then(|r| r.meta().ok()) {
            Some(meta) => Named::of(store, &meta, target),
            None => e.dockerfile.as_ref().map(|_| Named::Whole),
        },
    };
    Picked { id: id.to_string(), named, builds: e.builds.clone() }
}

/// A record chosen for an annotation.
pub(super) struct Picked {
    pub(super) id: String,
    pub(super) named: Option<Named>,
    pub(super) builds: Option<Arc<Vec<RecordedBuild>>>,
}

/// What a changed path means for the index.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Touched {
    Record(String),
    All,
}

/// `<store>/builds/<id>`, its `build.log` or `meta.json` name a record; the store or its `builds` folder
/// (created, deleted) name all of them; anything else (`summary.json`, which indexing itself writes,
/// temporary files) nothing.
pub(super) fn touched(store_root: &Path, path: &Path) -> Option<Touched> {
    let builds = store_root.join("builds");
    if builds.starts_with(path) {
        return Some(Touched::All);
    }
    let rest: Vec<Component> = path.strip_prefix(&builds).ok()?.components().collect();
    let id = |c: &Component| c.as_os_str().to_str().filter(|s| !s.starts_with('.')).map(String::from);
    match rest.as_slice() {
        [dir] => id(dir).map(Touched::Record),
        [dir, file] if file.as_os_str() == store::LOG_FILE || file.as_os_str() == store::META_FILE => id(dir).map(Touched::Record),
        _ => None,
    }
}

/// The index entry of a record that names its Dockerfile, from its `meta.json` and its log's size only
/// (no summary read, nothing parsed); `None` when the record does not name one (selection then needs the
/// names its builds loaded) or cannot be read.
pub(super) fn light_entry(store: &Store, record: &store::Record) -> Option<Entry> {
    let meta = record.meta().ok()?;
    let dockerfile = record_dockerfile_path(store, &meta)?;
    let log_len = fs::metadata(record.log_path()).ok()?.len();
    let meta = Some(Box::new(meta));
    Some(Entry { order: record.id.clone(), meta, dockerfile: Some(dockerfile), loaded: Vec::new(), log_len, builds: None })
}

/// The index entry of an older record from its catalog line alone: no file of the record is opened (a
/// year of CI is 10,000 of them). Only a record that names its Dockerfile and no compose services (the
/// others need their `meta.json` or their builds to be selected); its meta is read when it is picked.
pub(super) fn listed_entry(listed: &catalog::Entry, dockerfiles: &mut Dockerfiles<'_>) -> Option<Entry> {
    if !listed.services.is_empty() {
        return None;
    }
    let dockerfile = dockerfiles.resolve(listed.dockerfile.as_deref()?);
    Some(Entry { order: listed.id.clone(), meta: None, dockerfile: Some(dockerfile), loaded: Vec::new(), log_len: 0, builds: None })
}

/// Records' Dockerfile paths resolved once per distinct path written in their metas.
pub(super) struct Dockerfiles<'a> {
    store: &'a Store,
    seen: HashMap<PathBuf, Arc<Path>>,
}

impl<'a> Dockerfiles<'a> {
    pub(super) fn new(store: &'a Store) -> Dockerfiles<'a> {
        Dockerfiles { store, seen: HashMap::new() }
    }

    fn resolve(&mut self, written: &Path) -> Arc<Path> {
        if let Some(hit) = self.seen.get(written) {
            return hit.clone();
        }
        let resolved: Arc<Path> = dockerfile_path(self.store, written).into();
        self.seen.insert(written.to_path_buf(), resolved.clone());
        resolved
    }
}

/// The record's Dockerfile, canonical where it exists. A relative path is relative to the store's parent
/// (`store::select::resolve`), not to `cwd`: a store outside the workspace (`storePath`) or a build run in a
/// subfolder still names its Dockerfile.
pub(super) fn record_dockerfile_path(store: &Store, meta: &RecordMeta) -> Option<Arc<Path>> {
    Some(dockerfile_path(store, meta.dockerfile.as_ref()?).into())
}

fn dockerfile_path(store: &Store, written: &Path) -> PathBuf {
    let full = store::select::resolve(store, written);
    if full.is_absolute() {
        fs::canonicalize(&full).unwrap_or(full)
    } else {
        full
    }
}

/// The builds of one log as records: `id`, or `id#n` when the log holds several; a build that does not say
/// when it started gets `started` (the record's, or the log's modification time); `built`: the Dockerfile
/// as built (`inputs.json`); `record_live`: the recorder is still writing it (`select::still_running`
/// says which of its builds are live).
pub(super) fn recorded(
    builds: Vec<crate::log::Build>,
    id: &str,
    started: &str,
    log_path: &Path,
    record_live: bool,
    built: Option<&str>,
) -> Vec<RecordedBuild> {
    let built: Option<Arc<str>> = built.map(Into::into);
    let several = builds.len() > 1;
    builds
        .into_iter()
        .enumerate()
        .map(|(n, build)| RecordedBuild {
            id: if several { format!("{id}#{}", n + 1) } else { id.to_string() },
            started: build.started.clone().or_else(|| Some(started.to_string())),
            live: super::select::still_running(record_live, &build),
            build,
            log_path: log_path.to_path_buf(),
            built_dockerfile: built.clone(),
        })
        .collect()
}

/// Indexes one record (reading only the new bytes of a log that grew) and keeps what selection needs.
pub(super) fn load_entry(store: &Store, record: &store::Record) -> Option<Entry> {
    let meta =
        record.meta().map_err(|e| crate::present::eprint_line(format_args!("buildlens: skipping record {}: {e:#}", record.id))).ok()?;
    let live = meta.is_live();
    let (summary, _) = store::index::summary(record, !live)
        .map_err(|e| crate::present::eprint_line(format_args!("buildlens: skipping record {}: {e:#}", record.id)))
        .ok()?;
    let built = record.built_dockerfile();
    let builds = recorded(summary.parsed.builds, &record.id, &meta.started, &record.log_path(), live, built.as_deref());
    let dockerfile = record_dockerfile_path(store, &meta);
    let loaded = builds.iter().flat_map(|b| services::loaded_names(&b.build)).collect();
    let (meta, builds) = (Some(Box::new(meta)), Some(Arc::new(builds)));
    Some(Entry { order: record.id.clone(), meta, dockerfile, loaded, log_len: summary.log_len, builds })
}

/// Indexes a log matched by `logGlobs` (read only; its summary is cached inside the store). It counts
/// as a finished record named by its workspace-relative path, started at its modification time unless
/// the log says; which Dockerfile it built comes from the name the builder loaded.
pub(super) fn external_entry(store: &Store, root: &Path, path: &Path) -> Option<Entry> {
    let modified: chrono::DateTime<chrono::Utc> = fs::metadata(path).ok()?.modified().ok()?.into();
    let cache = log_globs::cache_path(store.root(), path);
    // Only inside an existing store (which keeps itself out of git); without one, nothing is cached and
    // the log is parsed again when needed.
    if let Some(dir) = cache.parent().filter(|_| store.root().is_dir()) {
        let _ = fs::create_dir_all(dir);
    }
    let (summary, _) = store::index::summary_at(store.root(), path, &cache, true)
        .map_err(|e| crate::present::eprint_line(format_args!("buildlens: skipping {}: {e:#}", path.display())))
        .ok()?;
    let id = log_globs::display_id(path, root);
    let started = modified.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let builds = recorded(summary.parsed.builds, &id, &started, path, false, None);
    let loaded = builds.iter().flat_map(|b| services::loaded_names(&b.build)).collect();
    let meta = Some(Box::new(RecordMeta::new(id, store::Source::Import, started)));
    let order = modified.format("%Y%m%dT%H%M%S%.3fZ").to_string();
    Some(Entry { order, meta, dockerfile: None, loaded, log_len: summary.log_len, builds: Some(Arc::new(builds)) })
}

/// Whether a record built the Dockerfile at `target` (canonical): the record's Dockerfile when it names
/// one (relative to the build's working folder, else the workspace root), else the file name a build
/// loaded, else `Dockerfile`.
pub(super) fn entry_applies(e: &Entry, root: &Path, target: &Path) -> bool {
    if let Some(services) = e.meta.as_ref().map(|m| &m.services).filter(|s| !s.is_empty()) {
        return services.iter().any(|s| same_file(&root.join(&s.dockerfile), target));
    }
    match &e.dockerfile {
        Some(df) if df.is_absolute() => **df == *target,
        Some(df) => same_file(&root.join(df), target),
        None => e.loaded.iter().any(|name| name_applies(name.as_deref(), target)),
    }
}

/// Whether a build that loaded `loaded` (the file name BuildKit printed) may be of `target`. The classic
/// builder and podman print none: any Dockerfile may be theirs, and the text match decides (as `report`
/// does), so a `Containerfile` gets its podman builds in the editor too.
pub(super) fn name_applies(loaded: Option<&str>, target: &Path) -> bool {
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match loaded {
        Some(loaded) => Path::new(loaded).file_name().and_then(|n| n.to_str()) == Some(name),
        None => true,
    }
}

pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

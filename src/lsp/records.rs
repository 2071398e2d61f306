//! The analysis seam: what a Dockerfile's recorded builds say, from the store. The default `StoreSource`
//! keeps a small index of every record (metadata, which Dockerfile each build used, log size) and the
//! parsed builds of only the most recently used records, so memory does not grow with the store.
//!
//! The index changes only when told: watch events mark records stale (`invalidate`), and `refresh`
//! re-indexes just those (a growing log is read from where the last indexing stopped: `store::index`).
//! No request stats the store's files. A deleted store, a corrupt record or an unreadable log just gives
//! fewer builds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::engine_sizes::EngineSizes;
use crate::analysis::explain::{self, Explained, Side};
use crate::analysis::inputs::BuildFacts;
use crate::analysis::{self, Annotated, RecordedBuild};
use crate::store::{self, RecordMeta, Store};

/// Produces the analysis of a document. The server holds one; `StoreSource` is the real one.
pub trait Source: Send + Sync {
    /// Re-indexes the records marked stale since the last call (every record the first time, or when the
    /// store moved) and returns the store generation, which changes whenever the records did. Cheap when
    /// nothing is stale. `progress` hears about indexing runs of at least the source's threshold.
    fn refresh(&self, store: &Store, progress: &dyn Fn(Indexing)) -> u64;
    /// Marks the records these changed paths belong to stale (paths from watch events). True when any
    /// path concerns a record (a log, a `meta.json`, a record folder, the store itself).
    fn invalidate(&self, store: &Store, paths: &[PathBuf]) -> bool;
    /// Marks every record stale (a watch was just set up, and events may have been missed before).
    fn invalidate_all(&self);
    /// The annotation of `text`, the buffer of the Dockerfile at `path`, from the `depth` most recent
    /// records that built it (at least `MIN_RECORDS`).
    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize) -> Annotated;
    /// The live engine queries behind the annotations, when the source makes any (`engine_sizes`).
    fn engine_sizes(&self) -> Option<Arc<EngineSizes>> {
        None
    }
    /// The newest recorded build of the Dockerfile at `path`: what an edit of its buffer is compared with
    /// (`analysis::predict`). A source that cannot tell says `None`, and nothing is predicted.
    fn last_build(&self, store: &Store, root: &Path, path: &Path) -> Option<RecordedBuild> {
        let _ = (store, root, path);
        None
    }
    /// Why the latest build of the Dockerfile at `path` executed its steps, and the advice of the recent
    /// builds (`expensive_ms`: the advice threshold; `depth` as for `annotate`, so both read the same
    /// records). `None` by default (a source without records).
    fn explain(&self, _store: &Store, _root: &Path, _path: &Path, _text: &str, _depth: usize, _expensive_ms: u64) -> Option<Explained> {
        None
    }
}

/// Progress of one indexing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexing {
    Begin { records: usize, bytes: u64 },
    Report { done: usize, records: usize },
    End,
}

/// Records annotated per Dockerfile, whatever the hover's history depth (a lens needs the last run of
/// every instruction, and a recent build may have run only one stage).
pub const MIN_RECORDS: usize = 20;
/// Records whose parsed builds stay in memory beyond those of the last annotation.
const HELD_SPARE: usize = 8;
/// Indexing runs with at least this many new log bytes report progress.
pub const PROGRESS_BYTES: u64 = 8 << 20;

/// What the index keeps of one readable record.
struct Entry {
    /// What the entry was read from, to tell a real change from a repeated event.
    meta: RecordMeta,
    /// The record's Dockerfile (canonical where it exists), when the record names one.
    dockerfile: Option<PathBuf>,
    /// Per build in the log: the Dockerfile name the builder loaded.
    loaded: Vec<Option<String>>,
    log_len: u64,
    /// The parsed builds, while held (see `Index::hold`).
    builds: Option<Arc<Vec<RecordedBuild>>>,
}

#[derive(Default)]
struct Index {
    root: Option<PathBuf>,
    all_stale: bool,
    stale: BTreeSet<String>,
    entries: BTreeMap<String, Entry>,
    generation: u64,
    /// Ids whose builds are in memory, least recently used first.
    held: VecDeque<String>,
}

impl Index {
    /// Keeps `id`'s builds in memory; forgets those of the least recently used beyond `cap`.
    fn hold(&mut self, id: &str, cap: usize) {
        self.held.retain(|h| h != id);
        self.held.push_back(id.to_string());
        while self.held.len() > cap {
            let Some(old) = self.held.pop_front() else { break };
            if let Some(e) = self.entries.get_mut(&old) {
                e.builds = None;
            }
        }
    }

    /// The ids to re-index now (and resets the stale marks).
    fn take_stale(&mut self, store: &Store) -> Vec<String> {
        if self.root.as_deref() != Some(store.root()) {
            let generation = self.generation.wrapping_add(1);
            *self = Index { root: Some(store.root().to_path_buf()), all_stale: true, generation, ..Index::default() };
        }
        let mut ids = std::mem::take(&mut self.stale);
        if std::mem::take(&mut self.all_stale) {
            ids.extend(store.records().into_iter().map(|r| r.id));
            ids.extend(self.entries.keys().cloned());
        }
        ids.into_iter().collect()
    }
}

/// The store's records, indexed once and kept current by `invalidate` + `refresh`.
pub struct StoreSource {
    index: Mutex<Index>,
    /// Held for a whole indexing run: a request that arrives meanwhile waits for it, then sees its result.
    indexing: Mutex<()>,
    progress_bytes: u64,
    /// Layer sizes of records without a snapshot; its epoch is part of the generation.
    engine: Arc<EngineSizes>,
}

impl Default for StoreSource {
    fn default() -> StoreSource {
        StoreSource::with_progress_threshold(PROGRESS_BYTES)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StoreSource {
    /// A source that reports progress for indexing runs of at least `bytes` new log bytes.
    pub fn with_progress_threshold(bytes: u64) -> StoreSource {
        StoreSource { index: Mutex::default(), indexing: Mutex::default(), progress_bytes: bytes, engine: Arc::new(EngineSizes::new()) }
    }

    /// Loads `ids`, reporting progress when there is much to read.
    fn load_all(&self, store: &Store, ids: &[String], progress: &dyn Fn(Indexing)) -> Vec<(String, Option<Entry>)> {
        let known: Vec<u64> = {
            let index = lock(&self.index);
            ids.iter().map(|id| index.entries.get(id).map_or(0, |e| e.log_len)).collect()
        };
        let records: Vec<Option<store::Record>> = ids.iter().map(|id| store.record(id)).collect();
        let size = |r: &Option<store::Record>| r.as_ref().and_then(|r| fs::metadata(r.log_path()).ok()).map_or(0, |m| m.len());
        let bytes: u64 = records.iter().zip(&known).map(|(r, k)| size(r).saturating_sub(*k)).sum();
        let report = bytes > 0 && bytes >= self.progress_bytes;
        let n = ids.len();
        if report {
            progress(Indexing::Begin { records: n, bytes });
        }
        let mut out = Vec::with_capacity(n);
        // Ids sort by time: only the newest keep their parsed builds, so a full re-index of a large store
        // never holds every build at once.
        let keep_from = n.saturating_sub(MIN_RECORDS + HELD_SPARE);
        for (i, (id, record)) in ids.iter().zip(&records).enumerate() {
            let mut entry = record.as_ref().and_then(|r| load_entry(store, r));
            if i < keep_from {
                if let Some(e) = entry.as_mut() {
                    e.builds = None;
                }
            }
            out.push((id.clone(), entry));
            if report {
                progress(Indexing::Report { done: i + 1, records: n });
            }
        }
        if report {
            progress(Indexing::End);
        }
        out
    }
}

impl Source for StoreSource {
    fn refresh(&self, store: &Store, progress: &dyn Fn(Indexing)) -> u64 {
        let _running = lock(&self.indexing);
        let ids = lock(&self.index).take_stale(store);
        if ids.is_empty() {
            return lock(&self.index).generation.wrapping_add(self.engine.epoch());
        }
        let loaded = self.load_all(store, &ids, progress);
        let mut index = lock(&self.index);
        let mut changed = false;
        for (id, entry) in loaded {
            match entry {
                Some(entry) => {
                    let same = index.entries.get(&id).is_some_and(|old| old.meta == entry.meta && old.log_len == entry.log_len);
                    changed |= !same;
                    let held = entry.builds.is_some();
                    index.entries.insert(id.clone(), entry);
                    if held {
                        index.hold(&id, MIN_RECORDS + HELD_SPARE);
                    }
                }
                None => {
                    changed |= index.entries.remove(&id).is_some();
                    index.held.retain(|h| *h != id);
                }
            }
        }
        // A repeated event (or a watch set up again) that changed nothing keeps every cached analysis.
        if changed {
            index.generation = index.generation.wrapping_add(1);
        }
        // Both only grow, so the sum moves when records changed or engine answers brought sizes.
        index.generation.wrapping_add(self.engine.epoch())
    }

    fn invalidate(&self, store: &Store, paths: &[PathBuf]) -> bool {
        let mut index = lock(&self.index);
        let mut relevant = false;
        for path in paths {
            match touched(store.root(), path) {
                Some(Touched::Record(id)) => {
                    index.stale.insert(id);
                }
                Some(Touched::All) => index.all_stale = true,
                None => continue,
            }
            relevant = true;
        }
        relevant
    }

    fn invalidate_all(&self) {
        lock(&self.index).all_stale = true;
    }

    fn engine_sizes(&self) -> Option<Arc<EngineSizes>> {
        Some(self.engine.clone())
    }

    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize) -> Annotated {
        let builds = self.builds_of(store, root, path, depth.max(MIN_RECORDS));
        let mut annotated = analysis::annotate(text, &builds);
        // Layer sizes from the records' image-history snapshots (a store read), else from the engine answers
        // already cached (the others are asked for in the background, never here).
        let (mut known, wanted) = crate::engine::images::from_store(store, &builds);
        known.extend(self.engine.known(&wanted));
        if !known.is_empty() {
            let images = crate::engine::images::as_build_images(&known);
            analysis::layers::attach_sizes(&mut annotated, &crate::dockerfile::parse(text), &images);
        }
        annotated
    }

    fn last_build(&self, store: &Store, root: &Path, path: &Path) -> Option<RecordedBuild> {
        let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        // Newest first, as `pick` chooses, but without changing which records stay held.
        let newest: Vec<Picked> = {
            let index = lock(&self.index);
            let applies = index.entries.iter().rev().filter(|(_, e)| entry_applies(e, root, &target));
            applies
                .take(MIN_RECORDS)
                .map(|(id, e)| Picked { id: id.clone(), whole: e.dockerfile.is_some(), builds: e.builds.clone() })
                .collect()
        };
        newest.into_iter().find_map(|Picked { id, whole, builds: held }| {
            let builds = held.or_else(|| load_entry(store, &store.record(&id)?)?.builds)?;
            builds.iter().rev().find(|b| whole || name_applies(b.build.dockerfile.as_deref(), &target)).cloned()
        })
    }

    fn explain(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize, expensive_ms: u64) -> Option<Explained> {
        let mut builds = self.builds_of(store, root, path, depth.max(MIN_RECORDS));
        builds.drain(..builds.len().saturating_sub(analysis::advice::RECENT_BUILDS + 1));
        let n = builds.len();
        let facts: Vec<BuildFacts> = builds.iter().enumerate().map(|(i, b)| self.facts(store, &b.id, i + 2 >= n)).collect();
        let sides: Vec<Side<'_>> = builds.iter().zip(&facts).map(|(build, facts)| Side { build, facts }).collect();
        explain::explain_latest(text, &sides, expensive_ms)
    }
}

impl StoreSource {
    /// The builds of the newest `want` records that built the Dockerfile at `path`, oldest first.
    fn builds_of(&self, store: &Store, root: &Path, path: &Path, want: usize) -> Vec<RecordedBuild> {
        let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let picked = self.pick(root, &target, want);
        let mut builds: Vec<RecordedBuild> = Vec::new();
        for p in picked.into_iter().rev() {
            let Some(held) = p.builds.or_else(|| self.load_builds(store, &p.id, want)) else { continue };
            builds.extend(held.iter().filter(|b| p.whole || name_applies(b.build.dockerfile.as_deref(), &target)).cloned());
        }
        builds
    }

    /// The facts of a build: its record's command line from the index; `inputs.json` (a store read) only
    /// when `inputs` (the last two builds: older ones need no file lists).
    fn facts(&self, store: &Store, build_id: &str, inputs: bool) -> BuildFacts {
        let id = build_id.split('#').next().unwrap_or(build_id);
        let meta = lock(&self.index).entries.get(id).map(|e| e.meta.clone());
        BuildFacts {
            build_args: meta.as_ref().map(|m| m.build_args.clone()).unwrap_or_default(),
            no_cache: meta.as_ref().is_some_and(|m| m.no_cache),
            tool: meta.map(|m| m.tool).unwrap_or_default(),
            inputs: if inputs { store.record(id).and_then(|r| r.inputs()) } else { None },
        }
    }

    /// The newest `want` records that built `target`, newest first, with their builds when held.
    /// `whole`: the record names this Dockerfile, so all its builds count (else each build by the name
    /// its builder loaded).
    fn pick(&self, root: &Path, target: &Path, want: usize) -> Vec<Picked> {
        let mut index = lock(&self.index);
        let picked: Vec<Picked> = index
            .entries
            .iter()
            .rev()
            .filter(|(_, e)| entry_applies(e, root, target))
            .take(want)
            .map(|(id, e)| Picked { id: id.clone(), whole: e.dockerfile.is_some(), builds: e.builds.clone() })
            .collect();
        for Picked { id, .. } in picked.iter().rev() {
            index.hold(id, want + HELD_SPARE);
        }
        picked
    }

    /// Reads a record's builds again (its summary cache is current: `refresh` indexed it) and holds them.
    fn load_builds(&self, store: &Store, id: &str, want: usize) -> Option<Arc<Vec<RecordedBuild>>> {
        let entry = load_entry(store, &store.record(id)?)?;
        let builds = entry.builds.clone();
        let mut index = lock(&self.index);
        if let Some(e) = index.entries.get_mut(id) {
            e.builds = builds.clone();
        }
        index.hold(id, want + HELD_SPARE);
        builds
    }
}

/// A record chosen for an annotation.
struct Picked {
    id: String,
    whole: bool,
    builds: Option<Arc<Vec<RecordedBuild>>>,
}

/// What a changed path means for the index.
#[derive(Debug, PartialEq, Eq)]
enum Touched {
    Record(String),
    All,
}

/// `<store>/builds/<id>`, its `build.log` or `meta.json` name a record; the store or its `builds` folder
/// (created, deleted) name all of them; anything else (`summary.json`, which indexing itself writes,
/// temporary files) nothing.
fn touched(store_root: &Path, path: &Path) -> Option<Touched> {
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

/// Indexes one record (reading only the new bytes of a log that grew) and keeps what selection needs.
fn load_entry(store: &Store, record: &store::Record) -> Option<Entry> {
    let meta = record.meta().map_err(|e| eprintln!("buildlens: skipping record {}: {e:#}", record.id)).ok()?;
    let live = meta.is_live();
    let (summary, _) =
        store::index::summary(record, !live).map_err(|e| eprintln!("buildlens: skipping record {}: {e:#}", record.id)).ok()?;
    let several = summary.parsed.builds.len() > 1;
    let builds: Vec<RecordedBuild> = summary
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
    let dockerfile = meta.dockerfile.as_ref().map(|df| {
        // Relative to the store's parent, not to `cwd` (store::select::resolve): a store outside the workspace
        // (`storePath`) or a build run in a subfolder still names its Dockerfile.
        let full = store::select::resolve(store, df);
        if full.is_absolute() {
            fs::canonicalize(&full).unwrap_or(full)
        } else {
            full
        }
    });
    let loaded = builds.iter().map(|b| b.build.dockerfile.clone()).collect();
    Some(Entry { meta, dockerfile, loaded, log_len: summary.log_len, builds: Some(Arc::new(builds)) })
}

/// Whether a record built the Dockerfile at `target` (canonical): the record's Dockerfile when it names
/// one (relative to the build's working folder, else the workspace root), else the file name a build
/// loaded, else `Dockerfile`.
fn entry_applies(e: &Entry, root: &Path, target: &Path) -> bool {
    match &e.dockerfile {
        Some(df) if df.is_absolute() => df == target,
        Some(df) => same_file(&root.join(df), target),
        None => e.loaded.iter().any(|name| name_applies(name.as_deref(), target)),
    }
}

fn name_applies(loaded: Option<&str>, target: &Path) -> bool {
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match loaded {
        Some(loaded) => Path::new(loaded).file_name().and_then(|n| n.to_str()) == Some(name),
        None => name == "Dockerfile",
    }
}

/// The record's Dockerfile, for a log opened from the store.
pub fn record_dockerfile(log_path: &Path, root: &Path) -> Option<PathBuf> {
    let record = log_path.parent()?;
    let meta: RecordMeta = serde_json::from_slice(&fs::read(record.join(store::META_FILE)).ok()?).ok()?;
    let df = meta.dockerfile?;
    // A relative path in meta.json is relative to the store's parent (`store::select::resolve`), never to
    // the server's own working folder (nor to the record's `cwd`, which is stored the same way).
    Some(match record.parent().and_then(Path::parent) {
        Some(store_dir) => store::select::resolve(&Store::at(store_dir), &df),
        None => root.join(df),
    })
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
    fn record_dockerfile_resolves_relative_paths_at_the_stores_parent() {
        let dir = tempfile::tempdir().unwrap();
        let record = dir.path().join("ws/.buildlens/builds/r1");
        fs::create_dir_all(&record).unwrap();
        let log = record.join(store::LOG_FILE);
        let ws = dir.path().join("ws");
        let check = |cwd: &str, dockerfile: Option<&str>, expect: Option<PathBuf>| {
            let meta = serde_json::json!({"schema": 1, "id": "r1", "source": "record", "command": ["docker", "build", "."],
                "cwd": cwd, "started": "2026-11-24T06:55:11Z", "dockerfile": dockerfile});
            fs::write(record.join(store::META_FILE), meta.to_string()).unwrap();
            assert_eq!(record_dockerfile(&log, Path::new("/elsewhere")), expect, "{meta}");
        };
        check(".", Some("Dockerfile"), Some(ws.join("Dockerfile")));
        check("sub", Some("sub/x.Dockerfile"), Some(ws.join("sub/x.Dockerfile")));
        check("/abs", Some("/abs/Dockerfile"), Some(PathBuf::from("/abs/Dockerfile")));
        check(".", None, None);
    }

    #[test]
    fn a_missing_store_has_no_builds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("nope"));
        let src = StoreSource::default();
        let g = src.refresh(&store, &|_| {});
        let a = src.annotate(&store, dir.path(), &dir.path().join("Dockerfile"), "FROM a\n", 10);
        assert!(a.instructions.iter().all(|i| i.last.is_none()));
        assert_eq!(src.refresh(&store, &|_| {}), g);
    }

    fn check_touched(path: &str, expect: Option<Touched>) {
        assert_eq!(touched(Path::new("/s"), Path::new(path)), expect, "{path}");
    }

    #[test]
    fn which_paths_touch_which_records() {
        let rec = |id: &str| Some(Touched::Record(id.into()));
        check_touched("/s/builds/r1", rec("r1"));
        check_touched("/s/builds/r1/build.log", rec("r1"));
        check_touched("/s/builds/r1/meta.json", rec("r1"));
        check_touched("/s/builds/r1/summary.json", None);
        check_touched("/s/builds/r1/.summary.json.tmp-7", None);
        check_touched("/s/builds/.tmp", None);
        check_touched("/s/builds", Some(Touched::All));
        check_touched("/s", Some(Touched::All));
        check_touched("/", Some(Touched::All));
        check_touched("/elsewhere/builds/r1/build.log", None);
    }

    /// `meta.json` paths are relative to the store's parent, whatever the build's `cwd` and wherever the
    /// store is (`storePath` outside the workspace): the record still names the workspace's Dockerfile.
    #[test]
    fn relative_record_paths_resolve_from_the_stores_parent() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        fs::create_dir(&ws).unwrap();
        let df = ws.join("Dockerfile");
        fs::write(&df, "FROM a\nRUN x\n").unwrap();
        let store = Store::at(dir.path().join("store"));
        let r = store.create_record(chrono::Utc::now()).unwrap();
        fs::write(r.log_path(), "#5 [2/2] RUN x\n#5 DONE 1.0s\n").unwrap();
        let mut meta = RecordMeta::new(r.id.clone(), store::Source::Record, "2026-11-01T10:00:00Z".into());
        (meta.cwd, meta.dockerfile) = (Some("ws".into()), Some("ws/Dockerfile".into()));
        r.write_meta(&meta).unwrap();
        // Another Dockerfile of the same name elsewhere does not get the build.
        let other = dir.path().join("other");
        fs::create_dir(&other).unwrap();
        let src = StoreSource::default();
        src.refresh(&store, &|_| {});
        let runs = |root: &Path, df: &Path| src.annotate(&store, root, df, "FROM a\nRUN x\n", 10).instructions[1].history.len();
        assert_eq!(runs(&ws, &df), 1);
        assert_eq!(runs(&other, &other.join("Dockerfile")), 0);
    }

    /// The index changes only when told: a record written without an event is not seen (no request stats
    /// the store), and an invalidation of its path makes the next refresh read it (and only it).
    #[test]
    fn records_are_read_again_only_when_invalidated() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("st"));
        let write = |log: &str| {
            let r = store.create_record(chrono::Utc::now()).unwrap();
            fs::write(r.log_path(), log).unwrap();
            r.write_meta(&RecordMeta::new(r.id.clone(), store::Source::Import, "2026-11-01T10:00:00Z".into())).unwrap();
            r
        };
        let df = dir.path().join("Dockerfile");
        let runs = |src: &StoreSource| src.annotate(&store, dir.path(), &df, "FROM a\nRUN x\n", 10).instructions[1].history.len();
        write("#5 [2/2] RUN x\n#5 DONE 1.0s\n");
        let src = StoreSource::default();
        let g1 = src.refresh(&store, &|_| {});
        assert_eq!(runs(&src), 1);
        let r2 = write("#5 [2/2] RUN x\n#5 DONE 2.0s\n");
        assert_eq!(src.refresh(&store, &|_| {}), g1, "no event, no re-read");
        assert_eq!(runs(&src), 1);
        assert!(!src.invalidate(&store, &[r2.summary_path()]));
        assert!(src.invalidate(&store, &[r2.log_path()]));
        let seen = std::cell::RefCell::new(Vec::new());
        let g2 = src.refresh(&store, &|e| seen.borrow_mut().push(e));
        assert_ne!(g2, g1);
        assert_eq!(runs(&src), 2);
        assert!(seen.borrow().is_empty(), "small logs report no progress");
        src.invalidate_all();
        assert_eq!(src.refresh(&store, &|_| {}), g2, "re-reading unchanged records keeps the generation");

        let noisy = StoreSource::with_progress_threshold(0);
        let seen = std::cell::RefCell::new(Vec::new());
        noisy.refresh(&store, &|e| seen.borrow_mut().push(e));
        let seen = seen.into_inner();
        assert!(matches!(seen.first(), Some(Indexing::Begin { records: 2, .. })), "{seen:?}");
        assert_eq!(seen.get(2), Some(&Indexing::Report { done: 2, records: 2 }));
        assert_eq!(seen.last(), Some(&Indexing::End));
    }
}

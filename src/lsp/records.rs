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

use super::context_inputs::ContextInputs;
use super::engine_sizes::EngineSizes;
use super::log_globs;
pub use super::log_globs::LogGlobs;
use super::services;
use crate::analysis::explain::{self, Explained, Side};
use crate::analysis::inputs::{BuildFacts, Inputs};
use crate::analysis::{self, Annotated, RecordedBuild};
use crate::store::compose::ComposeInfo;
use crate::store::{self, RecordMeta, Store};
use std::borrow::Cow;

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
    /// The `buildlens.logGlobs` setting: logs outside the store that count as records. A change marks
    /// everything stale.
    fn set_log_globs(&self, _globs: LogGlobs) {}
    /// The store generation when it is known to be current without doing anything (no indexing running,
    /// nothing marked stale): what lets a request answer from cached results without waiting. `None`
    /// means "call `refresh`".
    fn current_generation(&self, _store: &Store) -> Option<u64> {
        None
    }
    /// The annotation of `text`, the buffer of the Dockerfile at `path`, from the `depth` most recent
    /// records that built it (at least `MIN_RECORDS`).
    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize) -> Annotated;
    /// The live engine queries behind the annotations, when the source makes any (`engine_sizes`).
    fn engine_sizes(&self) -> Option<Arc<EngineSizes>> {
        None
    }
    /// The build context on disk against the last build's manifest (`context_inputs`), when the source
    /// compares them.
    fn context_inputs(&self) -> Option<Arc<ContextInputs>> {
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
/// How many records' `inputs.json` the server keeps parsed (explain reads the last two builds').
const INPUTS_HELD: usize = 4;
/// Indexing runs with at least this many new log bytes report progress.
pub const PROGRESS_BYTES: u64 = 8 << 20;

/// What the index keeps of one readable record.
struct Entry {
    /// Sorts by time: the record id, or a globbed log's modification time in the same form.
    order: String,
    /// What the entry was read from, to tell a real change from a repeated event.
    meta: RecordMeta,
    /// The record's Dockerfile (canonical where it exists), when the record names one.
    dockerfile: Option<PathBuf>,
    /// Per build in the log: the Dockerfile names the builder loaded (one per service of a compose build).
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
    /// Logs outside the store that count as records (`log_globs`).
    globs: LogGlobs,
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
            let globs = std::mem::take(&mut self.globs);
            *self = Index { root: Some(store.root().to_path_buf()), all_stale: true, generation, globs, ..Index::default() };
        }
        let mut ids = std::mem::take(&mut self.stale);
        if std::mem::take(&mut self.all_stale) {
            ids.extend(store.records().into_iter().map(|r| r.id));
            ids.extend(self.globs.find(store.root()).iter().map(|p| log_globs::key(p)));
            ids.extend(self.entries.keys().cloned());
        }
        // Records first (by time), then the globbed logs (`log:` sorts after digits).
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
    /// The last build's context on disk; its epoch is part of the generation too.
    context: Arc<ContextInputs>,
    /// Mappings by build shape, for the Dockerfile text analysed last (`analysis::shapes`).
    mappings: Mutex<analysis::MappingCache>,
    /// Mappings of builds onto their records' own Dockerfile snapshots (`explain`; they never change).
    snapshot_mappings: Mutex<analysis::MappingCache>,
    /// The `inputs.json` of the last records `explain` read (written once, when a build ends; a context
    /// manifest can be megabytes, so it is not parsed again on every edit).
    inputs: Mutex<Vec<(String, Arc<Inputs>)>>,
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
    /// The store generation as analyses see it. All three only grow, so the sum moves when records
    /// changed, engine answers brought sizes, or a walk of the context found changes.
    fn with_epochs(&self, generation: u64) -> u64 {
        generation.wrapping_add(self.engine.epoch()).wrapping_add(self.context.epoch())
    }

    /// A source that reports progress for indexing runs of at least `bytes` new log bytes.
    pub fn with_progress_threshold(bytes: u64) -> StoreSource {
        StoreSource {
            index: Mutex::default(),
            indexing: Mutex::default(),
            progress_bytes: bytes,
            engine: Arc::new(EngineSizes::new()),
            context: Arc::default(),
            mappings: Mutex::default(),
            snapshot_mappings: Mutex::default(),
            inputs: Mutex::default(),
        }
    }

    /// Loads `ids`, reporting progress when there is much to read.
    fn load_all(&self, store: &Store, ids: &[String], progress: &dyn Fn(Indexing)) -> Vec<(String, Option<Entry>)> {
        let (root, globs) = {
            let index = lock(&self.index);
            (index.globs.root.clone(), index.globs.clone())
        };
        let external: Vec<&String> = ids.iter().filter(|id| id.starts_with(log_globs::KEY_PREFIX)).collect();
        let ids: Vec<String> = ids.iter().filter(|id| !id.starts_with(log_globs::KEY_PREFIX)).cloned().collect();
        let known: Vec<u64> = {
            let index = lock(&self.index);
            ids.iter().map(|id| index.entries.get(id).map_or(0, |e| e.log_len)).collect()
        };
        let records: Vec<Option<store::Record>> = ids.iter().map(|id| store.record(id)).collect();
        let n = ids.len();
        // Ids sort by time: only the newest are parsed (and keep their parsed builds) now. Older records
        // that name their Dockerfile are indexed from `meta.json` and the log's size alone, and parsed
        // when an analysis picks them (`load_builds`): a start-up over a large store reads no summaries
        // it does not need, and never holds every build at once.
        let keep_from = n.saturating_sub(MIN_RECORDS + HELD_SPARE);
        let size = |r: &Option<store::Record>| r.as_ref().and_then(|r| fs::metadata(r.log_path()).ok()).map_or(0, |m| m.len());
        let bytes: u64 = records.iter().zip(&known).skip(keep_from).map(|(r, k)| size(r).saturating_sub(*k)).sum();
        let report = bytes > 0 && bytes >= self.progress_bytes;
        if report {
            progress(Indexing::Begin { records: n, bytes });
        }
        let mut out = Vec::with_capacity(n);
        for (i, (id, record)) in ids.iter().zip(&records).enumerate() {
            let mut entry = if i < keep_from { record.as_ref().and_then(|r| light_entry(store, r)) } else { None };
            if entry.is_none() {
                entry = record.as_ref().and_then(|r| load_entry(store, r));
            }
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
        for key in external {
            let entry = log_globs::path_of(key).filter(|p| globs.matches(p, store.root())).and_then(|p| external_entry(store, &root, &p));
            out.push((key.clone(), entry));
        }
        out
    }
}

impl Source for StoreSource {
    fn refresh(&self, store: &Store, progress: &dyn Fn(Indexing)) -> u64 {
        let _running = lock(&self.indexing);
        let ids = lock(&self.index).take_stale(store);
        if ids.is_empty() {
            return self.with_epochs(lock(&self.index).generation);
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
        self.with_epochs(index.generation)
    }

    fn invalidate(&self, store: &Store, paths: &[PathBuf]) -> bool {
        let mut index = lock(&self.index);
        let mut relevant = false;
        for path in paths {
            if index.globs.matches(path, store.root()) {
                let key = log_globs::key(path);
                index.stale.insert(key);
                relevant = true;
                continue;
            }
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

    fn context_inputs(&self) -> Option<Arc<ContextInputs>> {
        Some(self.context.clone())
    }

    fn current_generation(&self, store: &Store) -> Option<u64> {
        let _idle = self.indexing.try_lock().ok()?;
        let index = lock(&self.index);
        let current = index.root.as_deref() == Some(store.root()) && !index.all_stale && index.stale.is_empty();
        current.then_some(self.with_epochs(index.generation))
    }

    fn set_log_globs(&self, globs: LogGlobs) {
        let mut index = lock(&self.index);
        if index.globs != globs {
            index.globs = globs;
            index.all_stale = true;
        }
    }

    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize) -> Annotated {
        let (target, held, older) = self.held_builds(store, root, path, depth.max(MIN_RECORDS));
        let compose = services::compose_for(store, path);
        let fallback = services::Fallback::new(root, path, Some(text));
        let owned = applying(&held, &target, compose.as_ref(), &fallback);
        let builds: Vec<&RecordedBuild> = owned.iter().map(|b| b.as_ref()).collect();
        let mut annotated = {
            let mut cache = lock(&self.mappings);
            // One open Dockerfile text at a time keeps its mappings (they are a few per distinct build shape).
            cache.keep_only(analysis::shapes::text_print(text));
            analysis::annotate_with(text, &builds, &mut cache)
        };
        // Numbered as `report` numbers them: after the older records not read here (one build each).
        annotated.number_after(older);
        if let Some(c) = &compose {
            annotated.problems.extend(c.problems.iter().cloned());
        }
        // Layer sizes from the records' image-history snapshots (a store read), else from the engine answers
        // already cached (the others are asked for in the background, never here).
        let slim: Vec<RecordedBuild> = builds.iter().map(|b| without_steps(b)).collect();
        let (mut known, wanted) = crate::engine::images::from_store(store, &slim);
        known.extend(self.engine.known(&wanted));
        if !known.is_empty() {
            let images = crate::engine::images::as_build_images(&known);
            analysis::layers::attach_sizes(&mut annotated, &crate::dockerfile::parse(text), &images);
        }
        compact(&mut annotated);
        annotated
    }

    fn last_build(&self, store: &Store, root: &Path, path: &Path) -> Option<RecordedBuild> {
        let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        // Newest first, as `pick` chooses, but without changing which records stay held.
        let newest: Vec<Picked> = {
            let index = lock(&self.index);
            let applies = index.entries.iter().rev().filter(|(_, e)| entry_applies(e, root, &target));
            applies.take(MIN_RECORDS).map(|(id, e)| picked(root, id, e, &target)).collect()
        };
        let compose = services::compose_for(store, path);
        let fallback = services::Fallback::new(root, path, None);
        newest.into_iter().find_map(|Picked { id, whole, services, builds: held }| {
            let builds = held.or_else(|| load_entry(store, &store.record(&id)?)?.builds)?;
            let held = [(whole, services, builds)];
            applying(&held, &target, compose.as_ref(), &fallback).pop().map(std::borrow::Cow::into_owned)
        })
    }

    fn explain(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize, expensive_ms: u64) -> Option<Explained> {
        let (target, held, _) = self.held_builds(store, root, path, depth.max(MIN_RECORDS));
        let compose = services::compose_for(store, path);
        let fallback = services::Fallback::new(root, path, Some(text));
        let owned = applying(&held, &target, compose.as_ref(), &fallback);
        let mut builds: Vec<&RecordedBuild> = owned.iter().map(|b| b.as_ref()).collect();
        builds.drain(..builds.len().saturating_sub(analysis::advice::RECENT_BUILDS + 1));
        let n = builds.len();
        let facts: Vec<BuildFacts> = builds.iter().enumerate().map(|(i, b)| self.facts(store, &b.id, i + 2 >= n)).collect();
        let sides: Vec<Side<'_>> = builds.iter().zip(&facts).map(|(build, facts)| Side { build, facts }).collect();
        // Through the same mapping cache as `annotate` (the same text: its build shapes are mapped already).
        let mut today = lock(&self.mappings);
        let mut snapshots = lock(&self.snapshot_mappings);
        let mut caches = explain::Caches { today: &mut today, snapshots: &mut snapshots };
        explain::explain_latest_with(text, &sides, expensive_ms, &mut caches)
    }
}

/// A record's held builds; `true` when the record names the Dockerfile (all its builds count); the
/// services of its compose build that built it, when the record lists them.
type Held = (bool, Option<Vec<String>>, Arc<Vec<RecordedBuild>>);

/// The builds of `held` that built `target`, borrowed, not cloned (they are shared with the index),
/// except compose builds: those keep only the steps of the services that built `target` (`services`;
/// `fallback` decides when neither the record nor the compose file says).
fn applying<'a>(
    held: &'a [Held],
    target: &'a Path,
    compose: Option<&ComposeInfo>,
    fallback: &services::Fallback<'_>,
) -> Vec<Cow<'a, RecordedBuild>> {
    let mut out = Vec::new();
    for (whole, listed, builds) in held {
        for b in builds.iter().filter(|b| *whole || services::loaded_names(&b.build).iter().any(|n| name_applies(n.as_deref(), target))) {
            out.extend(services::scoped(b, listed.as_deref(), compose, fallback));
        }
    }
    out
}

/// A record chosen for `target`: whether all its builds count, and its services that built `target`.
fn picked(root: &Path, id: &str, e: &Entry, target: &Path) -> Picked {
    let services = services::record_services(root, &e.meta, target);
    Picked { id: id.to_string(), whole: e.dockerfile.is_some() || services.is_some(), services, builds: e.builds.clone() }
}

/// Keeps of each instruction's older runs only what the hover table shows: their output excerpts and
/// layer notes go (the last run keeps everything: lenses, hover and diagnostics read it).
fn compact(annotated: &mut Annotated) {
    for view in &mut annotated.instructions {
        let older = view.history.len().saturating_sub(1);
        for run in view.history.iter_mut().take(older) {
            run.excerpt = Vec::new();
            run.layer = None;
        }
    }
}

impl StoreSource {
    /// The held builds of the newest `want` records that built the Dockerfile at `path` (canonical: the
    /// first value), oldest first; `true` when the record names that Dockerfile (all its builds count);
    /// and how many older records built it.
    fn held_builds(&self, store: &Store, root: &Path, path: &Path, want: usize) -> (PathBuf, Vec<Held>, usize) {
        let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let (picked, older) = self.pick(root, &target, want);
        let mut held: Vec<Held> = Vec::new();
        for p in picked.into_iter().rev() {
            let Some(builds) = p.builds.or_else(|| self.load_builds(store, &p.id, want)) else { continue };
            held.push((p.whole, p.services, builds));
        }
        (target, held, older)
    }

    /// A record's `inputs.json`, from the small cache of the last ones read.
    fn inputs_of(&self, store: &Store, id: &str) -> Option<Arc<Inputs>> {
        if let Some((_, hit)) = lock(&self.inputs).iter().find(|(k, _)| k == id) {
            return Some(hit.clone());
        }
        let read = Arc::new(store.record(id)?.inputs()?);
        let mut cache = lock(&self.inputs);
        if cache.len() >= INPUTS_HELD {
            cache.remove(0);
        }
        cache.push((id.to_string(), read.clone()));
        Some(read)
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
            inputs: if inputs { self.inputs_of(store, id) } else { None },
        }
    }

    /// The newest `want` records that built `target`, newest first, with their builds when held.
    /// `whole`: the record names this Dockerfile, so all its builds count (else each build by the name
    /// its builder loaded).
    fn pick(&self, root: &Path, target: &Path, want: usize) -> (Vec<Picked>, usize) {
        let mut index = lock(&self.index);
        let mut applies: Vec<(&String, &Entry)> = index.entries.iter().filter(|(_, e)| entry_applies(e, root, target)).collect();
        // Newest first; ids sort by time, globbed logs by their modification time in the same form.
        applies.sort_by(|a, b| b.1.order.cmp(&a.1.order));
        let older = applies.len().saturating_sub(want);
        let picked: Vec<Picked> = applies.into_iter().take(want).map(|(id, e)| picked(root, id, e, target)).collect();
        for Picked { id, .. } in picked.iter().rev() {
            index.hold(id, want + HELD_SPARE);
        }
        (picked, older)
    }

    /// Reads a record's builds again (its summary cache is current: `refresh` indexed it) and holds them.
    fn load_builds(&self, store: &Store, id: &str, want: usize) -> Option<Arc<Vec<RecordedBuild>>> {
        let entry = match log_globs::path_of(id) {
            Some(path) => {
                let root = lock(&self.index).globs.root.clone();
                external_entry(store, &root, &path)?
            }
            None => load_entry(store, &store.record(id)?)?,
        };
        let builds = entry.builds.clone();
        let mut index = lock(&self.index);
        if let Some(e) = index.entries.get_mut(id) {
            e.builds = builds.clone();
        }
        index.hold(id, want + HELD_SPARE);
        builds
    }
}

/// A build's identity, result and image without its steps: what the image-snapshot lookup reads.
fn without_steps(rb: &RecordedBuild) -> RecordedBuild {
    let b = &rb.build;
    let build = crate::log::Build {
        format: b.format,
        started: b.started.clone(),
        finished: b.finished.clone(),
        result: b.result,
        error: None,
        problems: Vec::new(),
        steps: Vec::new(),
        span: b.span,
        dockerfile: b.dockerfile.clone(),
        image: b.image.clone(),
        job: b.job.clone(),
        error_lines: None,
        warnings: Vec::new(),
    };
    RecordedBuild {
        id: rb.id.clone(),
        started: rb.started.clone(),
        build,
        log_path: rb.log_path.clone(),
        live: rb.live,
        built_dockerfile: rb.built_dockerfile.clone(),
    }
}

/// A record chosen for an annotation.
struct Picked {
    id: String,
    whole: bool,
    services: Option<Vec<String>>,
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

/// The index entry of a record that names its Dockerfile, from its `meta.json` and its log's size only
/// (no summary read, nothing parsed); `None` when the record does not name one (selection then needs the
/// names its builds loaded) or cannot be read.
fn light_entry(store: &Store, record: &store::Record) -> Option<Entry> {
    let meta = record.meta().ok()?;
    let dockerfile = record_dockerfile_path(store, &meta)?;
    let log_len = fs::metadata(record.log_path()).ok()?.len();
    Some(Entry { order: record.id.clone(), meta, dockerfile: Some(dockerfile), loaded: Vec::new(), log_len, builds: None })
}

/// The record's Dockerfile, canonical where it exists. A relative path is relative to the store's parent
/// (`store::select::resolve`), not to `cwd`: a store outside the workspace (`storePath`) or a build run in a
/// subfolder still names its Dockerfile.
fn record_dockerfile_path(store: &Store, meta: &RecordMeta) -> Option<PathBuf> {
    let full = store::select::resolve(store, meta.dockerfile.as_ref()?);
    Some(if full.is_absolute() { fs::canonicalize(&full).unwrap_or(full) } else { full })
}

/// The builds of one log as records: `id`, or `id#n` when the log holds several; a build that does not say
/// when it started gets `started` (the record's, or the log's modification time); `built`: the Dockerfile
/// as built (`inputs.json`).
fn recorded(
    builds: Vec<crate::log::Build>,
    id: &str,
    started: &str,
    log_path: &Path,
    live: bool,
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
            build,
            log_path: log_path.to_path_buf(),
            live,
            built_dockerfile: built.clone(),
        })
        .collect()
}

/// Indexes one record (reading only the new bytes of a log that grew) and keeps what selection needs.
fn load_entry(store: &Store, record: &store::Record) -> Option<Entry> {
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
    Some(Entry { order: record.id.clone(), meta, dockerfile, loaded, log_len: summary.log_len, builds: Some(Arc::new(builds)) })
}

/// Indexes a log matched by `logGlobs` (read only; its summary is cached inside the store). It counts
/// as a finished record named by its workspace-relative path, started at its modification time unless
/// the log says; which Dockerfile it built comes from the name the builder loaded.
fn external_entry(store: &Store, root: &Path, path: &Path) -> Option<Entry> {
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
    let meta = RecordMeta::new(id, store::Source::Import, started);
    let order = modified.format("%Y%m%dT%H%M%S%.3fZ").to_string();
    Some(Entry { order, meta, dockerfile: None, loaded, log_len: summary.log_len, builds: Some(Arc::new(builds)) })
}

/// Whether a record built the Dockerfile at `target` (canonical): the record's Dockerfile when it names
/// one (relative to the build's working folder, else the workspace root), else the file name a build
/// loaded, else `Dockerfile`.
fn entry_applies(e: &Entry, root: &Path, target: &Path) -> bool {
    if !e.meta.services.is_empty() {
        return e.meta.services.iter().any(|s| same_file(&root.join(&s.dockerfile), target));
    }
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

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
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

    /// Only the newest records are parsed at start-up; older ones that name their Dockerfile are indexed
    /// from their metadata and parsed when an analysis needs them (here: a history of 20 builds).
    #[test]
    fn older_records_are_parsed_only_when_an_analysis_picks_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let df = root.join("Dockerfile");
        fs::write(&df, "FROM a\nRUN x\n").unwrap();
        let store = Store::at(root.join("st"));
        let start: chrono::DateTime<chrono::Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
        let records: Vec<store::Record> = (0..40)
            .map(|i| {
                let t = start + chrono::Duration::minutes(i);
                let r = store.create_record(t).unwrap();
                fs::write(r.log_path(), format!("#5 [2/2] RUN x\n#5 DONE {i}.0s\n")).unwrap();
                let mut meta = RecordMeta::new(r.id.clone(), store::Source::Import, t.to_rfc3339());
                meta.finished = Some(t.to_rfc3339());
                meta.dockerfile = Some(df.clone());
                r.write_meta(&meta).unwrap();
                r
            })
            .collect();
        let src = StoreSource::default();
        src.refresh(&store, &|_| {});
        let parsed = |range: std::ops::Range<usize>| records[range].iter().filter(|r| r.summary_path().is_file()).count();
        assert_eq!(parsed(0..12), 0, "old records are not read at start-up");
        assert_eq!(parsed(12..40), 28);
        let a = src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 25);
        let history = &a.instructions[1].history;
        assert_eq!(history.len(), 25);
        assert_eq!(history.last().and_then(|r| r.duration_ms), Some(39_000));
        assert_eq!(history.first().and_then(|r| r.duration_ms), Some(15_000));
        assert_eq!(parsed(0..12), 0);
        assert!(history[..24].iter().all(|r| r.excerpt.is_empty()), "older runs are compact");
        // Numbered as `report` numbers them (#1 is the oldest of the 40), though only the newest 25 were read.
        let numbers: Vec<usize> = a.builds.iter().map(|b| b.number).collect();
        assert_eq!(numbers, (16..=40).collect::<Vec<_>>());
        assert_eq!(a.latest().map(|b| b.id.as_str()), Some(records[39].id.as_str()));
        // A deeper history reaches records that were only indexed: they are parsed now, and only they.
        let a = src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 35);
        assert_eq!(a.instructions[1].history.first().and_then(|r| r.duration_ms), Some(5_000));
        assert_eq!((parsed(0..5), parsed(5..12)), (0, 7));
    }

    /// Cached answers are served without waiting only while nothing is stale.
    #[test]
    fn the_generation_is_current_only_when_nothing_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("st"));
        let src = StoreSource::default();
        assert_eq!(src.current_generation(&store), None, "never indexed");
        let g = src.refresh(&store, &|_| {});
        assert_eq!(src.current_generation(&store), Some(g));
        assert_eq!(src.current_generation(&Store::at(dir.path().join("other"))), None, "another store");
        assert!(src.invalidate(&store, &[store.root().join("builds/r1/build.log")]));
        assert_eq!(src.current_generation(&store), None);
        src.refresh(&store, &|_| {});
        assert!(src.current_generation(&store).is_some());
        src.set_log_globs(LogGlobs { root: dir.path().into(), globs: vec!["*.log".into()] });
        assert_eq!(src.current_generation(&store), None, "new globs: everything is stale");
    }

    /// A globbed log takes its place among the records by its modification time.
    #[test]
    fn globbed_logs_sort_among_records_by_modification_time() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let df = root.join("Dockerfile");
        let store = Store::at(root.join("st"));
        let r = store.create_record("2026-11-01T10:00:00Z".parse().unwrap()).unwrap();
        fs::write(r.log_path(), "#5 [2/2] RUN x\n#5 DONE 1.0s\n").unwrap();
        let mut meta = RecordMeta::new(r.id.clone(), store::Source::Import, "2026-11-01T10:00:00Z".into());
        meta.dockerfile = Some(df.clone());
        r.write_meta(&meta).unwrap();
        let log = root.join("ci.log");
        fs::write(&log, "#5 [2/2] RUN x\n#5 DONE 7.0s\n").unwrap();
        let src = StoreSource::default();
        src.set_log_globs(LogGlobs { root: root.clone(), globs: vec!["*.log".into()] });
        let last = |src: &StoreSource| {
            src.refresh(&store, &|_| {});
            let a = src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 10);
            a.instructions[1].last.as_ref().map(|l| (l.build.clone(), l.duration_ms))
        };
        assert_eq!(last(&src), Some(("ci.log".to_string(), Some(7_000))), "modified now: newer than the record");
        let old: std::time::SystemTime =
            chrono::DateTime::<chrono::Utc>::from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000)).into();
        fs::OpenOptions::new().write(true).open(&log).unwrap().set_modified(old).unwrap();
        assert!(src.invalidate(&store, std::slice::from_ref(&log)));
        assert_eq!(last(&src), Some((r.id.clone(), Some(1_000))), "modified in 2020: older than the record");
        let mut beside: Vec<String> =
            fs::read_dir(&root).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        beside.sort();
        assert_eq!(beside, ["ci.log", "st"], "nothing written beside the log");
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

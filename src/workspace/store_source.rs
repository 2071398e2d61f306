//! The analysis seam: what a Dockerfile's recorded builds say, from the store. The default `StoreSource`
//! keeps a small index of every record (metadata, which Dockerfile each build used, log size) and the
//! parsed builds of only the most recently used records, so memory does not grow with the store.
//!
//! The index changes only when told: watch events mark records stale (`invalidate`), and `refresh`
//! re-indexes just those (a growing log is read from where the last indexing stopped: `store::index`).
//! No request stats the store's files. A deleted store, a corrupt record or an unreadable log just gives
//! fewer builds.

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::index::{
    entry_applies, external_entry, light_entry, listed_entry, load_entry, name_applies, picked, touched, Dockerfiles, Entry, Index, Picked,
    Touched,
};
use super::log_globs;
use super::select::Named;
use super::services;
use super::source::{Feeds, Indexing, LogGlobs, Source, HELD_SPARE, INPUTS_HELD, MIN_RECORDS, PROGRESS_BYTES};
use crate::analysis::explain::{self, Explained, Side};
use crate::analysis::inputs::{BuildFacts, Inputs};
use crate::analysis::{self, Annotated, RecordedBuild};
use crate::store::catalog::Catalog;
use crate::store::compose::ComposeInfo;
use crate::store::{self, Store};

/// The store's records, indexed once and kept current by `invalidate` + `refresh`.
pub struct StoreSource {
    index: Mutex<Index>,
    /// Held for a whole indexing run: a request that arrives meanwhile waits for it, then sees its result.
    indexing: Mutex<()>,
    progress_bytes: u64,
    /// Live facts (engine layer sizes for records without a snapshot, the last build's context on disk):
    /// their epochs are part of the generation.
    feeds: Mutex<Feeds>,
    /// Mappings by build shape, for the Dockerfile text analysed last (`analysis::shapes`).
    mappings: Mutex<analysis::MappingCache>,
    /// Mappings of builds onto their records' own Dockerfile snapshots (`explain`; they never change).
    snapshot_mappings: Mutex<analysis::MappingCache>,
    /// The `inputs.json` of the last records `explain` read (written once, when a build ends; a context
    /// manifest can be megabytes, so it is not parsed again on every edit).
    inputs: Mutex<Vec<(String, Arc<Inputs>)>>,
    /// The last `pick`: the index generation, target and depth it was for, the ids picked (newest first)
    /// and the older count. The index changes only by `refresh`, so an edit of the buffer picks the same
    /// records without filtering and sorting every entry (10,000 in a year of CI) again.
    picks: Mutex<Option<Picks>>,
}

struct Picks {
    generation: u64,
    target: PathBuf,
    want: usize,
    ids: Vec<String>,
    older: usize,
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
        generation.wrapping_add(lock(&self.feeds).epoch())
    }

    /// A source that reports progress for indexing runs of at least `bytes` new log bytes.
    pub fn with_progress_threshold(bytes: u64) -> StoreSource {
        StoreSource {
            index: Mutex::default(),
            indexing: Mutex::default(),
            progress_bytes: bytes,
            feeds: Mutex::default(),
            mappings: Mutex::default(),
            snapshot_mappings: Mutex::default(),
            inputs: Mutex::default(),
            picks: Mutex::default(),
        }
    }

    /// Loads `ids`, reporting progress when there is much to read. `listed`: the store's catalog, when
    /// every record is being indexed (the older records are taken from it without opening their files).
    fn load_all(
        &self,
        store: &Store,
        ids: &[String],
        listed: Option<&Catalog>,
        progress: &dyn Fn(Indexing),
    ) -> Vec<(String, Option<Entry>)> {
        let (root, globs) = {
            let index = lock(&self.index);
            (index.globs.root.clone(), index.globs.clone())
        };
        let external: Vec<&String> = ids.iter().filter(|id| id.starts_with(log_globs::KEY_PREFIX)).collect();
        let ids: Vec<&String> = ids.iter().filter(|id| !id.starts_with(log_globs::KEY_PREFIX)).collect();
        let n = ids.len();
        // Ids sort by time: only the newest are parsed (and keep their parsed builds) now. Older records
        // that name their Dockerfile are indexed from the catalog (else from `meta.json` and the log's
        // size) alone, and parsed when an analysis picks them (`load_builds`): a start-up over a large
        // store reads no summaries it does not need, and never holds every build at once.
        let keep_from = n.saturating_sub(MIN_RECORDS + HELD_SPARE);
        let newest: Vec<Option<store::Record>> = ids.iter().skip(keep_from).map(|id| store.record(id)).collect();
        let bytes: u64 = {
            let index = lock(&self.index);
            let known = |id: &String| index.entries.get(id).map_or(0, |e| e.log_len);
            let size = |r: &Option<store::Record>| r.as_ref().and_then(|r| fs::metadata(r.log_path()).ok()).map_or(0, |m| m.len());
            ids.iter().skip(keep_from).zip(&newest).map(|(id, r)| size(r).saturating_sub(known(id))).sum()
        };
        let report = bytes > 0 && bytes >= self.progress_bytes;
        if report {
            progress(Indexing::Begin { records: n, bytes });
        }
        let mut dockerfiles = Dockerfiles::new(store);
        let mut out = Vec::with_capacity(n);
        for (i, id) in ids.iter().enumerate() {
            let entry = match newest.get(i.wrapping_sub(keep_from)) {
                Some(record) => record.as_ref().and_then(|r| self.unchanged(r).or_else(|| load_entry(store, r))),
                None => older_entry(store, id, listed, &mut dockerfiles),
            };
            out.push(((*id).clone(), entry));
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

impl StoreSource {
    /// The entry already held for a finished record whose meta and log size did not change (what `refresh`
    /// calls the same record): kept, not read again. A re-index of everything (the watch just set up, the
    /// logGlobs changed) then reads only meta files and sizes of the newest records.
    fn unchanged(&self, record: &store::Record) -> Option<Entry> {
        let meta = record.meta().ok().filter(|m| m.finished.is_some())?;
        let log_len = fs::metadata(record.log_path()).ok()?.len();
        let index = lock(&self.index);
        let old = index.entries.get(&record.id)?;
        let same = old.builds.is_some() && old.log_len == log_len && old.meta.as_deref() == Some(&meta);
        same.then(|| old.clone())
    }
}

/// The entry of a record older than those parsed now: its catalog line, else its `meta.json`, else (a
/// record that names no Dockerfile: selection needs the names its builds loaded) its parsed builds,
/// which are not held.
fn older_entry(store: &Store, id: &str, listed: Option<&Catalog>, dockerfiles: &mut Dockerfiles<'_>) -> Option<Entry> {
    let line = listed.and_then(|c| c.entries.binary_search_by(|e| e.id.as_str().cmp(id)).ok().and_then(|at| c.entries.get(at)));
    if let Some(entry) = line.and_then(|l| listed_entry(l, dockerfiles)) {
        return Some(entry);
    }
    let record = store.record(id)?;
    let mut entry = light_entry(store, &record).or_else(|| load_entry(store, &record))?;
    entry.builds = None;
    Some(entry)
}

impl Source for StoreSource {
    fn refresh(&self, store: &Store, progress: &dyn Fn(Indexing)) -> u64 {
        let _running = lock(&self.indexing);
        let (ids, listed) = lock(&self.index).take_stale(store);
        if ids.is_empty() {
            return self.with_epochs(lock(&self.index).generation);
        }
        let loaded = self.load_all(store, &ids, listed.as_ref(), progress);
        drop(listed);
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

    fn mappings(&self) -> Option<&Mutex<analysis::MappingCache>> {
        Some(&self.mappings)
    }

    fn feed(&self, feeds: Feeds) {
        *lock(&self.feeds) = feeds;
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
            // One open Dockerfile text at a time keeps its mappings (a few per distinct build shape):
            // `annotate_with` drops the others.
            let mut cache = lock(&self.mappings);
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
        let feeds = lock(&self.feeds).clone();
        known.extend(feeds.known(&wanted));
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
            applies.take(MIN_RECORDS).map(|(id, e)| picked(store, id, e, &target)).collect()
        };
        let compose = services::compose_for(store, path);
        let fallback = services::Fallback::new(root, path, None);
        newest.into_iter().find_map(|Picked { id, named, builds: held }| {
            let named = named?;
            let builds = held.or_else(|| load_entry(store, &store.record(&id)?)?.builds)?;
            let held = [(named, builds)];
            applying(&held, &target, compose.as_ref(), &fallback).pop().map(std::borrow::Cow::into_owned)
        })
    }

    fn explain(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize, expensive_ms: u64) -> Option<Explained> {
        let (target, held, _) = self.held_builds(store, root, path, depth.max(MIN_RECORDS));
        let compose = services::compose_for(store, path);
        let fallback = services::Fallback::new(root, path, Some(text));
        let owned = applying(&held, &target, compose.as_ref(), &fallback);
        let mut builds: Vec<&RecordedBuild> = owned.iter().map(|b| b.as_ref()).collect();
        // What explain reads: `compared`'s rule, the CLI's too.
        let to = builds.len().checked_sub(1)?;
        let facts =
            super::compared::facts(to, None, &mut |i, inputs| builds.get(i).map(|b| self.facts(store, &b.id, inputs)).unwrap_or_default());
        builds.drain(..super::compared::window(to).start);
        let sides: Vec<Side<'_>> = builds.iter().zip(&facts).map(|(build, facts)| Side { build, facts }).collect();
        // Through the same mapping cache as `annotate` (the same text: its build shapes are mapped already).
        let mut today = lock(&self.mappings);
        let mut snapshots = lock(&self.snapshot_mappings);
        let mut caches = explain::Caches { today: &mut today, snapshots: &mut snapshots };
        analysis::latest::explain_latest_with(text, &sides, expensive_ms, &mut caches)
    }
}

/// A record's held builds, and what its metadata says about the Dockerfile (`select::Named`).
type Held = (Named, Arc<Vec<RecordedBuild>>);

/// The builds of `held` that built `target` (`select::belongs`), borrowed, not cloned (they are shared
/// with the index), except compose builds: those keep only the steps of the services that built `target`.
/// A build of a record that names no Dockerfile must also have loaded one named like `target` (the index
/// picks records by that name); `fallback` is the text match.
fn applying<'a>(
    held: &'a [Held],
    target: &'a Path,
    compose: Option<&ComposeInfo>,
    fallback: &services::Fallback<'_>,
) -> Vec<Cow<'a, RecordedBuild>> {
    let mut out = Vec::new();
    for (named, builds) in held {
        let by_name = |b: &&RecordedBuild| services::loaded_names(&b.build).iter().any(|n| name_applies(n.as_deref(), target));
        for b in builds.iter().filter(|b| !matches!(named, Named::Unnamed) || by_name(b)) {
            out.extend(services::scoped(b, named, compose, fallback));
        }
    }
    out
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
        let (picked, older) = self.pick(store, root, &target, want);
        let mut held: Vec<Held> = Vec::new();
        for p in picked.into_iter().rev() {
            let Some(named) = p.named else { continue };
            let Some(builds) = p.builds.or_else(|| self.load_builds(store, &p.id, want)) else { continue };
            held.push((named, builds));
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
        let meta =
            lock(&self.index).entries.get(id).and_then(|e| e.meta.as_ref().map(|m| (m.build_args.clone(), m.no_cache, m.tool.clone())));
        let (build_args, no_cache, tool) = meta.unwrap_or_default();
        BuildFacts { build_args, no_cache, tool, inputs: if inputs { self.inputs_of(store, id) } else { None } }
    }

    /// The newest `want` records that built `target`, newest first, with their builds when held.
    /// `whole`: the record names this Dockerfile, so all its builds count (else each build by the name
    /// its builder loaded).
    fn pick(&self, store: &Store, root: &Path, target: &Path, want: usize) -> (Vec<Picked>, usize) {
        let mut index = lock(&self.index);
        let mut picks = lock(&self.picks);
        let same = |p: &Picks| p.generation == index.generation && p.target == target && p.want == want;
        if !picks.as_ref().is_some_and(same) {
            let mut applies: Vec<(&String, &Entry)> = index.entries.iter().filter(|(_, e)| entry_applies(e, root, target)).collect();
            // Newest first; ids sort by time, globbed logs by their modification time in the same form.
            applies.sort_by(|a, b| b.1.order.cmp(&a.1.order));
            let older = applies.len().saturating_sub(want);
            let ids = applies.into_iter().take(want).map(|(id, _)| id.clone()).collect();
            *picks = Some(Picks { generation: index.generation, target: target.to_path_buf(), want, ids, older });
        }
        let Some(Picks { ids, older, .. }) = picks.as_ref() else { return (Vec::new(), 0) };
        let older = *older;
        let picked: Vec<Picked> = ids.iter().filter_map(|id| Some(picked(store, id, index.entries.get(id)?, target))).collect();
        drop(picks);
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
            // A record listed from the catalog gets its meta now (explain's facts read it).
            if e.meta.is_none() {
                e.meta = entry.meta;
            }
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

#[cfg(test)]
#[path = "store_source_tests.rs"]
mod tests;

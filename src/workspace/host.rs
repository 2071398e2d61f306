//! The host and its snapshots. The host holds the mutable side (the `Source` of records, the live
//! `Feeds`, the settings, the open documents and their snapshots); a `Snapshot` is immutable and computed
//! once per (document version, store generation, settings): annotation, explain's causes, sizes, the
//! debug targets and their paths, the origins of pulled builds, and the prediction and timeline (lazily,
//! at most once, through the snapshot itself). An open log has a `LogSnapshot` of its own. `Counters`
//! say how often each was computed (the "a request reaches the analysis once" test).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::line_cache::LineCache;
use super::log_snapshot::{self, LogSnapshot};
use super::source::{Feeds, Source};
use crate::analysis::predict::{self, Prediction};
use crate::analysis::timeline::{self, Timeline};
use crate::analysis::{Annotated, InstructionView, MappingCache};
use crate::log::StepStatus;
use crate::store::Store;

/// What the analysis of one document depends on besides its text (the editor's settings, or the CLI's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub store: Store,
    /// Workspace root.
    pub root: PathBuf,
    /// Builds the hover's history shows (at least `MIN_RECORDS` are annotated).
    pub history_depth: usize,
    /// Explain's advice threshold.
    pub expensive_seconds: u64,
}

impl Settings {
    /// The same analysis settings (the store by its folder).
    fn same_as(&self, other: &Settings) -> bool {
        let key = |s: &Settings| (s.store.root().to_path_buf(), s.root.clone(), s.history_depth, s.expensive_seconds);
        key(self) == key(other)
    }
}

/// How many analyses the host computed (tests read them; they only grow).
#[derive(Debug, Default)]
pub struct Counters {
    snapshots: AtomicU64,
    predictions: AtomicU64,
    log_snapshots: AtomicU64,
}

impl Counters {
    /// Snapshots computed (annotation + explain), cached answers not counted.
    pub fn snapshots(&self) -> u64 {
        self.snapshots.load(Ordering::Relaxed)
    }

    /// Predictions computed.
    pub fn predictions(&self) -> u64 {
        self.predictions.load(Ordering::Relaxed)
    }

    /// Log snapshots computed (links and problems of an open log).
    pub fn log_snapshots(&self) -> u64 {
        self.log_snapshots.load(Ordering::Relaxed)
    }
}

/// Everything the renderers read about one version of one Dockerfile, computed once.
#[derive(Debug)]
pub struct Snapshot {
    pub path: PathBuf,
    pub version: i32,
    pub generation: u64,
    /// The settings it was analysed with (the store, the workspace root: the debug targets' too).
    pub settings: Settings,
    /// The annotated instructions, with explain's causes (`Annotated::explain`) and layer sizes.
    pub annotated: Arc<Annotated>,
    /// Where `buildlens debug` is started for the debug targets: the Dockerfile, the store, the root.
    pub debug: DebugPaths,
    /// Where the pulled builds among the runs came from (`meta.json`'s origin), by build id.
    pub pulled: HashMap<String, Pulled>,
    text: Arc<str>,
    /// Byte offset of each line's start in `text`.
    line_starts: Vec<usize>,
    prediction: OnceLock<Arc<Prediction>>,
    timeline: OnceLock<Option<Arc<Timeline>>>,
    lazy: Lazy,
}

/// The paths a debug target's command names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugPaths {
    pub dockerfile: PathBuf,
    /// The store folder, absolute (a relative store setting is relative to the root).
    pub store: PathBuf,
    pub root: PathBuf,
}

/// A pulled record's origin and start, read when the snapshot was made; its label's age is the reader's.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub origin: crate::store::Origin,
    pub started: String,
}

impl Pulled {
    /// `CI · main · 3h ago` at `now`.
    pub fn label(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        self.origin.label(&self.started, now)
    }
}

/// What the lazy parts of a snapshot are computed with: the host's source, feeds, mapping cache, counters.
#[derive(Clone)]
struct Lazy {
    source: Arc<dyn Source>,
    feeds: Feeds,
    mappings: Arc<Mutex<MappingCache>>,
    counters: Arc<Counters>,
    log_lines: Arc<LineCache>,
}

impl std::fmt::Debug for Lazy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lazy")
    }
}

impl Snapshot {
    /// The buffer's text this snapshot analysed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 0-based line of byte `offset` of the build log at `log` (where a failure's diagnostic points:
    /// counted once per (log, offset) for the host's life, read when first asked).
    pub fn log_line(&self, log: &Path, offset: u64) -> Option<u32> {
        self.lazy.log_lines.line(log, offset)
    }

    /// The text of 0-based line `line` of the buffer, without its line ending; `None` past the end.
    pub fn line(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line)?;
        let end = self.line_starts.get(line.saturating_add(1)).map_or(self.text.len(), |&next| next.saturating_sub(1));
        let raw = self.text.get(start..end.max(start))?;
        Some(raw.strip_suffix('\r').unwrap_or(raw))
    }

    /// The instructions `buildlens debug` can open a shell before: those whose last recorded run failed
    /// (first lines, 1-based). The editor's lens and code action, and the command, start from these.
    pub fn debug_targets(&self) -> impl Iterator<Item = &InstructionView> {
        debug_targets(&self.annotated)
    }

    /// What the buffer's edits will rebuild, against the newest recorded build of this Dockerfile, and the
    /// COPY/ADD steps whose files changed on disk since (the context feed's last walk, never one now).
    /// Computed once, when first asked (blocking: may read the store).
    pub fn prediction(&self) -> Arc<Prediction> {
        self.prediction
            .get_or_init(|| {
                self.lazy.counters.predictions.fetch_add(1, Ordering::Relaxed);
                Arc::new(self.predict())
            })
            .clone()
    }

    /// The newest build of this Dockerfile as a timeline (its critical path and each step's slack), when
    /// any of its steps maps onto today's text. Computed once, when first asked (blocking).
    pub fn timeline(&self) -> Option<Arc<Timeline>> {
        self.timeline
            .get_or_init(|| {
                let settings = &self.settings;
                let last = self.lazy.source.last_build(&settings.store, &settings.root, &self.path)?;
                let t = timeline::of_build(self.text(), &last, &mut MappingCache::default());
                (!t.bars.is_empty()).then(|| Arc::new(t))
            })
            .clone()
    }

    /// `◆ critical path: 8.2s of 12.1s` or `ran in parallel, 2.0s of slack`: where the instruction's last
    /// run stood in the newest build's timeline (`timeline`), when that run is of that build. The hover and
    /// `report` both say it from here.
    pub fn critical_note(&self, view: &InstructionView) -> Option<String> {
        let timeline = self.timeline()?;
        view.last.as_ref().filter(|l| l.build == timeline.build)?;
        crate::picture::critical_note_at(&timeline, view.line)
    }

    fn predict(&self) -> Prediction {
        let (settings, lazy) = (&self.settings, &self.lazy);
        let last = lazy.source.last_build(&settings.store, &settings.root, &self.path);
        let df = crate::dockerfile::parse(self.text());
        let on_disk = lazy.feeds.context.as_ref().zip(last.as_ref());
        let inputs_changed = on_disk.map(|(context, last)| context.changed_lines(&settings.store, &last.id, &df)).unwrap_or_default();
        // The source's cache holds this text's mappings already (`annotate`); else one of the host's own.
        let mut cache = lock(lazy.source.mappings().unwrap_or(&lazy.mappings));
        cache.keep_only(crate::analysis::shapes::df_print(&df));
        predict::predict_with(&df, &self.annotated, last.as_ref(), &inputs_changed, &mut cache)
    }
}

/// Byte offsets of the starts of `text`'s lines.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    starts
}

/// The origins of the pulled builds `annotated` shows (a remote id: its meta.json is read; a local id
/// is known by its form and costs nothing).
fn pulled_origins(store: &Store, annotated: &Annotated) -> HashMap<String, Pulled> {
    let mut out = HashMap::new();
    let runs = annotated.instructions.iter().flat_map(|v| v.history.iter().chain(v.last.as_ref()));
    for run in runs {
        if out.contains_key(&run.build) {
            continue;
        }
        let id = run.build.split('#').next().unwrap_or(&run.build);
        if crate::store::remote::record_dir(store.root(), id).is_none() {
            continue;
        }
        let meta = store.record_unchecked(id).and_then(|r| r.meta().ok());
        if let Some((origin, started)) = meta.and_then(|m| Some((m.origin?, m.started))) {
            out.insert(run.build.clone(), Pulled { origin, started });
        }
    }
    out
}

/// The debug command's paths for the Dockerfile at `path` under `settings`.
fn debug_paths(path: &Path, settings: &Settings) -> DebugPaths {
    let (store, root) = (settings.store.root(), settings.root.as_path());
    let store = if store.is_absolute() { store.to_path_buf() } else { root.join(store) };
    DebugPaths { dockerfile: path.to_path_buf(), store, root: root.to_path_buf() }
}

/// The instructions of `annotated` whose last recorded run failed: where `buildlens debug` opens a shell.
pub fn debug_targets(annotated: &Annotated) -> impl Iterator<Item = &InstructionView> {
    annotated.instructions.iter().filter(|v| v.last.as_ref().is_some_and(|r| r.status == StepStatus::Error))
}

/// What an open document is to the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dockerfile,
    /// A build log (of a record, or matched by `logGlobs`): links to its Dockerfile, its problems.
    Log,
}

/// An open document as the host holds it.
struct Document {
    kind: Kind,
    version: i32,
    text: Arc<str>,
}

/// The mutable side of the workspace's analysis.
pub struct Host {
    source: Arc<dyn Source>,
    feeds: Feeds,
    settings: Mutex<Option<Settings>>,
    documents: Mutex<HashMap<PathBuf, Document>>,
    snapshots: Mutex<HashMap<PathBuf, Arc<Snapshot>>>,
    logs: Mutex<HashMap<PathBuf, Arc<LogSnapshot>>>,
    /// One analysis at a time per document: a request that arrives while the same snapshot is being
    /// computed (the codeLens and the diagnostics after an edit) waits for it instead of computing it too.
    computing: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
    /// The prediction's mappings of the last build (by build shape and what they read of the text).
    mappings: Arc<Mutex<MappingCache>>,
    counters: Arc<Counters>,
    /// Log lines of failures' offsets, shared by every snapshot.
    log_lines: Arc<LineCache>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Host {
    /// A host over `source`, fed `feeds` (installed into the source too: their epochs are part of its
    /// generation), counting into `counters`.
    pub fn new(source: Arc<dyn Source>, feeds: Feeds, counters: Arc<Counters>) -> Host {
        source.feed(feeds.clone());
        Host {
            source,
            feeds,
            settings: Mutex::default(),
            documents: Mutex::default(),
            snapshots: Mutex::default(),
            logs: Mutex::default(),
            computing: Mutex::default(),
            mappings: Arc::default(),
            log_lines: Arc::default(),
            counters,
        }
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The settings every snapshot from now on is analysed with; snapshots of other settings are dropped.
    pub fn set_settings(&self, settings: Settings) {
        let mut held = lock(&self.settings);
        if held.as_ref().is_some_and(|h| h.same_as(&settings)) {
            return;
        }
        *held = Some(settings);
        lock(&self.snapshots).clear();
        lock(&self.logs).clear();
    }

    /// The settings the host analyses with (`None` before the first `set_settings`).
    pub fn settings(&self) -> Option<Settings> {
        lock(&self.settings).clone()
    }

    /// The Dockerfile at `path` is open with `text` at `version` (opened or edited): the text is shared,
    /// nothing is computed until a snapshot is asked for.
    pub fn open(&self, path: &Path, version: i32, text: &Arc<str>) {
        self.open_as(Kind::Dockerfile, path, version, text);
    }

    /// The document at `path` is open as `kind` with `text` at `version`.
    pub fn open_as(&self, kind: Kind, path: &Path, version: i32, text: &Arc<str>) {
        let mut documents = lock(&self.documents);
        if documents.get(path).is_some_and(|d| d.kind == kind && d.version == version && Arc::ptr_eq(&d.text, text)) {
            return;
        }
        documents.insert(path.to_path_buf(), Document { kind, version, text: text.clone() });
    }

    /// The document at `path` closed (or too large to keep): forgets it and its snapshot.
    pub fn close(&self, path: &Path) {
        lock(&self.documents).remove(path);
        lock(&self.snapshots).remove(path);
        lock(&self.logs).remove(path);
        lock(&self.computing).remove(path);
    }

    /// The version and text the host holds of the document at `path`, when it is open as `kind`.
    fn document(&self, path: &Path, kind: Kind) -> Option<(i32, Arc<str>)> {
        lock(&self.documents).get(path).filter(|d| d.kind == kind).map(|d| (d.version, d.text.clone()))
    }

    /// The snapshot of the open Dockerfile at `path`, computed (blocking: reads the store) when the buffer,
    /// the store or the settings changed since the last one; `None` when it is not open (or open as a log)
    /// or no settings were given. It is kept for the next request only while the document is still at
    /// that version.
    pub fn snapshot(&self, path: &Path) -> Option<Arc<Snapshot>> {
        let settings = self.settings()?;
        let (version, text) = self.document(path, Kind::Dockerfile)?;
        let generation = self.source.refresh(&settings.store, &|_| {});
        let matches = |s: &&Arc<Snapshot>| s.version == version && s.generation == generation && s.settings.same_as(&settings);
        let kept = || lock(&self.snapshots).get(path).filter(matches).cloned();
        self.once_per_path(path, kept, || self.compute_snapshot(path, settings.clone(), version, generation, text.clone()))
    }

    /// `kept()`, else `compute()` while no other request computes for `path` (one that arrives meanwhile
    /// waits for it, then finds its result kept).
    fn once_per_path<T>(&self, path: &Path, kept: impl Fn() -> Option<T>, compute: impl FnOnce() -> Option<T>) -> Option<T> {
        if let Some(hit) = kept() {
            return Some(hit);
        }
        let turn = lock(&self.computing).entry(path.to_path_buf()).or_default().clone();
        let _turn = lock(&turn);
        kept().or_else(compute)
    }

    fn compute_snapshot(&self, path: &Path, settings: Settings, version: i32, generation: u64, text: Arc<str>) -> Option<Arc<Snapshot>> {
        self.counters.snapshots.fetch_add(1, Ordering::Relaxed);
        let (store, root, depth) = (&settings.store, &settings.root, settings.history_depth);
        let mut annotated = self.source.annotate(store, root, path, &text, depth);
        let expensive_ms = settings.expensive_seconds.saturating_mul(1000);
        annotated.explain = self.source.explain(store, root, path, &text, depth, expensive_ms);
        let lazy = Lazy {
            source: self.source.clone(),
            feeds: self.feeds.clone(),
            mappings: self.mappings.clone(),
            counters: self.counters.clone(),
            log_lines: self.log_lines.clone(),
        };
        let snapshot = Arc::new(Snapshot {
            path: path.to_path_buf(),
            version,
            generation,
            debug: debug_paths(path, &settings),
            pulled: pulled_origins(store, &annotated),
            settings,
            annotated: Arc::new(annotated),
            line_starts: line_starts(&text),
            text,
            prediction: OnceLock::new(),
            timeline: OnceLock::new(),
            lazy,
        });
        if self.document(path, Kind::Dockerfile).is_some_and(|(v, _)| v == version) {
            lock(&self.snapshots).insert(path.to_path_buf(), snapshot.clone());
        }
        Some(snapshot)
    }

    /// The kept snapshot of `path` at `version` when it is current without indexing (never blocks):
    /// `None` means "call `snapshot`".
    pub fn current(&self, path: &Path, version: i32) -> Option<Arc<Snapshot>> {
        let kept = lock(&self.snapshots).get(path).cloned().filter(|s| s.version == version)?;
        (self.source.current_generation(&kept.settings.store) == Some(kept.generation)).then_some(kept)
    }

    /// The snapshot of the open log at `path`: its Dockerfile, links and problems, computed when the log,
    /// its linked Dockerfile (buffer or file) or the settings changed since the last one (blocking: reads
    /// the record's meta and the Dockerfile). `None` when it is not open as a log or no settings were given.
    pub fn log_snapshot(&self, path: &Path) -> Option<Arc<LogSnapshot>> {
        let settings = self.settings()?;
        let (version, text) = self.document(path, Kind::Log)?;
        let open = |df: &Path| self.document(df, Kind::Dockerfile);
        let (key, buffer) = log_snapshot::key_of(path, version, &text, &settings.root, &settings.store, open);
        let kept = || lock(&self.logs).get(path).filter(|s| s.key == key && Arc::ptr_eq(&s.text, &text)).cloned();
        self.once_per_path(path, kept, || {
            self.counters.log_snapshots.fetch_add(1, Ordering::Relaxed);
            // The problems depend on the log's text only: an edit of the Dockerfile keeps them.
            let same_text = lock(&self.logs).get(path).filter(|s| Arc::ptr_eq(&s.text, &text)).map(|s| s.problems.clone());
            let snapshot = Arc::new(log_snapshot::compute(path, text.clone(), key.clone(), buffer, same_text));
            if self.document(path, Kind::Log).is_some_and(|(v, t)| v == version && Arc::ptr_eq(&t, &text)) {
                lock(&self.logs).insert(path.to_path_buf(), snapshot.clone());
            }
            Some(snapshot)
        })
    }

    /// `snapshot.prediction()` (once per snapshot; lenses, hints and hovers share it).
    pub fn prediction(&self, snapshot: &Snapshot) -> Arc<Prediction> {
        snapshot.prediction()
    }

    /// `snapshot.timeline()` (once per snapshot, when first asked).
    pub fn timeline(&self, snapshot: &Snapshot) -> Option<Arc<Timeline>> {
        snapshot.timeline()
    }

    /// `snapshot.critical_note(view)`: the hover and `report` both say it from there.
    pub fn critical_note(&self, snapshot: &Snapshot, view: &InstructionView) -> Option<String> {
        snapshot.critical_note(view)
    }
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;

//! The host and its snapshots. The host holds the mutable side (the `Source` of records, the live
//! `Feeds`, the settings, the open documents and their snapshots); a `Snapshot` is immutable and computed
//! once per (document version, store generation, settings): annotation, explain's causes, the debug
//! targets, and the prediction and timeline (lazily, at most once). `Counters` say how often each was
//! computed (the "a request reaches the analysis once" test).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

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
    text: Arc<str>,
    prediction: OnceLock<Arc<Prediction>>,
    timeline: OnceLock<Option<Arc<Timeline>>>,
}

impl Snapshot {
    /// The buffer's text this snapshot analysed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The instructions `buildlens debug` can open a shell before: those whose last recorded run failed
    /// (first lines, 1-based). The editor's lens and code action, and the command, start from these.
    pub fn debug_targets(&self) -> impl Iterator<Item = &InstructionView> {
        debug_targets(&self.annotated)
    }
}

/// The instructions of `annotated` whose last recorded run failed: where `buildlens debug` opens a shell.
pub fn debug_targets(annotated: &Annotated) -> impl Iterator<Item = &InstructionView> {
    annotated.instructions.iter().filter(|v| v.last.as_ref().is_some_and(|r| r.status == StepStatus::Error))
}

/// An open document as the host holds it.
struct Document {
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
    /// One analysis at a time per document: a request that arrives while the same snapshot is being
    /// computed (the codeLens and the diagnostics after an edit) waits for it instead of computing it too.
    computing: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
    /// The prediction's mappings of the last build (by build shape and what they read of the text).
    mappings: Mutex<MappingCache>,
    counters: Arc<Counters>,
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
            computing: Mutex::default(),
            mappings: Mutex::default(),
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
    }

    /// The settings the host analyses with (`None` before the first `set_settings`).
    pub fn settings(&self) -> Option<Settings> {
        lock(&self.settings).clone()
    }

    /// The Dockerfile at `path` is open with `text` at `version` (opened or edited).
    pub fn open(&self, path: &Path, version: i32, text: &Arc<str>) {
        let mut documents = lock(&self.documents);
        if documents.get(path).is_some_and(|d| d.version == version && Arc::ptr_eq(&d.text, text)) {
            return;
        }
        documents.insert(path.to_path_buf(), Document { version, text: text.clone() });
    }

    /// The document at `path` closed (or too large to keep): forgets it and its snapshot.
    pub fn close(&self, path: &Path) {
        lock(&self.documents).remove(path);
        lock(&self.snapshots).remove(path);
        lock(&self.computing).remove(path);
    }

    /// The version the host holds of the document at `path`.
    fn version(&self, path: &Path) -> Option<i32> {
        lock(&self.documents).get(path).map(|d| d.version)
    }

    /// The snapshot of the open Dockerfile at `path`, computed (blocking: reads the store) when the buffer,
    /// the store or the settings changed since the last one; `None` when it is not open or no settings
    /// were given. It is kept for the next request only while the document is still at that version.
    pub fn snapshot(&self, path: &Path) -> Option<Arc<Snapshot>> {
        let settings = self.settings()?;
        let (version, text) = lock(&self.documents).get(path).map(|d| (d.version, d.text.clone()))?;
        let generation = self.source.refresh(&settings.store, &|_| {});
        let matches = |s: &&Arc<Snapshot>| s.version == version && s.generation == generation && s.settings.same_as(&settings);
        let kept = || lock(&self.snapshots).get(path).filter(matches).cloned();
        if let Some(hit) = kept() {
            return Some(hit);
        }
        let turn = lock(&self.computing).entry(path.to_path_buf()).or_default().clone();
        let _turn = lock(&turn);
        if let Some(hit) = kept() {
            return Some(hit);
        }
        self.counters.snapshots.fetch_add(1, Ordering::Relaxed);
        let (store, root, depth) = (&settings.store, &settings.root, settings.history_depth);
        let mut annotated = self.source.annotate(store, root, path, &text, depth);
        let expensive_ms = settings.expensive_seconds.saturating_mul(1000);
        annotated.explain = self.source.explain(store, root, path, &text, depth, expensive_ms);
        let snapshot = Arc::new(Snapshot {
            path: path.to_path_buf(),
            version,
            generation,
            settings,
            annotated: Arc::new(annotated),
            text,
            prediction: OnceLock::new(),
            timeline: OnceLock::new(),
        });
        if self.version(path) == Some(version) {
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

    /// What the buffer's edits will rebuild, against the newest recorded build of this Dockerfile, and the
    /// COPY/ADD steps whose files changed on disk since (the context feed's last walk, never one now).
    /// Computed once per snapshot.
    pub fn prediction(&self, snapshot: &Snapshot) -> Arc<Prediction> {
        snapshot
            .prediction
            .get_or_init(|| {
                self.counters.predictions.fetch_add(1, Ordering::Relaxed);
                Arc::new(self.predict(snapshot))
            })
            .clone()
    }

    /// The newest build of this Dockerfile as a timeline (its critical path and each step's slack), when
    /// any of its steps maps onto today's text. Computed once per snapshot, when first asked.
    pub fn timeline(&self, snapshot: &Snapshot) -> Option<Arc<Timeline>> {
        snapshot
            .timeline
            .get_or_init(|| {
                let settings = &snapshot.settings;
                let last = self.source.last_build(&settings.store, &settings.root, &snapshot.path)?;
                let t = timeline::of_build(snapshot.text(), &last, &mut MappingCache::default());
                (!t.bars.is_empty()).then(|| Arc::new(t))
            })
            .clone()
    }

    /// `◆ critical path: 8.2s of 12.1s` or `ran in parallel, 2.0s of slack`: where the instruction's last
    /// run stood in the newest build's timeline (`timeline`), when that run is of that build. The hover and
    /// `report` both say it from here.
    pub fn critical_note(&self, snapshot: &Snapshot, view: &InstructionView) -> Option<String> {
        let timeline = self.timeline(snapshot)?;
        view.last.as_ref().filter(|l| l.build == timeline.build)?;
        crate::picture::critical_note_at(&timeline, view.line)
    }

    fn predict(&self, snapshot: &Snapshot) -> Prediction {
        let settings = &snapshot.settings;
        let last = self.source.last_build(&settings.store, &settings.root, &snapshot.path);
        let df = crate::dockerfile::parse(snapshot.text());
        let on_disk = self.feeds.context.as_ref().zip(last.as_ref());
        let inputs_changed = on_disk.map(|(context, last)| context.changed_lines(&settings.store, &last.id, &df)).unwrap_or_default();
        // The source's cache holds this text's mappings already (`annotate`); else one of the host's own.
        let mut cache = lock(self.source.mappings().unwrap_or(&self.mappings));
        cache.keep_only(crate::analysis::shapes::df_print(&df));
        predict::predict_with(&df, &snapshot.annotated, last.as_ref(), &inputs_changed, &mut cache)
    }
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;

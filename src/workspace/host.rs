//! The host and its snapshots. The host holds the mutable side (the `Source` of records, the live
//! `Feeds`, the snapshots of the open documents); a `Snapshot` is immutable and computed once per
//! (document version, store generation): annotation, explain's causes, and the prediction (lazily, at
//! most once). `Counters` say how often each was computed (the "a request reaches the analysis once" test).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::source::{Feeds, Source};
use crate::analysis::predict::{self, Prediction};
use crate::analysis::timeline::{self, Timeline};
use crate::analysis::{Annotated, MappingCache};
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
}

/// The mutable side of the workspace's analysis.
pub struct Host {
    source: Arc<dyn Source>,
    feeds: Feeds,
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
        Host { source, feeds, snapshots: Mutex::default(), computing: Mutex::default(), mappings: Mutex::default(), counters }
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        &self.source
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The snapshot of the Dockerfile at `path` (buffer `text` at `version`), computed (blocking: reads the
    /// store) when the buffer or the store changed since the last one. It is kept for the next request
    /// only while `still_current` says the document is still at that version.
    pub fn snapshot(
        &self,
        settings: &Settings,
        path: &Path,
        version: i32,
        text: &Arc<str>,
        still_current: &dyn Fn() -> bool,
    ) -> Arc<Snapshot> {
        let generation = self.source.refresh(&settings.store, &|_| {});
        let kept = || lock(&self.snapshots).get(path).filter(|s| s.version == version && s.generation == generation).cloned();
        if let Some(hit) = kept() {
            return hit;
        }
        let turn = lock(&self.computing).entry(path.to_path_buf()).or_default().clone();
        let _turn = lock(&turn);
        if let Some(hit) = kept() {
            return hit;
        }
        self.counters.snapshots.fetch_add(1, Ordering::Relaxed);
        let (store, root, depth) = (&settings.store, &settings.root, settings.history_depth);
        let mut annotated = self.source.annotate(store, root, path, text, depth);
        let expensive_ms = settings.expensive_seconds.saturating_mul(1000);
        annotated.explain = self.source.explain(store, root, path, text, depth, expensive_ms);
        let snapshot = Arc::new(Snapshot {
            path: path.to_path_buf(),
            version,
            generation,
            annotated: Arc::new(annotated),
            text: text.clone(),
            prediction: OnceLock::new(),
            timeline: OnceLock::new(),
        });
        if still_current() {
            lock(&self.snapshots).insert(path.to_path_buf(), snapshot.clone());
        }
        snapshot
    }

    /// The kept snapshot of `path` at `version` when it is current without indexing (never blocks):
    /// `None` means "call `snapshot`".
    pub fn current(&self, store: &Store, path: &Path, version: i32) -> Option<Arc<Snapshot>> {
        let kept = lock(&self.snapshots).get(path).cloned().filter(|s| s.version == version)?;
        (self.source.current_generation(store) == Some(kept.generation)).then_some(kept)
    }

    /// Forgets the snapshot of a closed (or too large) document.
    pub fn forget(&self, path: &Path) {
        lock(&self.snapshots).remove(path);
        lock(&self.computing).remove(path);
    }

    /// What the buffer's edits will rebuild, against the newest recorded build of this Dockerfile, and the
    /// COPY/ADD steps whose files changed on disk since (the context feed's last walk, never one now).
    /// Computed once per snapshot.
    pub fn prediction(&self, settings: &Settings, snapshot: &Snapshot) -> Arc<Prediction> {
        snapshot
            .prediction
            .get_or_init(|| {
                self.counters.predictions.fetch_add(1, Ordering::Relaxed);
                Arc::new(self.predict(settings, snapshot))
            })
            .clone()
    }

    /// The newest build of this Dockerfile as a timeline (its critical path and each step's slack), when
    /// any of its steps maps onto today's text. Computed once per snapshot, when first asked.
    pub fn timeline(&self, settings: &Settings, snapshot: &Snapshot) -> Option<Arc<Timeline>> {
        snapshot
            .timeline
            .get_or_init(|| {
                let last = self.source.last_build(&settings.store, &settings.root, &snapshot.path)?;
                let t = timeline::of_build(snapshot.text(), &last, &mut MappingCache::default());
                (!t.bars.is_empty()).then(|| Arc::new(t))
            })
            .clone()
    }

    fn predict(&self, settings: &Settings, snapshot: &Snapshot) -> Prediction {
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

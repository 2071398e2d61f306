//! The build context as it is on disk now, against the manifest the Dockerfile's last recorded build kept
//! (`inputs.json`): which COPY/ADD steps will rebuild because their files changed (`predict`'s
//! `inputs_changed`). The context is walked (`record::inputs::take`: `.dockerignore`, 20,000 files, 3 s)
//! on the blocking pool, never on a request path; a request uses the last walk, or nothing yet.
//!
//! When to walk: the first time a last build is looked at (and again for a newer record), and after a
//! `didSave` of any document; never more often than once per [`MIN_INTERVAL`] (saves meanwhile fold into
//! one walk after it). Watching the whole context would be too broad for large trees. A walk that finds
//! another manifest moves `epoch` (part of the store generation, as `engine_sizes` does), so every
//! analysis and rendering keyed on it goes stale, and capable clients are asked to refresh.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tower_lsp_server::Client;

use super::refresh;
use super::state::Shared;
use crate::analysis::inputs::{self, Inputs};
use crate::dockerfile::Dockerfile;
use crate::store::{select, Store};

/// The shortest time between the starts of two walks.
pub const MIN_INTERVAL: Duration = Duration::from_secs(2);

/// The server's view of the last build's context (one per `StoreSource`).
#[derive(Default)]
pub struct ContextInputs {
    inner: Mutex<Inner>,
    /// Moves when a walk found a manifest other than the one before.
    epoch: AtomicU64,
    /// Wakes the refresher (`spawn_refresher`).
    wake: tokio::sync::Notify,
}

#[derive(Default)]
struct Inner {
    target: Option<Target>,
    walking: bool,
    /// A walk was asked for while one ran.
    again: bool,
    last_start: Option<Instant>,
}

/// The record whose context is compared, what it recorded, and the last walk of its context.
struct Target {
    record: String,
    /// The context folder and the recorded inputs; `None`: the record has no manifest (or no context).
    recorded: Option<(PathBuf, Arc<Inputs>)>,
    now: Option<Arc<Inputs>>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ContextInputs {
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The 1-based lines of the COPY/ADD instructions of `df` whose files changed on disk since the build
    /// `build_id` (a record id, `#n` for one of several builds in its log). Reads the record's
    /// `inputs.json` once per record; walks the context in the background, so the first answer for a
    /// record is empty.
    pub fn changed_lines(self: &Arc<Self>, store: &Store, build_id: &str, df: &Dockerfile) -> BTreeSet<u32> {
        let record = build_id.split('#').next().unwrap_or(build_id);
        {
            let inner = lock(&self.inner);
            if let Some(t) = inner.target.as_ref().filter(|t| t.record == record) {
                return match (&t.recorded, &t.now) {
                    (Some((_, recorded)), Some(now)) => inputs::changed_copies(df, recorded, now),
                    _ => BTreeSet::new(),
                };
            }
        }
        let recorded = recorded(store, record);
        let walk = recorded.is_some();
        lock(&self.inner).target = Some(Target { record: record.to_string(), recorded, now: None });
        if walk {
            self.rewalk();
        }
        BTreeSet::new()
    }

    /// Walks the context again (a document was saved), unless nothing is compared yet.
    pub fn rewalk(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        {
            let mut inner = lock(&self.inner);
            if inner.target.as_ref().and_then(|t| t.recorded.as_ref()).is_none() {
                return;
            }
            if inner.walking {
                inner.again = true;
                return;
            }
            inner.walking = true;
        }
        let this = self.clone();
        runtime.spawn(async move { this.run().await });
    }

    /// Walks until no walk was asked for meanwhile, each at least [`MIN_INTERVAL`] after the last.
    async fn run(self: Arc<Self>) {
        loop {
            let (context, at) = {
                let mut inner = lock(&self.inner);
                inner.again = false;
                let context = inner.target.as_ref().and_then(|t| t.recorded.as_ref()).map(|(c, _)| c.clone());
                let Some(context) = context else {
                    inner.walking = false;
                    return;
                };
                (context, inner.last_start.map(|t| t + MIN_INTERVAL))
            };
            if let Some(at) = at {
                tokio::time::sleep_until(at.into()).await;
            }
            lock(&self.inner).last_start = Some(Instant::now());
            let walked = context.clone();
            let Ok(now) = tokio::task::spawn_blocking(move || crate::record::inputs::take(None, Some(&walked))).await else {
                lock(&self.inner).walking = false;
                return;
            };
            if self.settle(&context, now) {
                self.epoch.fetch_add(1, Ordering::AcqRel);
                self.wake.notify_one();
            }
            let mut inner = lock(&self.inner);
            if !inner.again {
                inner.walking = false;
                return;
            }
        }
    }

    /// Keeps a walk of `context` (unless the target moved meanwhile). True: the manifest is another one.
    fn settle(&self, context: &PathBuf, now: Inputs) -> bool {
        let mut inner = lock(&self.inner);
        let Some(t) = inner.target.as_mut().filter(|t| t.recorded.as_ref().is_some_and(|(c, _)| c == context)) else { return false };
        let other = t.now.as_deref() != Some(&now);
        t.now = Some(Arc::new(now));
        other
    }
}

/// The context folder and `inputs.json` of `record`, when it kept a manifest.
fn recorded(store: &Store, record: &str) -> Option<(PathBuf, Arc<Inputs>)> {
    let record = store.record(record)?;
    let inputs = record.inputs().filter(|i| i.manifest.is_some())?;
    let context = select::resolve(store, &record.meta().ok()?.context?);
    Some((context, Arc::new(inputs)))
}

/// Walks again after a save of any document.
pub fn saved(shared: &Shared) {
    if let Some(context) = shared.source.context_inputs() {
        context.rewalk();
    }
}

/// For the session: asks capable clients to refresh lenses and hints when a walk found changes.
pub fn spawn_refresher(client: Client, shared: Arc<Shared>) {
    let Some(context) = shared.source.context_inputs() else { return };
    tokio::spawn(async move {
        loop {
            context.wake.notified().await;
            let support = shared.lock().support;
            refresh::lenses_and_hints(&client, support);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_record_without_a_manifest_is_not_walked() {
        let dir = tempfile::tempdir().unwrap();
        let context = Arc::new(ContextInputs::default());
        let store = Store::at(dir.path());
        let df = crate::dockerfile::parse("FROM a\nCOPY . .\n");
        assert!(context.changed_lines(&store, "20260101T000000.000Z-0000", &df).is_empty());
        context.rewalk();
        let inner = lock(&context.inner);
        assert!(!inner.walking && inner.target.as_ref().is_some_and(|t| t.recorded.is_none()));
    }
}

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

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tower_lsp_server::Client;

use crate::analysis::inputs::{self, Inputs};
use crate::analysis::predict::ChangedInputs;
use crate::dockerfile::Dockerfile;
use crate::lsp::config::ClientSupport;
use crate::lsp::refresh;
use crate::store::{select, Store};
use crate::workspace::ContextFeed;

/// The shortest time between the starts of two walks of one context.
pub const MIN_INTERVAL: Duration = Duration::from_secs(2);
/// Records whose comparison is kept (one per open Dockerfile, in practice): several Dockerfiles open at
/// once must not take turns walking and refreshing each other.
const KEPT: usize = 8;

/// The server's view of the last build's context (one per server, fed to its workspace host).
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
    /// Least recently used first.
    targets: Vec<Target>,
}

/// A record whose context is compared, what it recorded, and the last walk of its context.
struct Target {
    record: String,
    /// The context folder and the recorded inputs (with a manifest).
    recorded: (PathBuf, Arc<Inputs>),
    now: Option<Arc<Inputs>>,
    walking: bool,
    /// A walk was asked for while one ran.
    again: bool,
    last_start: Option<Instant>,
}

impl Inner {
    fn target(&mut self, record: &str) -> Option<&mut Target> {
        self.targets.iter_mut().find(|t| t.record == record)
    }
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ContextInputs {
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The COPY/ADD instructions of `df` (1-based lines) whose files changed on disk since the build
    /// `build_id` (a record id, `#n` for one of several builds in its log). Reads the record's
    /// `inputs.json` once per record that has one; walks the context in the background, so the first
    /// answer for a record is empty.
    pub fn changed_lines(self: &Arc<Self>, store: &Store, build_id: &str, df: &Dockerfile) -> ChangedInputs {
        let record = build_id.split('#').next().unwrap_or(build_id);
        {
            let mut inner = lock(&self.inner);
            if let Some(i) = inner.targets.iter().position(|t| t.record == record) {
                let t = inner.targets.remove(i);
                let lines = t.now.as_ref().map(|now| inputs::changed_copies(df, &t.recorded.1, now)).unwrap_or_default();
                inner.targets.push(t);
                return lines;
            }
        }
        // A record without a manifest is not kept: `record` writes `inputs.json` when the build ends, so a
        // build still running may have one later (an absent file is one failed open per rendering).
        let Some(recorded) = recorded(store, record) else { return ChangedInputs::new() };
        {
            let mut inner = lock(&self.inner);
            if inner.target(record).is_none() {
                let t = Target { record: record.to_string(), recorded, now: None, walking: false, again: false, last_start: None };
                inner.targets.push(t);
                let extra = inner.targets.len().saturating_sub(KEPT);
                inner.targets.drain(..extra);
            }
        }
        self.walk(record);
        ChangedInputs::new()
    }

    /// Walks every compared context again (a document was saved).
    pub fn rewalk(self: &Arc<Self>) {
        let records: Vec<String> = lock(&self.inner).targets.iter().map(|t| t.record.clone()).collect();
        for record in records {
            self.walk(&record);
        }
    }

    /// Starts walking the context of `record`'s build, or asks the running walk to go again.
    fn walk(self: &Arc<Self>, record: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        {
            let mut inner = lock(&self.inner);
            let Some(t) = inner.target(record) else { return };
            if t.walking {
                t.again = true;
                return;
            }
            t.walking = true;
        }
        let (this, record) = (self.clone(), record.to_string());
        runtime.spawn(async move { this.run(record).await });
    }

    /// Walks until no walk was asked for meanwhile, each at least [`MIN_INTERVAL`] after the last.
    async fn run(self: Arc<Self>, record: String) {
        loop {
            let (context, at) = {
                let mut inner = lock(&self.inner);
                let Some(t) = inner.target(&record) else { return };
                t.again = false;
                (t.recorded.0.clone(), t.last_start.map(|s| s + MIN_INTERVAL))
            };
            if let Some(at) = at {
                tokio::time::sleep_until(at.into()).await;
            }
            if let Some(t) = lock(&self.inner).target(&record) {
                t.last_start = Some(Instant::now());
            }
            let now = tokio::task::spawn_blocking(move || crate::record::inputs::take(None, Some(&context))).await.ok();
            let mut inner = lock(&self.inner);
            let Some(t) = inner.target(&record) else { return };
            if let Some(now) = now.filter(|now| t.now.as_deref() != Some(now)) {
                t.now = Some(Arc::new(now));
                self.epoch.fetch_add(1, Ordering::AcqRel);
                self.wake.notify_one();
            }
            if !std::mem::take(&mut t.again) {
                t.walking = false;
                return;
            }
        }
    }
}

/// The workspace host's view of the walks: the last one's answer, never a walk now.
pub struct Feed(Arc<ContextInputs>);

impl ContextInputs {
    pub fn feed(self: &Arc<Self>) -> Feed {
        Feed(self.clone())
    }
}

impl ContextFeed for Feed {
    fn epoch(&self) -> u64 {
        self.0.epoch()
    }

    fn changed_lines(&self, store: &Store, build_id: &str, df: &Dockerfile) -> ChangedInputs {
        self.0.changed_lines(store, build_id, df)
    }
}

/// The context folder and `inputs.json` of `record`, when it kept a manifest.
fn recorded(store: &Store, record: &str) -> Option<(PathBuf, Arc<Inputs>)> {
    let record = store.record(record)?;
    let inputs = record.inputs().filter(|i| i.manifest.is_some())?;
    let context = select::resolve(store, &record.meta().ok()?.context?);
    Some((context, Arc::new(inputs)))
}

/// For the session: asks capable clients to refresh lenses and hints when a walk found changes.
pub fn spawn_refresher(client: Client, context: Arc<ContextInputs>, support: impl Fn() -> ClientSupport + Send + 'static) {
    tokio::spawn(async move {
        loop {
            context.wake.notified().await;
            refresh::lenses_and_hints(&client, support());
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
        assert!(inner.targets.is_empty(), "nothing to compare, nothing kept");
    }
}

//! Layer sizes for records without an image-history snapshot, from a live engine query that never runs
//! on a request path. An annotation takes what the engine cache already answered and spawns one query
//! for the rest; when an answer brings sizes, `epoch` moves (it is part of the store generation, so every
//! analysis keyed on it goes stale) and the server asks capable clients to refresh lenses and hints.
//!
//! Failures are cached: per image (the engine cache) and, for an engine that is down or silent, for the
//! whole engine for [`RETRY`], so a dead daemon is asked at most once per [`RETRY`] however fast the user
//! types. Each failure episode is one `window/logMessage` line, never a popup. A new
//! `buildlens.docker.host` forgets the failures and asks again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tower_lsp_server::ls_types::MessageType;
use tower_lsp_server::Client;

use crate::engine::images::{KnownImage, Wanted};
use crate::engine::{self, Cache, Config, EngineError};
use crate::lsp::config::ClientSupport;
use crate::lsp::refresh;
use crate::workspace::EngineFeed;

/// How long an engine that was down or silent is left alone.
pub const RETRY: Duration = Duration::from_secs(30);

/// The server's live engine queries (one per server, fed to its workspace host).
#[derive(Default)]
pub struct EngineSizes {
    cache: Cache,
    inner: Mutex<Inner>,
    /// Moves when an answer brought sizes or the host changed.
    epoch: AtomicU64,
    /// Wakes the refresher (`spawn_refresher`): log lines to send, or sizes arrived.
    wake: tokio::sync::Notify,
}

#[derive(Default)]
struct Inner {
    config: Config,
    /// Images being asked for now.
    asking: HashSet<String>,
    /// The engine was down or silent: no query before then.
    down_until: Option<Instant>,
    /// "down" was logged since the engine last answered (or the host changed).
    down_logged: bool,
    /// Images whose absence was logged.
    missing_logged: HashSet<String>,
    /// Lines for the client's log.
    lines: Vec<String>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl EngineSizes {
    pub fn new() -> EngineSizes {
        EngineSizes { cache: Cache::quiet(), ..EngineSizes::default() }
    }

    /// Changes whenever answers that may add sizes arrived (or the host changed).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The histories already known for `wanted`; the others are asked for in the background (only from
    /// inside a tokio runtime, as the server's request bodies are). Never waits for the engine.
    pub fn known(self: &Arc<Self>, wanted: &[Wanted]) -> Vec<KnownImage> {
        let mut known = Vec::new();
        let mut ask = Vec::new();
        for w in wanted {
            match self.cache.peek(&w.image) {
                Some(Ok(history)) => known.push(KnownImage { build: w.build.clone(), target: w.target.clone(), history, snapshot: false }),
                Some(Err(_)) => {}
                None => ask.push(w.image.clone()),
            }
        }
        self.ask(ask);
        known
    }

    /// Spawns one query for the `images` nobody is asking for yet, unless the engine is resting.
    fn ask(self: &Arc<Self>, images: Vec<String>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (config, images) = {
            let mut inner = lock(&self.inner);
            if images.is_empty() || inner.down_until.is_some_and(|t| Instant::now() < t) {
                return;
            }
            let images: Vec<String> = images.into_iter().filter(|i| inner.asking.insert(i.clone())).collect();
            (inner.config.clone(), images)
        };
        if images.is_empty() {
            return;
        }
        let this = self.clone();
        runtime.spawn(async move { this.query(config, images).await });
    }

    /// Asks for each image in turn; an engine that is down ends the round (one timeout, not one per image).
    async fn query(&self, config: Config, images: Vec<String>) {
        let mut sized = false;
        for image in &images {
            let answer = engine::history(&config, image).await.map(Arc::new);
            let down = matches!(answer, Err(EngineError::Unavailable(_) | EngineError::Timeout(_)));
            sized |= self.settle(&config, image, answer);
            if down {
                break;
            }
        }
        let logged = {
            let mut inner = lock(&self.inner);
            for image in &images {
                inner.asking.remove(image);
            }
            !inner.lines.is_empty()
        };
        if sized {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        if sized || logged {
            self.wake.notify_one();
        }
    }

    /// Caches one answer (unless the host changed meanwhile) and notes what to log. True: sizes arrived.
    fn settle(&self, config: &Config, image: &str, answer: Result<Arc<crate::analysis::layers::ImageHistory>, EngineError>) -> bool {
        let mut inner = lock(&self.inner);
        if inner.config != *config {
            return false;
        }
        let host = config.resolved_host();
        match &answer {
            Ok(_) => {
                inner.down_until = None;
                inner.down_logged = false;
            }
            Err(e @ (EngineError::Unavailable(_) | EngineError::Timeout(_))) => {
                inner.down_until = Some(Instant::now() + RETRY);
                if !std::mem::replace(&mut inner.down_logged, true) {
                    inner.lines.push(format!("buildlens: no layer sizes from the Docker engine at {host}: {e}"));
                }
            }
            Err(e) => {
                if inner.missing_logged.insert(image.to_string()) {
                    inner.lines.push(format!("buildlens: no layer sizes for {image}: {e}"));
                }
            }
        }
        let sized = answer.is_ok();
        self.cache.put(image, answer);
        sized
    }

    /// Applies `buildlens.docker.host` (`None` or empty: `$DOCKER_HOST`, else the default socket). A new
    /// address forgets failures and moves the epoch, so the next analyses ask again. True when it changed.
    pub fn set_host(&self, host: Option<String>) -> bool {
        let host = host.filter(|h| !h.trim().is_empty());
        let mut inner = lock(&self.inner);
        if inner.config.host == host {
            return false;
        }
        inner.config.host = host;
        inner.down_until = None;
        inner.down_logged = false;
        inner.missing_logged.clear();
        self.cache.forget_transient();
        drop(inner);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        true
    }

    fn take_lines(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.inner).lines)
    }
}

/// The workspace host's view of the queries: what is known, the rest asked for in the background.
pub struct Feed(Arc<EngineSizes>);

impl EngineSizes {
    pub fn feed(self: &Arc<Self>) -> Feed {
        Feed(self.clone())
    }
}

impl EngineFeed for Feed {
    fn epoch(&self) -> u64 {
        self.0.epoch()
    }

    fn known(&self, wanted: &[Wanted]) -> Vec<KnownImage> {
        self.0.known(wanted)
    }
}

/// For the session: sends the engine's log lines (`window/logMessage`) and, when sizes arrived, asks the
/// client to refresh lenses and hints (only where it advertised support).
pub fn spawn_refresher(client: Client, sizes: Arc<EngineSizes>, support: impl Fn() -> ClientSupport + Send + 'static) {
    tokio::spawn(async move {
        let mut seen = sizes.epoch();
        loop {
            sizes.wake.notified().await;
            for line in sizes.take_lines() {
                client.log_message(MessageType::WARNING, line).await;
            }
            let epoch = sizes.epoch();
            if epoch != seen {
                seen = epoch;
                refresh::lenses_and_hints(&client, support());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(image: &str) -> Wanted {
        Wanted { build: "b1".into(), target: None, image: image.into() }
    }

    #[test]
    fn outside_a_runtime_nothing_is_asked() {
        let sizes = Arc::new(EngineSizes::new());
        assert!(sizes.known(&[wanted("sha256:aa")]).is_empty());
        assert!(lock(&sizes.inner).asking.is_empty());
    }

    #[tokio::test]
    async fn a_dead_engine_is_asked_once_and_logged_once() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = Arc::new(EngineSizes::new());
        assert!(sizes.set_host(Some(format!("unix://{}", dir.path().join("none.sock").display()))));
        let before = sizes.epoch();
        for _ in 0..3 {
            assert!(sizes.known(&[wanted("sha256:aa"), wanted("sha256:bb")]).is_empty());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !lock(&sizes.inner).asking.is_empty() {
            assert!(Instant::now() < deadline, "the query did not end");
            tokio::task::yield_now().await;
        }
        // Asked again at once: the engine rests, nothing is spawned, nothing more is logged.
        assert!(sizes.known(&[wanted("sha256:bb")]).is_empty());
        assert!(lock(&sizes.inner).asking.is_empty());
        let lines = sizes.take_lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("none.sock"), "{lines:?}");
        assert_eq!(sizes.epoch(), before, "no sizes arrived");
        // Another host: failures forgotten, the epoch moves so analyses are made (and asked) again.
        assert!(sizes.set_host(None));
        assert!(!sizes.set_host(Some(" ".into())), "blank is the default");
        assert!(sizes.epoch() > before);
        assert!(lock(&sizes.inner).down_until.is_none());
    }
}

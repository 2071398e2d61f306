//! The server's state behind one `std::sync::Mutex` (never held across an `.await`), and the workspace
//! host whose snapshot of each open Dockerfile (per document version and store generation) or open log
//! every request reads. The host gets the documents from the notifications (`sync`), never per request.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tower_lsp_server::ls_types::Uri;

use crate::lsp::config::{ClientSupport, Settings};
use crate::lsp::documents::{Documents, Kind};
use crate::lsp::protocol::encoding::Encoding;
use crate::lsp::protocol::transport::Session;
use crate::lsp::render::rendered::Renders;
use crate::lsp::sources::context_inputs::ContextInputs;
use crate::lsp::sources::engine_sizes::EngineSizes;
use crate::lsp::sources::remote_pull::RemotePull;
use crate::lsp::sources::watching::Watching;
use crate::store::{self, Store};
use crate::workspace::log_globs::glob_match;
use crate::workspace::{self, Host, LogSnapshot, Snapshot, Source};

#[derive(Debug, Default)]
pub struct State {
    pub docs: Documents,
    pub enc: Encoding,
    pub support: ClientSupport,
    pub settings: Settings,
    /// Workspace root: the first workspace folder, else the server's working folder.
    pub root: PathBuf,
    /// Lenses, hints and hovers rendered from the snapshots (`rendered`).
    pub renders: Renders,
}

impl State {
    pub fn store(&self) -> Store {
        Store::locate(self.settings.store_path.as_deref(), &self.root)
    }

    /// A build log (a `build.log` of a record, or a file matching `buildlens.logGlobs`) or a Dockerfile.
    pub fn kind_of(&self, uri: &Uri) -> Kind {
        let Some(path) = uri.to_file_path() else { return Kind::Dockerfile };
        let in_store = path.file_name().is_some_and(|n| n == store::LOG_FILE)
            && path.parent().is_some_and(|dir| dir.join(store::META_FILE).is_file() || dir.starts_with(self.store().root()));
        let relative = path.strip_prefix(&self.root).unwrap_or(&path);
        let globbed = self.settings.log_globs.iter().any(|g| glob_match(g, relative) || glob_match(g, &path));
        if in_store || globbed {
            Kind::BuildLog
        } else {
            Kind::Dockerfile
        }
    }

    /// What the workspace's analysis depends on besides the buffer.
    pub fn analysis_settings(&self) -> workspace::Settings {
        workspace::Settings {
            store: self.store(),
            root: self.root.clone(),
            history_depth: self.settings.history_depth,
            expensive_seconds: self.settings.explain.expensive_seconds,
        }
    }
}

/// The server's clock (tests pin it so "2h ago" is deterministic).
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// State plus the parts that never change after start-up.
pub struct Shared {
    state: Mutex<State>,
    /// Wakes the re-indexing worker (`watch`): records changed.
    pub wake: tokio::sync::Notify,
    pub watching: Mutex<Watching>,
    /// The workspace's analysis (its source, its live feeds, the snapshots of the open Dockerfiles).
    pub host: Host,
    /// The live sources feeding the host (`engine_sizes`, `context_inputs`).
    pub live: Live,
    pub clock: Clock,
    /// The transport's view of the session (its frame and document caps follow the settings).
    pub session: Arc<Session>,
}

/// The live sources the server runs for the host.
pub struct Live {
    pub engine: Arc<EngineSizes>,
    pub context: Arc<ContextInputs>,
    pub remote: RemotePull,
}

impl Shared {
    pub fn new(source: Arc<dyn Source>, counters: Arc<workspace::Counters>, clock: Clock, session: Arc<Session>) -> Shared {
        let (wake, watching) = (tokio::sync::Notify::new(), Mutex::default());
        let live = Live { engine: Arc::new(EngineSizes::new()), context: Arc::default(), remote: RemotePull::default() };
        let feeds = workspace::Feeds { engine: Some(Arc::new(live.engine.feed())), context: Some(Arc::new(live.context.feed())) };
        let host = Host::new(source, feeds, counters);
        Shared { state: Mutex::new(State::default()), wake, watching, host, live, clock, session }
    }

    pub fn source(&self) -> &Arc<dyn Source> {
        self.host.source()
    }

    /// Applies the settings' document cap to the transport (frames read from now on).
    pub fn apply_caps(&self) {
        let cap = self.lock().settings.max_document_bytes;
        self.session.set_document_cap(cap);
    }

    /// Locks the state. A panic elsewhere while it was held leaves a usable state (every change to it is
    /// one assignment), so poisoning is ignored rather than turned into a dead server.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets what was computed for `uri` (closed, reopened, too large), with `st` locked.
    pub fn forget(&self, st: &mut State, uri: &Uri) {
        st.renders.forget(uri);
        if let Some(path) = uri.to_file_path() {
            self.host.close(&path);
        }
    }

    /// Gives the host the document at `uri` as `st` now holds it (opened, edited; with `st` locked, so the
    /// host sees the edits in order): its text is shared, nothing is computed. A document that is not kept
    /// (closed, over the size cap) is closed in the host.
    pub fn sync(&self, st: &State, uri: &Uri) {
        let Some(path) = uri.to_file_path() else { return };
        match st.docs.get(uri) {
            Some((kind, doc)) => {
                let kind = match kind {
                    Kind::Dockerfile => workspace::Kind::Dockerfile,
                    Kind::BuildLog => workspace::Kind::Log,
                };
                self.host.open_as(kind, &path, doc.version, &doc.text);
            }
            None => self.host.close(&path),
        }
    }

    /// Gives the host the settings its analysis depends on (after `initialize` and every settings change).
    pub fn apply_analysis_settings(&self) {
        let settings = self.lock().analysis_settings();
        self.host.set_settings(settings);
    }

    /// The snapshot of the open Dockerfile at `uri`, computed (blocking: reads the store) when the buffer
    /// or the store changed since the last one. `None` for a closed document or a log.
    pub fn snapshot(&self, uri: &Uri) -> Option<Arc<Snapshot>> {
        self.host.snapshot(&uri.to_file_path()?)
    }

    /// The snapshot of the open log at `uri` (its Dockerfile, links and problems). `None` for a closed
    /// document or a Dockerfile.
    pub fn log_snapshot(&self, uri: &Uri) -> Option<Arc<LogSnapshot>> {
        self.host.log_snapshot(&uri.to_file_path()?)
    }

    /// The kept snapshot of the open Dockerfile at `uri`, only when it is current (same version, store
    /// known current without indexing): never blocks, so a request can answer from it on the async
    /// runtime. `None`: go the blocking way (`snapshot`).
    pub fn snapshot_if_current(&self, uri: &Uri) -> Option<Arc<Snapshot>> {
        let version = {
            let st = self.lock();
            let (kind, doc) = st.docs.get(uri)?;
            (kind == Kind::Dockerfile).then_some(())?;
            doc.version
        };
        self.host.current(&uri.to_file_path()?, version)
    }
}

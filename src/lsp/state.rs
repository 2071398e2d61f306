//! The server's state behind one `std::sync::Mutex` (never held across an `.await`), and the cached
//! analysis of each open Dockerfile, keyed by document version and store generation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tower_lsp_server::ls_types::Uri;

use super::config::{ClientSupport, Settings};
use super::documents::{Document, Documents, Kind};
use super::encoding::Encoding;
use super::rendered::Renders;
use super::transport::Session;
use super::watch::Watching;
use super::{Clock, Source};
use crate::analysis::Annotated;
use crate::store::{self, Store};

#[derive(Debug, Default)]
pub struct State {
    pub docs: Documents,
    pub enc: Encoding,
    pub support: ClientSupport,
    pub settings: Settings,
    /// Workspace root: the first workspace folder, else the server's working folder.
    pub root: PathBuf,
    /// Analysis of each open Dockerfile: (version, store generation, result).
    analyses: HashMap<Uri, (i32, u64, Arc<Annotated>)>,
    /// Lenses, hints and hovers rendered from those analyses (`rendered`).
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

    pub fn forget(&mut self, uri: &Uri) {
        self.analyses.remove(uri);
        self.renders.forget(uri);
    }
}

/// State plus the parts that never change after start-up.
pub struct Shared {
    state: Mutex<State>,
    /// Wakes the re-indexing worker (`watch`): records changed.
    pub wake: tokio::sync::Notify,
    pub watching: Mutex<Watching>,
    pub source: Arc<dyn Source>,
    pub clock: Clock,
    /// The transport's view of the session (its frame and document caps follow the settings).
    pub session: Arc<Session>,
}

impl Shared {
    pub fn new(source: Arc<dyn Source>, clock: Clock, session: Arc<Session>) -> Shared {
        let (wake, watching) = (tokio::sync::Notify::new(), Mutex::default());
        Shared { state: Mutex::new(State::default()), wake, watching, source, clock, session }
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

    /// The open Dockerfile at `uri` and its analysis, computed (blocking: reads the store) when the
    /// buffer or the store changed since the last one. `None` for a closed document or a log.
    pub fn annotated(&self, uri: &Uri) -> Option<(Document, Arc<Annotated>)> {
        let (doc, store, root, depth, cached, expensive_s) = {
            let st = self.lock();
            let (kind, doc) = st.docs.get(uri)?;
            if kind != Kind::Dockerfile {
                return None;
            }
            let expensive_s = st.settings.explain.expensive_seconds;
            (doc, st.store(), st.root.clone(), st.settings.history_depth, st.analyses.get(uri).cloned(), expensive_s)
        };
        let generation = self.source.refresh(&store, &|_| {});
        if let Some((v, g, a)) = cached {
            if v == doc.version && g == generation {
                return Some((doc, a));
            }
        }
        let path = uri.to_file_path()?.into_owned();
        let mut annotated = self.source.annotate(&store, &root, &path, &doc.text, depth);
        annotated.explain = self.source.explain(&store, &root, &path, &doc.text, depth, expensive_s.saturating_mul(1000));
        let annotated = Arc::new(annotated);
        let mut st = self.lock();
        if st.docs.version(uri) == Some(doc.version) {
            st.analyses.insert(uri.clone(), (doc.version, generation, annotated.clone()));
        }
        Some((doc, annotated))
    }
}

impl Shared {
    /// The open Dockerfile at `uri` and its cached analysis, only when that analysis is current (same
    /// version, store known current without indexing): never blocks, so a request can answer from it on
    /// the async runtime. `None`: go the blocking way (`annotated`).
    pub fn annotated_if_current(&self, uri: &Uri) -> Option<(Document, Arc<Annotated>)> {
        let st = self.lock();
        let (kind, doc) = st.docs.get(uri)?;
        let (version, generation, annotated) = st.analyses.get(uri)?;
        if kind != Kind::Dockerfile || *version != doc.version {
            return None;
        }
        (self.source.current_generation(&st.store()) == Some(*generation)).then(|| (doc, annotated.clone()))
    }
}

/// Whether the whole `path` matches the glob `pattern` (`crate::glob`).
pub fn glob_match(pattern: &str, path: &Path) -> bool {
    crate::glob::matches(pattern, &path.to_string_lossy())
}

//! The CLI's one-shot workspace (`report`, `explain`, `debug`): a `Host` over the `Newest` source with the
//! Dockerfile's text as its one open document, and that document's one `Snapshot`, the same kind the
//! server renders (selection by `select::belongs`, annotation, explain's causes, sizes). Layer sizes of
//! images without a snapshot come from a live engine query (bounded, cached), asked here, once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::compared;
use super::host::{Counters, Host, Settings, Snapshot};
use super::newest::{self, Newest};
use super::source::{EngineFeed, Feeds};
use crate::analysis::inputs::BuildFacts;
use crate::analysis::{Annotated, RecordedBuild};
use crate::engine::{self, images};
use crate::store::Store;

/// What the command asks of the workspace.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// The compose file that says which services built the Dockerfile (else the one beside it or above it).
    pub compose: Option<&'a Path>,
    /// Read the newest `limit` records that may hold builds of the Dockerfile (`usize::MAX`: every one).
    pub limit: usize,
    /// Layer sizes on the annotation (image snapshots, then the engine).
    pub sizes: bool,
    /// Explain's causes on the annotation (`Annotated::explain`), with this advice threshold.
    pub explain: Option<u64>,
}

/// A Dockerfile's one-shot workspace: its host and the snapshot of its text.
pub struct Batch {
    pub host: Host,
    pub settings: Settings,
    pub snapshot: Arc<Snapshot>,
    source: Arc<Newest>,
}

impl Batch {
    /// The workspace of the Dockerfile at `dockerfile` (its text `text`) over `store`, analysed once.
    pub fn open(store: Store, dockerfile: &Path, text: String, options: &Options<'_>) -> Batch {
        let source = Arc::new(Newest::new(options.compose, options.sizes, options.explain.is_some()));
        let feeds = Feeds { engine: options.sizes.then(|| Arc::new(LiveEngine) as Arc<dyn EngineFeed>), context: None };
        let host = Host::new(source.clone(), feeds, Arc::new(Counters::default()));
        let root = store.root().parent().unwrap_or(store.root()).to_path_buf();
        let expensive_seconds = options.explain.unwrap_or(crate::analysis::advice::DEFAULT_EXPENSIVE_SECONDS);
        let settings = Settings { store, root, history_depth: options.limit, expensive_seconds };
        host.set_settings(settings.clone());
        host.open(dockerfile, 0, &Arc::from(text));
        let snapshot = host.snapshot(dockerfile).expect("a host with settings and the document open has its snapshot");
        Batch { host, settings, snapshot, source }
    }

    pub fn store(&self) -> &Store {
        &self.settings.store
    }

    pub fn dockerfile(&self) -> &PathBuf {
        &self.snapshot.path
    }

    /// The Dockerfile's text the snapshot analysed.
    pub fn text(&self) -> &str {
        self.snapshot.text()
    }

    /// The annotated instructions (with selection's problems, sizes and explain's causes when asked).
    pub fn annotated(&self) -> &Annotated {
        &self.snapshot.annotated
    }

    /// The builds of the Dockerfile in the records read, oldest first.
    pub fn builds(&self) -> &[RecordedBuild] {
        &self.source.selection().builds
    }

    /// Older records that may hold builds of this Dockerfile, not read: the builds are numbered after them.
    pub fn older(&self) -> usize {
        self.source.selection().older
    }

    /// The image histories the sizes came from.
    pub fn known(&self) -> &[images::KnownImage] {
        self.source.known()
    }

    /// The record facts explain reads to explain the build at `to` (of `builds`) against `from`
    /// (`compared`'s rule, the server's): those of `compared::window(to)`, oldest first.
    pub fn facts(&self, to: usize, from: Option<usize>) -> Vec<BuildFacts> {
        compared::facts(to, from, &mut |i, inputs| self.facts_of(i, inputs))
    }

    /// The record facts of the build at `i` (of `builds`), with its `inputs.json` when `inputs`.
    pub fn facts_of(&self, i: usize, inputs: bool) -> BuildFacts {
        self.builds().get(i).map(|b| newest::facts_of(self.store(), &b.id, inputs)).unwrap_or_default()
    }

    /// How many records were read (their logs' summaries), of those that may hold builds of the Dockerfile.
    pub fn records_read(&self) -> usize {
        self.source.selection().read
    }
}

/// Layer sizes from the engine, asked now (the CLI waits for them; bounded and cached by `engine`).
struct LiveEngine;

impl EngineFeed for LiveEngine {
    fn epoch(&self) -> u64 {
        0
    }

    fn known(&self, wanted: &[images::Wanted]) -> Vec<images::KnownImage> {
        images::fetch_blocking(&engine::Cache::new(), &engine::Config::default(), wanted)
    }
}

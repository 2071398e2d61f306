//! What the records say, seen through the store: the `Source` of a workspace's analyses (the trait, its
//! indexing progress and bounds) and the live facts fed into it from outside as plain data (`Feeds`:
//! engine layer sizes, the build context on disk), each with an epoch that moves when it brings news.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::explain::Explained;
use crate::analysis::predict::ChangedInputs;
use crate::analysis::{Annotated, RecordedBuild};
use crate::dockerfile::Dockerfile;
use crate::engine::images::{KnownImage, Wanted};
use crate::store::Store;

pub use super::log_globs::LogGlobs;

/// Produces the analysis of a document. The server holds one; `StoreSource` is the real one.
pub trait Source: Send + Sync {
    /// Re-indexes the records marked stale since the last call (every record the first time, or when the
    /// store moved) and returns the store generation, which changes whenever the records did. Cheap when
    /// nothing is stale. `progress` hears about indexing runs of at least the source's threshold.
    fn refresh(&self, store: &Store, progress: &dyn Fn(Indexing)) -> u64;
    /// Marks the records these changed paths belong to stale (paths from watch events). True when any
    /// path concerns a record (a log, a `meta.json`, a record folder, the store itself).
    fn invalidate(&self, store: &Store, paths: &[PathBuf]) -> bool;
    /// Marks every record stale (a watch was just set up, and events may have been missed before).
    fn invalidate_all(&self);
    /// The `buildlens.logGlobs` setting: logs outside the store that count as records. A change marks
    /// everything stale.
    fn set_log_globs(&self, _globs: LogGlobs) {}
    /// The store generation when it is known to be current without doing anything (no indexing running,
    /// nothing marked stale): what lets a request answer from cached results without waiting. `None`
    /// means "call `refresh`".
    fn current_generation(&self, _store: &Store) -> Option<u64> {
        None
    }
    /// The annotation of `text`, the buffer of the Dockerfile at `path`, from the `depth` most recent
    /// records that built it (at least `MIN_RECORDS`).
    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize) -> Annotated;
    /// The cache the source maps builds onto the buffer through (`annotate`'s): the prediction maps the last
    /// build through it too, so a build shape already mapped for this text is not mapped again.
    fn mappings(&self) -> Option<&std::sync::Mutex<crate::analysis::MappingCache>> {
        None
    }
    /// The live facts the host feeds in (engine sizes, context walks): a source that uses them keeps them;
    /// their epochs are part of its store generation.
    fn feed(&self, _feeds: Feeds) {}
    /// The newest recorded build of the Dockerfile at `path`: what an edit of its buffer is compared with
    /// (`analysis::predict`). A source that cannot tell says `None`, and nothing is predicted.
    fn last_build(&self, store: &Store, root: &Path, path: &Path) -> Option<RecordedBuild> {
        let _ = (store, root, path);
        None
    }
    /// Why the latest build of the Dockerfile at `path` executed its steps, and the advice of the recent
    /// builds (`expensive_ms`: the advice threshold; `depth` as for `annotate`, so both read the same
    /// records). `None` by default (a source without records).
    fn explain(&self, _store: &Store, _root: &Path, _path: &Path, _text: &str, _depth: usize, _expensive_ms: u64) -> Option<Explained> {
        None
    }
}

/// Progress of one indexing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexing {
    Begin { records: usize, bytes: u64 },
    Report { done: usize, records: usize },
    End,
}

/// Records annotated per Dockerfile, whatever the hover's history depth (a lens needs the last run of
/// every instruction, and a recent build may have run only one stage).
pub const MIN_RECORDS: usize = 20;
/// Records whose parsed builds stay in memory beyond those of the last annotation.
pub(super) const HELD_SPARE: usize = 8;
/// How many records' `inputs.json` the server keeps parsed (explain reads the last two builds').
pub(super) const INPUTS_HELD: usize = 4;
/// Indexing runs with at least this many new log bytes report progress.
pub const PROGRESS_BYTES: u64 = 8 << 20;

/// Layer sizes from a live engine: what is already known, never waiting (the rest may be asked for in the
/// background by whoever implements it). `epoch` moves when answers that may add sizes arrived.
pub trait EngineFeed: Send + Sync {
    fn epoch(&self) -> u64;
    fn known(&self, wanted: &[Wanted]) -> Vec<KnownImage>;
}

/// The build context on disk against a record's manifest: the COPY/ADD lines of `df` whose files changed
/// since the build `build_id`, from the last walk (never one now). `epoch` moves when a walk found news.
pub trait ContextFeed: Send + Sync {
    fn epoch(&self) -> u64;
    fn changed_lines(&self, store: &Store, build_id: &str, df: &Dockerfile) -> ChangedInputs;
}

/// The live facts of a host (none by default: a CLI run or a test without them).
#[derive(Clone, Default)]
pub struct Feeds {
    pub engine: Option<Arc<dyn EngineFeed>>,
    pub context: Option<Arc<dyn ContextFeed>>,
}

impl Feeds {
    /// Both epochs together: they only grow, so the sum moves whenever either does.
    pub fn epoch(&self) -> u64 {
        let engine = self.engine.as_ref().map_or(0, |e| e.epoch());
        engine.wrapping_add(self.context.as_ref().map_or(0, |c| c.epoch()))
    }

    /// The histories already known for `wanted` (nothing without an engine feed).
    pub fn known(&self, wanted: &[Wanted]) -> Vec<KnownImage> {
        self.engine.as_ref().map(|e| e.known(wanted)).unwrap_or_default()
    }
}

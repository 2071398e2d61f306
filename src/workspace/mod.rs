//! One analysis of the workspace, beneath both the language server and the CLI: what the recorded builds
//! say about a Dockerfile is decided here and nowhere else. No LSP types, no async runtime: std threads,
//! mutexes and caches only.
//!
//! The model is rust-analyzer's `AnalysisHost` / `Analysis`: the `Host` is mutated (store changes through
//! its `Source`, live facts through `Feeds`), and answers one immutable `Snapshot` per (document version,
//! store generation) that every renderer reads: the annotated instructions with explain's causes, the
//! prediction, sizes. The CLI opens a one-shot `Batch`: a host over the newest records (`Newest`) with the
//! Dockerfile as its open document, and reads that document's snapshot. Which builds belong to a
//! Dockerfile is decided once, in `select`, for both.

pub mod batch;
pub mod compared;
pub mod files;
mod host;
mod index;
mod line_cache;
pub mod log_globs;
pub mod log_links;
mod log_snapshot;
pub mod newest;
pub mod records;
pub mod select;
pub mod services;
mod source;
mod store_source;
pub mod words;

pub use batch::{Batch, Options};
pub use host::{debug_targets, Counters, DebugPaths, Host, Kind, Pulled, Settings, Snapshot};
pub use log_globs::LogGlobs;
pub use log_snapshot::LogSnapshot;
pub use source::{ContextFeed, EngineFeed, Feeds, Indexing, Source, MIN_RECORDS, PROGRESS_BYTES};
pub use store_source::StoreSource;

//! One analysis of the workspace, beneath both the language server and the CLI: what the recorded builds
//! say about a Dockerfile is decided here and nowhere else. No LSP types, no async runtime: std threads,
//! mutexes and caches only.
//!
//! The model is rust-analyzer's `AnalysisHost` / `Analysis`: the `Host` is mutated (store changes through
//! its `Source`, live facts through `Feeds`), and answers one immutable `Snapshot` per (document version,
//! store generation) that every renderer reads: the annotated instructions with explain's causes, the
//! prediction, sizes. The CLI asks the same analysis for its one-shot `Batch` (every record of the store).

pub mod batch;
pub mod files;
mod host;
mod index;
pub mod log_globs;
pub mod services;
mod source;
mod store_source;
pub mod words;

pub use batch::Batch;
pub use host::{Counters, Host, Settings, Snapshot};
pub use log_globs::LogGlobs;
pub use source::{ContextFeed, EngineFeed, Feeds, Indexing, Source, MIN_RECORDS, PROGRESS_BYTES};
pub use store_source::StoreSource;

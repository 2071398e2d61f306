//! buildlens: puts what happened in recorded Docker builds onto the Dockerfile lines that caused it.
//!
//! The crate is a pure core (`log`, `dockerfile`, `mapping`, `analysis`, `compose`, `present`) plus the edges that do I/O (`store`, `record`, `cli`).
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod analysis;
pub mod cli;
pub mod compose;
pub mod debug;
pub mod dockerfile;
pub mod engine;
pub mod glob;
pub mod log;
pub mod lsp;
pub mod mapping;
pub mod picture;
pub mod present;
pub mod record;
pub mod remote;
pub mod store;
pub mod workspace;

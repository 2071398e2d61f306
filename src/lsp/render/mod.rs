//! Pure renderers of a workspace snapshot into LSP values: lenses, hints, hover, diagnostics, the
//! rebuild prediction, the debug-shell lens and action, log links; and the memo of rendered answers.
//! They read `workspace::Snapshot` / `LogSnapshot` and the editor's settings, clock and encoding only:
//! never the store (tests/architecture.rs).

pub mod code_lens;
pub mod debug_shell;
pub mod diagnostics;
pub mod hints;
pub mod hover;
pub mod lenses;
pub mod lines;
pub mod log_links;
pub mod markdown;
pub mod rebuild;
pub(super) mod rendered;
pub mod signal;

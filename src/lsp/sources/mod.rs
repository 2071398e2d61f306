//! Live sources that feed the workspace host: the store watch and re-indexing worker, the engine's
//! layer sizes, the build context on disk.

pub mod context_inputs;
pub mod engine_sizes;
pub mod remote_loop;
pub mod remote_pull;
pub(super) mod watch;
pub(super) mod watching;

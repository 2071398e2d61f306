//! The language server (`buildlens serve`, LSP over stdio, on tower-lsp-server): code lenses, inlay
//! hints, hover history and diagnostics on Dockerfiles; links from open build logs to Dockerfile lines.
//!
//! Architecture invariants: only this module knows LSP types and position encodings; handlers are thin
//! (snapshot the state, call a pure renderer, convert); document edits apply synchronously under one
//! `std::sync::Mutex` before any `.await`; requests to the client are sent from spawned tasks, and only
//! when the client advertised support (docs/dependencies.md, the two hazards).

pub mod config;
pub mod documents;
mod features;
mod protocol;
mod refresh;
pub mod render;
mod server;
mod sources;
mod state;

pub use protocol::encoding;
pub use render::{debug_shell, diagnostics, hints, hover, lenses, log_links, markdown, rebuild, signal};
pub use sources::{context_inputs, engine_sizes};
pub use state::Clock;

use std::sync::Arc;

use chrono::Utc;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{LspService, Server};

pub use crate::workspace::{Counters, Indexing, Source, StoreSource};

/// How to build a server.
#[derive(Clone)]
pub struct Options {
    pub clock: Clock,
    pub source: Arc<dyn Source>,
    /// How often the workspace host computed an analysis (tests read it).
    pub counters: Arc<Counters>,
}

impl Default for Options {
    fn default() -> Options {
        Options { clock: Arc::new(Utc::now), source: Arc::new(StoreSource::default()), counters: Arc::default() }
    }
}

/// Serves one client over `input`/`output` until it exits. Returns the process's exit status: 1 when
/// the client sent `exit` without `shutdown` before it, else 0.
pub async fn serve<I, O>(input: I, output: O, options: Options) -> i32
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite,
{
    let session = Arc::new(protocol::transport::Session::default());
    let (service, socket) = LspService::build(|client| server::Backend::new(client, options, session.clone()))
        .custom_method(protocol::transport::INVALID_MESSAGE, server::Backend::invalid_message)
        .custom_method(protocol::transport::DOCUMENT_TOO_LARGE, server::Backend::document_too_large)
        .finish();
    let serving = Server::new(protocol::transport::guard(input, session.clone()), output, socket).serve(service);
    // At `exit` or the end of input the library still waits for every request in flight; one stuck in a
    // read (a file that blocks, a slow disk) must not keep the process alive after its client is gone.
    let over = async {
        session.ended.notified().await;
        tokio::time::sleep(END_GRACE).await;
    };
    tokio::select! {
        () = serving => {}
        () = over => eprintln!("buildlens: the session ended with requests still running; not waiting for them"),
    }
    session.status()
}

/// How long requests in flight may still answer after `exit` or the end of input.
const END_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

/// `buildlens serve`: LSP over stdin/stdout. stdout carries only protocol messages; logs go to stderr.
///
/// One thread runs the protocol (reading, answering from cached renderings, writing): a request crosses no
/// thread on its way in or out. Analysis and indexing run on the blocking pool (`guard::request`).
pub fn run_stdio() -> anyhow::Result<i32> {
    one_malloc_arena();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let _modes = protocol::stdio::SavedModes::save();
    let status = runtime.block_on(async {
        let (input, output) = protocol::stdio::streams();
        serve(input, output, Options::default()).await
    });
    // A read of a terminal on the blocking pool cannot be cancelled: after `exit`, wait a moment for work
    // in flight, not for a key press (nor for a read that never returns).
    runtime.shutdown_timeout(std::time::Duration::from_millis(700));
    Ok(status)
}

/// glibc's malloc gives each thread that allocates its own arena and keeps freed memory in each: with the
/// blocking pool's threads taking turns at the analysis, that was a third of the server's resident memory
/// (BENCHMARKS.md). The server's work is one request at a time, so one arena costs no contention.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tuning parameter of the allocator; it is called before any thread of
    // the server starts, and a refusal (return 0) leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

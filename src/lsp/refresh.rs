//! Requests the server sends to the client: each from a spawned task, never awaited inside a handler (a
//! handler waiting on the client during a burst of edits deadlocks tower-lsp: docs/dependencies.md,
//! hazard 2), and only when the client advertised support (Neovim 0.11 answers an unadvertised
//! `workspace/codeLens/refresh` with MethodNotFound).

use tower_lsp_server::ls_types::ShowDocumentParams;
use tower_lsp_server::Client;

use crate::lsp::config::ClientSupport;

/// Asks the client to re-request lenses and inlay hints (settings or records changed).
pub fn lenses_and_hints(client: &Client, support: ClientSupport) {
    if support.code_lens_refresh {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.code_lens_refresh().await {
                eprintln!("buildlens: workspace/codeLens/refresh: {e}");
            }
        });
    }
    if support.inlay_hint_refresh {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.inlay_hint_refresh().await {
                eprintln!("buildlens: workspace/inlayHint/refresh: {e}");
            }
        });
    }
}

/// Opens a log at a step in the editor, where the client supports `window/showDocument`.
pub fn show_document(client: &Client, support: ClientSupport, params: ShowDocumentParams) {
    if !support.show_document {
        return;
    }
    let client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = client.show_document(params).await {
            eprintln!("buildlens: window/showDocument: {e}");
        }
    });
}

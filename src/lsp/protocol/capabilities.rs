//! What the server offers: lenses, code actions (debug shell), inlay hints, hover, document links and definition (for logs), the
//! `buildlens.openLog` command. No completion, formatting or lint: the usual Dockerfile servers do
//! those, and nothing should be shown twice.

use tower_lsp_server::ls_types::{
    CodeActionProviderCapability, CodeLensOptions, DocumentLinkOptions, ExecuteCommandOptions, HoverProviderCapability,
    InlayHintServerCapabilities, OneOf, SaveOptions, ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};

use crate::lsp::protocol::encoding::Encoding;
use crate::lsp::render::lenses::OPEN_LOG;

pub fn server_capabilities(enc: Encoding) -> ServerCapabilities {
    let sync = TextDocumentSyncOptions {
        open_close: Some(true),
        change: Some(TextDocumentSyncKind::INCREMENTAL),
        save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
        ..TextDocumentSyncOptions::default()
    };
    ServerCapabilities {
        position_encoding: Some(enc.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(sync)),
        code_lens_provider: Some(CodeLensOptions { resolve_provider: Some(false) }),
        // `Debug: shell before this step` (its command, buildlens.debugShell, is the client's).
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        inlay_hint_provider: Some(OneOf::Right(InlayHintServerCapabilities::Options(Default::default()))),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        document_link_provider: Some(DocumentLinkOptions { resolve_provider: Some(false), work_done_progress_options: Default::default() }),
        definition_provider: Some(OneOf::Left(true)),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![OPEN_LOG.to_string()],
            work_done_progress_options: Default::default(),
        }),
        ..ServerCapabilities::default()
    }
}

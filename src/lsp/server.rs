//! The `LanguageServer` implementation: thin adapters. Notifications change the state synchronously
//! (no `.await` before the change is applied); requests run their body through `guard::request`;
//! anything sent to the client goes through a spawned task.

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::lsp::config::{ClientSupport, Settings};
use crate::lsp::documents::TooLarge;
use crate::lsp::features;
use crate::lsp::protocol::capabilities::server_capabilities;
use crate::lsp::protocol::encoding::Encoding;
use crate::lsp::protocol::framing;
use crate::lsp::protocol::guard;
use crate::lsp::protocol::too_large::TooLargeParams;
use crate::lsp::protocol::transport::Session;
use crate::lsp::refresh;
use crate::lsp::render::lenses::{OpenLog, OPEN_LOG};
use crate::lsp::sources::context_inputs;
use crate::lsp::sources::engine_sizes;
use crate::lsp::sources::remote_loop;
use crate::lsp::sources::watch;
use crate::lsp::state::Shared;
use crate::lsp::Options;

/// Parameters of `buildlens/invalidMessage`: the error the replaced frame gets.
#[derive(Debug, serde::Deserialize)]
pub struct InvalidMessage {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<Value>,
}

pub struct Backend {
    client: Client,
    shared: Arc<Shared>,
}

impl Backend {
    pub fn new(client: Client, options: Options, session: Arc<Session>) -> Backend {
        Backend { client, shared: Arc::new(Shared::new(options.source, options.counters, options.clock, session)) }
    }

    /// Computes and publishes the diagnostics of `uri` at `version` in the background. Stale results
    /// (the document changed meanwhile) are dropped; each is tagged with its version.
    fn publish_later(&self, uri: Uri, version: i32) {
        publish_later(self.client.clone(), self.shared.clone(), uri, version);
    }

    /// A frame the transport guard replaced (see `transport`): answer with the error it deserved.
    pub async fn invalid_message(&self, params: InvalidMessage) -> Result<()> {
        let code = tower_lsp_server::jsonrpc::ErrorCode::from(params.code);
        let message = if params.message.is_empty() { code.description().to_owned() } else { params.message };
        if message == framing::OVER_CAP {
            let cap = self.shared.session.document_cap();
            let line = format!(
                "buildlens: skipped a message over the frame cap ({} bytes; buildlens.maxDocumentBytes is {cap})",
                framing::frame_cap(cap)
            );
            self.client.log_message(MessageType::WARNING, line).await;
        }
        Err(Error { code, message: message.into(), data: params.data })
    }

    /// A `didOpen`/`didChange` whose text the transport found over the document cap (`too_large`).
    pub async fn document_too_large(&self, params: TooLargeParams) {
        let mut went_over = None;
        guard::notification(crate::lsp::protocol::transport::DOCUMENT_TOO_LARGE, || {
            let mut st = self.shared.lock();
            if params.opened || st.docs.is_open(&params.uri) {
                let kind = st.kind_of(&params.uri);
                self.shared.forget(&mut st, &params.uri);
                went_over = st.docs.mark_too_large(params.uri.clone(), kind, params.version, params.bytes);
                self.shared.sync(&st, &params.uri);
            }
        });
        self.went_over(params.uri, went_over);
    }

    /// A document just went over the cap: one line in the client's log, its diagnostics cleared.
    fn went_over(&self, uri: Uri, went_over: Option<TooLarge>) {
        let Some(TooLarge { bytes }) = went_over else { return };
        let cap = self.shared.lock().settings.max_document_bytes;
        let line = format!(
            "buildlens: {} is {bytes} bytes, over buildlens.maxDocumentBytes ({cap}): not analysed (no lenses, hints or diagnostics)",
            crate::present::visible(uri.as_str())
        );
        let client = self.client.clone();
        tokio::spawn(async move {
            client.log_message(MessageType::WARNING, line).await;
            client.publish_diagnostics(uri, Vec::new(), None).await;
        });
    }
}

fn publish_later(client: Client, shared: Arc<Shared>, uri: Uri, version: i32) {
    tokio::spawn(async move {
        let (s, u) = (shared.clone(), uri.clone());
        let Ok(Some(diags)) = guard::request("diagnostics", move || features::diagnostics(&s, &u, version)).await else { return };
        if shared.lock().docs.version(&uri) == Some(version) {
            client.publish_diagnostics(uri, diags, Some(version)).await;
        }
    });
}

/// What the client supports now (the live sources' refreshers ask it when they have news).
fn support_of(shared: &Arc<Shared>) -> impl Fn() -> ClientSupport + Send + 'static {
    let shared = shared.clone();
    move || shared.lock().support
}

/// Settings changed: the watch may move (store path, log globs), and every result is stale.
fn settings_changed(client: &Client, shared: &Arc<Shared>) {
    // The renderings hang on the settings too (`lenses`: which lines get a lens).
    shared.lock().renders = Default::default();
    shared.apply_analysis_settings();
    shared.apply_caps();
    shared.live.engine.set_host(shared.lock().settings.docker.host.clone());
    watch::start(client, shared);
    remote_loop::apply(client, shared);
    everything_changed(client, shared);
}

/// Records or settings changed: ask for lenses and hints again (where supported), republish diagnostics.
pub(super) fn everything_changed(client: &Client, shared: &Arc<Shared>) {
    let (support, open) = {
        let st = shared.lock();
        (st.support, st.docs.uris())
    };
    refresh::lenses_and_hints(client, support);
    for (uri, _, version) in open {
        publish_later(client.clone(), shared.clone(), uri, version);
    }
}

/// The workspace root from the workspace folders (or the deprecated root URI), else the working folder.
#[allow(deprecated)]
fn workspace_root(params: &InitializeParams) -> std::path::PathBuf {
    let folder = params.workspace_folders.as_ref().and_then(|f| f.first()).map(|f| &f.uri);
    folder
        .or(params.root_uri.as_ref())
        .and_then(|u| u.to_file_path().map(|p| p.into_owned()))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default()
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let enc = Encoding::negotiate(params.capabilities.general.as_ref().and_then(|g| g.position_encodings.as_deref()));
        {
            let mut st = self.shared.lock();
            st.enc = enc;
            st.support = ClientSupport::from_capabilities(&params.capabilities);
            st.root = workspace_root(&params);
            if let Some(settings) = params.initialization_options.as_ref().and_then(Settings::from_value) {
                st.settings = settings;
            }
        }
        self.shared.live.engine.set_host(self.shared.lock().settings.docker.host.clone());
        self.shared.apply_analysis_settings();
        self.shared.apply_caps();
        let server_info = ServerInfo { name: "buildlens".into(), version: Some(env!("CARGO_PKG_VERSION").into()) };
        Ok(InitializeResult { capabilities: server_capabilities(enc), server_info: Some(server_info), offset_encoding: None })
    }

    async fn initialized(&self, _: InitializedParams) {
        watch::start(&self.client, &self.shared);
        watch::spawn_worker(self.client.clone(), self.shared.clone(), everything_changed);
        engine_sizes::spawn_refresher(self.client.clone(), self.shared.live.engine.clone(), support_of(&self.shared));
        context_inputs::spawn_refresher(self.client.clone(), self.shared.live.context.clone(), support_of(&self.shared));
        remote_loop::apply(&self.client, &self.shared);
        let (client, shared) = (self.client.clone(), self.shared.clone());
        pull_configuration(&self.client, self.shared.clone(), move || settings_changed(&client, &shared));
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let paths = watch::event_paths(&params.changes);
        guard::notification("workspace/didChangeWatchedFiles", || watch::changed(&self.shared, &paths));
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        let uri = doc.uri.clone();
        let mut went_over = None;
        guard::notification("textDocument/didOpen", || {
            let mut st = self.shared.lock();
            let kind = st.kind_of(&doc.uri);
            self.shared.forget(&mut st, &doc.uri);
            let cap = st.settings.max_document_bytes;
            went_over = st.docs.open(doc.uri, kind, doc.text, doc.version, cap);
            self.shared.sync(&st, &uri);
        });
        self.went_over(uri.clone(), went_over);
        remote_loop::opened(&self.shared);
        self.publish_later(uri, doc.version);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let (uri, version) = (params.text_document.uri, params.text_document.version);
        let mut went_over = None;
        guard::notification("textDocument/didChange", || {
            let mut st = self.shared.lock();
            let (enc, cap) = (st.enc, st.settings.max_document_bytes);
            went_over = st.docs.change(&uri, params.content_changes, version, enc, cap);
            if went_over.is_some() {
                self.shared.forget(&mut st, &uri);
            }
            // The host shares the new text (an `Arc`): nothing is analysed per keystroke.
            self.shared.sync(&st, &uri);
        });
        self.went_over(uri.clone(), went_over);
        self.publish_later(uri, version);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        let uri = params.text_document.uri;
        // Walks the compared contexts again after a save of any document.
        guard::notification("textDocument/didSave", || self.shared.live.context.rewalk());
        if let Some(version) = self.shared.lock().docs.version(&uri) {
            self.publish_later(uri, version);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        guard::notification("textDocument/didClose", || {
            let mut st = self.shared.lock();
            st.docs.close(&uri);
            self.shared.forget(&mut st, &uri);
        });
        let client = self.client.clone();
        tokio::spawn(async move { client.publish_diagnostics(uri, Vec::new(), None).await });
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        match Settings::from_value(&params.settings) {
            Some(settings) => {
                self.shared.lock().settings = settings;
                settings_changed(&self.client, &self.shared);
            }
            // Pull-model clients send `null` and expect the server to ask.
            None => {
                let (client, shared) = (self.client.clone(), self.shared.clone());
                pull_configuration(&self.client, self.shared.clone(), move || settings_changed(&client, &shared));
            }
        }
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let (shared, uri) = (self.shared.clone(), params.text_document.uri);
        if let Some(hit) = guard::inline("textDocument/codeLens", || features::cached_code_lens(&shared, &uri)) {
            return Ok(Some(hit));
        }
        guard::request("textDocument/codeLens", move || features::code_lens(&shared, &uri)).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        // The only actions are quick fixes: a client asking for other kinds alone gets none.
        let wants_fixes = params.context.only.as_ref().is_none_or(|only| only.iter().any(|k| "quickfix".starts_with(k.as_str())));
        if !wants_fixes {
            return Ok(Some(Vec::new()));
        }
        let (shared, uri, range) = (self.shared.clone(), params.text_document.uri, params.range);
        guard::request("textDocument/codeAction", move || features::code_actions(&shared, &uri, range)).await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let (shared, uri, range) = (self.shared.clone(), params.text_document.uri, params.range);
        if let Some(hit) = guard::inline("textDocument/inlayHint", || features::cached_inlay_hints(&shared, &uri, range)) {
            return Ok(Some(hit));
        }
        guard::request("textDocument/inlayHint", move || features::inlay_hints(&shared, &uri, range)).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        let (shared, uri, pos) = (self.shared.clone(), p.text_document.uri, p.position);
        if let Some(hit) = guard::inline("textDocument/hover", || features::cached_hover(&shared, &uri, pos)) {
            return Ok(hit);
        }
        guard::request("textDocument/hover", move || features::hover(&shared, &uri, pos)).await
    }

    async fn document_link(&self, params: DocumentLinkParams) -> Result<Option<Vec<DocumentLink>>> {
        let (shared, uri) = (self.shared.clone(), params.text_document.uri);
        guard::request("textDocument/documentLink", move || features::document_links(&shared, &uri)).await
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        let (shared, uri, pos) = (self.shared.clone(), p.text_document.uri, p.position);
        let found = guard::request("textDocument/definition", move || features::definition(&shared, &uri, pos)).await?;
        Ok(found.map(GotoDefinitionResponse::Scalar))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if params.command != OPEN_LOG {
            return Err(Error::invalid_params(format!("unknown command {}", params.command)));
        }
        let args: Option<OpenLog> = params.arguments.into_iter().next().and_then(|v: Value| serde_json::from_value(v).ok());
        let Some(args) = args else {
            return Err(Error::invalid_params("buildlens.openLog takes {path, offset}"));
        };
        let shared = self.shared.clone();
        let target = guard::request("workspace/executeCommand", move || features::open_log(&shared, args)).await?;
        let support = self.shared.lock().support;
        // The target is also the answer, so a client without showDocument (Neovim 0.7) can open it itself.
        let answer = target.as_ref().map(|p| serde_json::json!({"uri": p.uri, "range": p.selection}));
        if let Some(params) = target {
            refresh::show_document(&self.client, support, params);
        }
        Ok(answer)
    }
}

/// Pulls the `buildlens` section (`workspace/configuration`), applies it, then runs `then` (requests to
/// the client: see `refresh`).
pub fn pull_configuration(client: &Client, shared: Arc<Shared>, then: impl FnOnce() + Send + 'static) {
    if !shared.lock().support.configuration {
        return;
    }
    let client = client.clone();
    tokio::spawn(async move {
        let item = ConfigurationItem { scope_uri: None, section: Some("buildlens".into()) };
        match client.configuration(vec![item]).await {
            Ok(values) => {
                if let Some(settings) = values.first().and_then(section_settings) {
                    shared.lock().settings = settings;
                }
                then();
            }
            Err(e) => eprintln!("buildlens: workspace/configuration: {e}"),
        }
    });
}

/// The answer to a `section: "buildlens"` item is the section itself.
fn section_settings(value: &Value) -> Option<Settings> {
    Settings::from_value(value)
}

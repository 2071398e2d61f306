//! Settings (section `buildlens`), from `initializationOptions` and `workspace/configuration`, and the
//! client capabilities the server must check before it sends a request to the client.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::ls_types::ClientCapabilities;

/// The `buildlens.*` settings. Unknown keys are ignored; a malformed value keeps the previous setting.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// Store folder; default: `$BUILDLENS_STORE`, else `.buildlens` at the workspace root.
    pub store_path: Option<PathBuf>,
    /// Extra logs to treat as build logs when opened (`**/ci-logs/*.txt`).
    pub log_globs: Vec<String>,
    pub code_lens: Toggle,
    pub inlay_hints: Toggle,
    /// Which instructions get a lens (`"auto"`: only those with something to act on or notice; `"all"`).
    pub lenses: LensMode,
    /// Rows of the hover's history table.
    pub history_depth: usize,
    pub docker: Docker,
    pub explain: ExplainSettings,
    /// Documents larger than this (bytes of UTF-8) are not analysed: no lenses, hints, hover, links or
    /// diagnostics, one `window/logMessage`, and the server keeps none of their text (`documents`).
    pub max_document_bytes: usize,
    /// `REGISTRY/REPOSITORY` whose records (pushed by CI: `buildlens push`) the server pulls for the open
    /// Dockerfiles; none: local records only.
    pub remote: Option<String>,
    /// How many of each Dockerfile's newest records to pull.
    pub remote_last: usize,
    /// How often to pull again.
    pub remote_interval_seconds: u64,
}

/// Default of `buildlens.maxDocumentBytes`: 8 MiB, twice the cap on a Dockerfile read from disk.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 8 << 20;

/// `buildlens.explain.*`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExplainSettings {
    /// Steps taking at least this long are "expensive" for the advice diagnostic.
    pub expensive_seconds: u64,
}

impl Default for ExplainSettings {
    fn default() -> ExplainSettings {
        ExplainSettings { expensive_seconds: crate::analysis::advice::DEFAULT_EXPENSIVE_SECONDS }
    }
}

/// `buildlens.lenses`: `auto` gives a lens only to a loud line (failed, running, slow, rebuilt with a cause,
/// will rebuild) and a short inlay hint to a quiet one (cached, quick); `all` gives every instruction a lens
/// and no last-run hints. Either way a line carries one signal, never the same words twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LensMode {
    #[default]
    Auto,
    All,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct Toggle {
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Docker {
    /// Engine address for the engine adapter (not used by the protocol layer itself).
    pub host: Option<String>,
}

impl Default for Toggle {
    fn default() -> Toggle {
        Toggle { enabled: true }
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            store_path: None,
            log_globs: Vec::new(),
            code_lens: Toggle::default(),
            inlay_hints: Toggle::default(),
            lenses: LensMode::Auto,
            history_depth: 10,
            docker: Docker::default(),
            explain: ExplainSettings::default(),
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            remote: None,
            remote_last: 20,
            remote_interval_seconds: 300,
        }
    }
}

impl Settings {
    /// Reads settings sent either as the section itself or wrapped as `{"buildlens": {...}}` (clients do
    /// both for `initializationOptions` and `didChangeConfiguration`). `None` when `value` holds none.
    pub fn from_value(value: &Value) -> Option<Settings> {
        let section = value.get("buildlens").unwrap_or(value);
        if !section.is_object() {
            return None;
        }
        serde_json::from_value(section.clone()).ok()
    }
}

/// What the client said it supports, reduced to what the server branches on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientSupport {
    pub code_lens_refresh: bool,
    pub inlay_hint_refresh: bool,
    pub show_document: bool,
    pub watched_files_dynamic: bool,
    /// The client takes `RelativePattern` watchers (LSP 3.17).
    pub watched_files_relative: bool,
    pub configuration: bool,
    pub work_done_progress: bool,
}

impl ClientSupport {
    pub fn from_capabilities(caps: &ClientCapabilities) -> ClientSupport {
        let ws = caps.workspace.as_ref();
        let flag = |b: Option<bool>| b.unwrap_or(false);
        ClientSupport {
            code_lens_refresh: flag(ws.and_then(|w| w.code_lens.as_ref()).and_then(|c| c.refresh_support)),
            inlay_hint_refresh: flag(ws.and_then(|w| w.inlay_hint.as_ref()).and_then(|c| c.refresh_support)),
            show_document: caps.window.as_ref().and_then(|w| w.show_document.as_ref()).is_some_and(|s| s.support),
            watched_files_dynamic: flag(ws.and_then(|w| w.did_change_watched_files.as_ref()).and_then(|c| c.dynamic_registration)),
            watched_files_relative: flag(ws.and_then(|w| w.did_change_watched_files.as_ref()).and_then(|c| c.relative_pattern_support)),
            configuration: flag(ws.and_then(|w| w.configuration)),
            work_done_progress: flag(caps.window.as_ref().and_then(|w| w.work_done_progress)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_wrapped_or_bare_with_defaults() {
        let wrapped = json!({"buildlens": {"storePath": "/s", "codeLens": {"enabled": false}, "historyDepth": 3}});
        let s = Settings::from_value(&wrapped).unwrap();
        assert_eq!(s.store_path, Some(PathBuf::from("/s")));
        assert!(!s.code_lens.enabled);
        assert!(s.inlay_hints.enabled);
        assert_eq!(s.history_depth, 3);
        let bare = json!({"logGlobs": ["**/*.txt"], "docker": {"host": "unix:///x"}});
        let s = Settings::from_value(&bare).unwrap();
        assert_eq!(s.log_globs, vec!["**/*.txt"]);
        assert_eq!(s.docker.host.as_deref(), Some("unix:///x"));
        assert_eq!(s.explain.expensive_seconds, 60);
        let s = Settings::from_value(&json!({"explain": {"expensiveSeconds": 5}})).unwrap();
        assert_eq!(s.explain.expensive_seconds, 5);
        assert_eq!(s.max_document_bytes, DEFAULT_MAX_DOCUMENT_BYTES);
        assert_eq!(Settings::from_value(&json!({"maxDocumentBytes": 1000})).unwrap().max_document_bytes, 1000);
        assert_eq!(Settings::from_value(&Value::Null), None);
        assert_eq!(Settings::from_value(&json!({"historyDepth": "many"})), None);
        assert_eq!(s.lenses, LensMode::Auto, "quiet lines stay quiet by default");
        assert_eq!(Settings::from_value(&json!({"lenses": "all"})).unwrap().lenses, LensMode::All);
        assert_eq!(Settings::from_value(&json!({"lenses": "loud"})), None, "an unknown mode keeps the previous settings");
    }

    #[test]
    fn capabilities_are_read_only_where_advertised() {
        let caps: ClientCapabilities = serde_json::from_value(json!({
            "workspace": {"codeLens": {"refreshSupport": true}, "didChangeWatchedFiles": {"dynamicRegistration": true}},
            "window": {"showDocument": {"support": true}}
        }))
        .unwrap();
        let s = ClientSupport::from_capabilities(&caps);
        assert!(s.code_lens_refresh && s.show_document && s.watched_files_dynamic);
        assert!(!s.inlay_hint_refresh && !s.configuration);
        assert_eq!(ClientSupport::from_capabilities(&ClientCapabilities::default()), ClientSupport::default());
    }
}

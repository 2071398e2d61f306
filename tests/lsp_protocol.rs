//! The server over an in-process JSON-RPC connection: capabilities, bad messages, closed documents,
//! refresh requests only where the client advertised them.

mod support_lsp;

use std::time::Duration;

use serde_json::{json, Value};
use support_lsp::{file_uri, TestClient};

fn no_caps() -> Value {
    json!({})
}

#[tokio::test]
async fn initialize_offers_lenses_hints_hover_links_and_nothing_that_competes() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestClient::start();
    let result = c.initialize(no_caps(), Value::Null, dir.path()).await;
    let caps = &result["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental sync");
    assert_eq!(caps["codeLensProvider"]["resolveProvider"], false);
    assert!(caps["inlayHintProvider"].is_object());
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(caps["definitionProvider"], true);
    assert!(caps["documentLinkProvider"].is_object());
    assert_eq!(caps["executeCommandProvider"]["commands"], json!(["buildlens.openLog"]));
    for absent in ["completionProvider", "documentFormattingProvider", "documentRangeFormattingProvider", "diagnosticProvider"] {
        assert!(caps.get(absent).is_none(), "{absent} must not be offered");
    }
    assert_eq!(result["serverInfo"]["name"], "buildlens");
}

#[tokio::test]
async fn utf8_is_chosen_when_the_client_offers_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestClient::start();
    let result = c.initialize(json!({"general": {"positionEncodings": ["utf-16", "utf-8"]}}), Value::Null, dir.path()).await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
}

#[tokio::test]
async fn bad_messages_and_closed_documents_leave_the_server_answering() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestClient::start();
    c.initialize(no_caps(), Value::Null, dir.path()).await;

    c.send_raw(b"{ this is not json").await;
    let parse_error = c.wait_for(|m| m["error"]["code"] == -32700).await;
    assert_eq!(parse_error["id"], Value::Null);
    c.send_raw(br#"{"id": 99, "what": "not a request"}"#).await;
    let invalid = c.wait_for(|m| m["id"] == 99).await;
    assert_eq!(invalid["error"]["code"], -32600);

    let unknown = c.request("buildlens/noSuchMethod", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601);

    let closed = file_uri(&dir.path().join("Dockerfile"));
    let doc = json!({"textDocument": {"uri": closed}});
    assert_eq!(c.result("textDocument/codeLens", doc.clone()).await, Value::Null);
    let at = json!({"textDocument": {"uri": closed}, "position": {"line": 0, "character": 0}});
    assert_eq!(c.result("textDocument/hover", at.clone()).await, Value::Null);
    assert_eq!(c.result("textDocument/definition", at).await, Value::Null);
    assert_eq!(c.result("textDocument/documentLink", doc).await, Value::Null);
    // A change to a document that was never opened is ignored.
    let change = json!({"textDocument": {"uri": closed, "version": 2}, "contentChanges": [{"text": "FROM a"}]});
    c.notify("textDocument/didChange", change).await;

    let bad_command = c.request("workspace/executeCommand", json!({"command": "buildlens.openLog", "arguments": [42]})).await;
    assert_eq!(bad_command["error"]["code"], -32602);

    // Still alive and answering.
    c.open(&closed, "dockerfile", "FROM a\n").await;
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": closed}})).await;
    assert!(lenses.is_array(), "{lenses}");
    assert_eq!(c.result("shutdown", Value::Null).await, Value::Null);
}

/// Changing the settings refreshes lenses and hints, but only on clients that said they support it.
#[tokio::test]
async fn refresh_is_sent_only_when_advertised() {
    let dir = tempfile::tempdir().unwrap();
    let settings = json!({"settings": {"buildlens": {"codeLens": {"enabled": false}}}});

    let mut plain = TestClient::start();
    plain.initialize(no_caps(), Value::Null, dir.path()).await;
    plain.notify("workspace/didChangeConfiguration", settings.clone()).await;
    plain.settle(Duration::from_millis(300)).await;
    assert_eq!(plain.server_methods(), Vec::<String>::new());

    let mut rich = TestClient::start();
    let caps = json!({"workspace": {"codeLens": {"refreshSupport": true}, "inlayHint": {"refreshSupport": true}}});
    rich.initialize(caps, Value::Null, dir.path()).await;
    rich.notify("workspace/didChangeConfiguration", settings).await;
    rich.wait_for(|m| m["method"] == "workspace/inlayHint/refresh").await;
    rich.settle(Duration::from_millis(100)).await;
    let mut methods = rich.server_methods();
    methods.sort();
    assert_eq!(methods, vec!["workspace/codeLens/refresh", "workspace/inlayHint/refresh"]);
}

/// Settings come from `initializationOptions` and, for pull-model clients, `workspace/configuration`.
#[tokio::test]
async fn settings_are_pulled_when_the_client_supports_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let uri = file_uri(&dir.path().join("Dockerfile"));
    let mut c = TestClient::start();
    c.configuration = json!({"codeLens": {"enabled": false}});
    c.initialize(json!({"workspace": {"configuration": true}}), Value::Null, dir.path()).await;
    c.wait_for(|m| m["method"] == "workspace/configuration").await;
    assert_eq!(c.server_requests[0]["params"]["items"][0]["section"], "buildlens");
    c.open(&uri, "dockerfile", "FROM a\n").await;
    // Lenses are off: the server answers null rather than a list. The settings are applied by a spawned
    // task once the client's answer arrives, and no message says when: poll, bounded at 5 s.
    let mut lenses = json!([]);
    for _ in 0..250 {
        lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
        if lenses.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lenses, Value::Null);
}

//! The server's `buildlens.remote` setting (issue 17): a record that exists only in the registry shows on
//! the open Dockerfile's lines, pulled in the background and refreshed; a registry that cannot be reached
//! is one log line, never a popup, and the server keeps answering from what the store has.
//! Against the real registry `scripts/registry.sh` starts (the first test), and a closed local port.

mod registry_support;
mod support_lsp;

use serde_json::{json, Value};
use support_lsp::{file_uri, TestClient, Workspace, FAILING, TIMEOUT};

fn refreshable() -> Value {
    json!({"workspace": {"codeLens": {"refreshSupport": true}, "inlayHint": {"refreshSupport": true}}})
}

/// A workspace with the captured failing build's Dockerfile and an empty store.
fn empty_workspace() -> Workspace {
    let ws = Workspace::with_record(FAILING);
    std::fs::remove_dir_all(&ws.store).unwrap();
    ws
}

async fn lens_titles(c: &mut TestClient, uri: &str) -> Vec<String> {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    lenses.as_array().map(|a| a.iter().filter_map(|l| l["command"]["title"].as_str().map(str::to_string)).collect()).unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
async fn a_record_only_in_the_registry_shows_on_its_line() {
    let target = format!("{}/{}", registry_support::plain(), registry_support::unique_repo("lsp"));
    let ci = Workspace::with_record(FAILING);
    let pushed = registry_support::buildlens(&ci.root(), &["push", "--all", "--to", &target], &[]);
    assert!(pushed.status.success(), "push: {}", registry_support::text(&pushed.stderr));

    let ws = empty_workspace();
    let mut c = TestClient::start();
    let options = json!({"storePath": ws.store, "lenses": "all", "remote": target, "remoteIntervalSeconds": 3600});
    c.initialize(refreshable(), options, &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT * 3;
    let (failed, line) = loop {
        let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
        let titles = lens_titles(&mut c, &uri).await;
        let hit = lenses.as_array().into_iter().flatten().find(|l| l["command"]["title"].as_str().is_some_and(|t| t.contains("exit 3")));
        if let Some(l) = hit {
            break (l["command"]["title"].as_str().unwrap().to_string(), l["range"]["start"]["line"].clone());
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let refresh = c.try_wait_for(left, |m| m["method"] == "workspace/codeLens/refresh").await;
        assert!(refresh.is_some(), "no refresh bringing the pulled record; lenses: {titles:?}");
    };
    assert!(failed.to_lowercase().contains("fail"), "{failed}");
    // The hover says where that run came from.
    let hover = c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 0}})).await;
    let text = hover["contents"]["value"].as_str().unwrap_or_default().to_string();
    assert!(text.contains("Pulled from the registry:") && text.contains(&registry_support::plain()), "{text}");
    let pulled = registry_support::pulled(&buildlens::store::Store::at(&ws.store));
    assert_eq!(pulled.len(), 1, "the record is in the store's remote area");
    assert!(!c.server_methods().iter().any(|m| m == "window/showMessage"), "no popup");
}

#[tokio::test]
async fn an_unreachable_registry_is_one_log_line_and_lenses_still_answer() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ws = empty_workspace();
    let mut c = TestClient::start();
    let options =
        json!({"storePath": ws.store, "lenses": "all", "remote": format!("127.0.0.1:{port}/team/app"), "remoteIntervalSeconds": 3600});
    c.initialize(refreshable(), options, &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    let logged = c
        .try_wait_for(TIMEOUT, |m| {
            m["method"] == "window/logMessage" && m["params"]["message"].as_str().is_some_and(|s| s.contains("cannot pull records from"))
        })
        .await
        .expect("one log line saying the registry could not be reached");
    let message = logged["params"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(lens_titles(&mut c, &uri).await.is_empty(), "nothing recorded: no lens, and the request answered");
    assert!(!c.server_methods().iter().any(|m| m == "window/showMessage"), "no popup");
}

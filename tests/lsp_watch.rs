//! Live and current: records written or growing while the server runs are picked up without a restart,
//! through the client's `didChangeWatchedFiles` (dynamic registration) or, without it, through `notify`.
//! Every wait is for a message, with a timeout; nothing sleeps to synchronise.

mod support_lsp;

use std::io::Write;
use std::sync::Arc;

use buildlens::lsp::{Options, StoreSource};
use serde_json::{json, Value};
use support_lsp::{file_uri, TestClient, Workspace, FAILING, FIXED, TIMEOUT};

fn dynamic() -> Value {
    json!({"didChangeWatchedFiles": {"dynamicRegistration": true}})
}

fn refreshable(mut workspace: Value) -> Value {
    workspace["codeLens"] = json!({"refreshSupport": true});
    workspace["inlayHint"] = json!({"refreshSupport": true});
    workspace
}

async fn start(ws: &Workspace, caps: Value) -> TestClient {
    let mut c = TestClient::start();
    c.initialize(caps, ws.options(), &ws.root()).await;
    c
}

async fn open_dockerfile(c: &mut TestClient, ws: &Workspace) -> String {
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    uri
}

/// The title of the lens on 0-based line `line`.
async fn lens_at(c: &mut TestClient, uri: &str, line: i64) -> String {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let lens = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == line).cloned();
    lens.map(|l| l["command"]["title"].as_str().unwrap().to_string()).unwrap_or_default()
}

/// `workspace/didChangeWatchedFiles` for these paths (1 = created, 2 = changed).
async fn files_changed(c: &mut TestClient, changes: &[(&std::path::Path, u8)]) {
    let changes: Vec<Value> = changes.iter().map(|(p, t)| json!({"uri": file_uri(p), "type": t})).collect();
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": changes})).await;
}

async fn new_record_event(c: &mut TestClient, dir: &std::path::Path) {
    files_changed(c, &[(dir, 1), (&dir.join("build.log"), 1), (&dir.join("meta.json"), 1)]).await;
}

/// Waits (with a timeout) for a `codeLens/refresh` after which the lens on `line` satisfies `ok`.
async fn lens_after_refreshes(c: &mut TestClient, uri: &str, line: i64, ok: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        c.try_wait_for(left, |m| m["method"] == "workspace/codeLens/refresh").await.expect("no codeLens/refresh in time");
        let title = lens_at(c, uri, line).await;
        if ok(&title) {
            return title;
        }
    }
}

#[tokio::test]
async fn the_store_is_watched_through_the_client_when_it_offers_dynamic_registration() {
    let ws = Workspace::with_record(FAILING);
    let mut c = start(&ws, json!({"workspace": refreshable(dynamic())})).await;
    let reg = c.wait_for(|m| m["method"] == "client/registerCapability").await;
    let r = &reg["params"]["registrations"][0];
    assert_eq!(r["method"], "workspace/didChangeWatchedFiles");
    assert_eq!(r["registerOptions"]["watchers"][0]["globPattern"], "**/.buildlens/builds/**");

    let uri = open_dockerfile(&mut c, &ws).await;
    assert!(lens_at(&mut c, &uri, 4).await.starts_with("✗ failed"));
    assert_eq!(c.diagnostics(&uri, 1).await.len(), 1);

    let dir = ws.add_record(FIXED, "2026-11-01T11:00:00Z");
    new_record_event(&mut c, &dir).await;
    c.wait_for(|m| m["method"] == "workspace/codeLens/refresh").await;
    c.wait_for(|m| m["method"] == "workspace/inlayHint/refresh").await;
    let title = lens_at(&mut c, &uri, 4).await;
    assert!(title.starts_with("⏱ 2.5s · executed"), "{title}");
    // The failure is fixed in the newer build: its diagnostic is withdrawn.
    assert_eq!(c.diagnostics(&uri, 1).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_client_without_refresh_support_gets_fresh_lenses_on_its_next_request() {
    let ws = Workspace::with_record(FAILING);
    let mut c = start(&ws, json!({"workspace": dynamic()})).await;
    let uri = open_dockerfile(&mut c, &ws).await;
    assert!(lens_at(&mut c, &uri, 4).await.starts_with("✗ failed"));
    assert_eq!(c.diagnostics(&uri, 1).await.len(), 1);

    let dir = ws.add_record(FIXED, "2026-11-01T11:00:00Z");
    new_record_event(&mut c, &dir).await;
    let title = lens_at(&mut c, &uri, 4).await;
    assert!(title.starts_with("⏱ 2.5s · executed"), "{title}");
    // The worker's republished diagnostics come after its (skipped) refresh requests.
    assert_eq!(c.diagnostics(&uri, 1).await, Vec::<Value>::new());
    assert_eq!(c.server_methods(), vec!["client/registerCapability"]);
}

#[tokio::test]
async fn events_for_files_the_server_writes_itself_change_nothing() {
    let ws = Workspace::with_record(FAILING);
    let mut c = start(&ws, json!({"workspace": refreshable(dynamic())})).await;
    let uri = open_dockerfile(&mut c, &ws).await;
    c.diagnostics(&uri, 1).await;
    // Written without an event: not seen (no request stats the store).
    let dir = ws.add_record(FIXED, "2026-11-01T11:00:00Z");
    files_changed(&mut c, &[(&dir.join("summary.json"), 2), (&ws.root().join("README.md"), 2)]).await;
    assert!(lens_at(&mut c, &uri, 4).await.starts_with("✗ failed"));
    // The event for the log then makes it current.
    files_changed(&mut c, &[(&dir.join("build.log"), 2)]).await;
    assert!(lens_at(&mut c, &uri, 4).await.starts_with("⏱ 2.5s"));
    c.wait_for(|m| m["method"] == "workspace/codeLens/refresh").await;
    let refreshes = c.server_methods().iter().filter(|m| *m == "workspace/codeLens/refresh").count();
    assert_eq!(refreshes, 1);
}

fn append(path: &std::path::Path, bytes: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes.as_bytes()).unwrap();
}

#[tokio::test]
async fn a_growing_log_updates_the_running_lens_through_the_client_watch() {
    let ws = Workspace::with_record(FAILING);
    let rest = ws.make_live();
    let mut c = start(&ws, json!({"workspace": refreshable(dynamic())})).await;
    let uri = open_dockerfile(&mut c, &ws).await;
    assert!(lens_at(&mut c, &uri, 4).await.starts_with("⏵ running"));

    append(&ws.log, &rest);
    files_changed(&mut c, &[(&ws.log, 2)]).await;
    c.wait_for(|m| m["method"] == "workspace/codeLens/refresh").await;
    let title = lens_at(&mut c, &uri, 4).await;
    assert!(title.starts_with("✗ failed") && title.contains("(exit 3)"), "{title}");
}

#[tokio::test]
async fn without_dynamic_registration_the_server_watches_with_notify() {
    let ws = Workspace::with_record(FAILING);
    let rest = ws.make_live();
    let mut c = start(&ws, json!({"workspace": refreshable(json!({}))})).await;
    let uri = open_dockerfile(&mut c, &ws).await;
    assert!(lens_at(&mut c, &uri, 4).await.starts_with("⏵ running"));

    // A growing log: the bytes are appended, nobody tells the server.
    append(&ws.log, &rest);
    let title = lens_after_refreshes(&mut c, &uri, 4, |t| t.starts_with("✗ failed")).await;
    assert!(title.contains("(exit 3)"), "{title}");

    // A new record.
    ws.add_record(FIXED, "2026-11-01T11:00:00Z");
    lens_after_refreshes(&mut c, &uri, 4, |t| t.starts_with("⏱ 2.5s · executed")).await;
    assert!(!c.server_methods().iter().any(|m| m == "client/registerCapability"));
}

#[tokio::test]
async fn a_store_created_after_start_up_is_watched_too() {
    let ws = Workspace::with_record(FAILING);
    std::fs::remove_dir_all(&ws.store).unwrap();
    let mut c = start(&ws, json!({"workspace": refreshable(json!({}))})).await;
    let uri = open_dockerfile(&mut c, &ws).await;
    assert_eq!(lens_at(&mut c, &uri, 4).await, "");
    ws.add_record(FIXED, "2026-11-01T11:00:00Z");
    lens_after_refreshes(&mut c, &uri, 4, |t| t.starts_with("⏱ 2.5s · executed")).await;
}

#[tokio::test]
async fn indexing_reports_progress_only_to_clients_that_support_it() {
    let ws = Workspace::with_record(FAILING);
    let noisy = || Options { source: Arc::new(StoreSource::with_progress_threshold(0)), ..Options::default() };

    let mut c = TestClient::start_with(noisy());
    c.initialize(json!({"window": {"workDoneProgress": true}, "workspace": dynamic()}), ws.options(), &ws.root()).await;
    let create = c.wait_for(|m| m["method"] == "window/workDoneProgress/create").await;
    let token = create["params"]["token"].clone();
    let kinds = ["begin", "report", "end"];
    for kind in kinds {
        let p = c.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == kind).await;
        assert_eq!(p["params"]["token"], token);
        if kind == "report" {
            assert_eq!(p["params"]["value"]["percentage"], 100);
        }
    }

    let mut quiet = TestClient::start_with(noisy());
    quiet.initialize(json!({"workspace": dynamic()}), ws.options(), &ws.root()).await;
    let uri = open_dockerfile(&mut quiet, &ws).await;
    // The first request waits for the start-up indexing, so it has run when this answers.
    assert!(lens_at(&mut quiet, &uri, 4).await.starts_with("✗ failed"));
    quiet.diagnostics(&uri, 1).await;
    assert_eq!(quiet.server_methods(), vec!["client/registerCapability"]);
    assert!(quiet.try_wait_for(std::time::Duration::ZERO, |m| m["method"] == "$/progress").await.is_none());
}

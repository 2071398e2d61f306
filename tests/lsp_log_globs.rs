//! `buildlens.logGlobs`: build logs outside the store (workspace-relative globs) count as build records,
//! read only (their summaries are cached inside the store), and are picked up live like store records.

mod support_lsp;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use support_lsp::{file_uri, TestClient, Workspace, CAPTURED, FAILING, FIXED, TIMEOUT};

/// A workspace whose store (with its `.gitignore`) has no records, with the captured failing build as `ci/logs/build-1.log`
/// (modified an hour ago). The log names its Dockerfile `failing.Dockerfile` (`load build definition
/// from …`), which is how a log without a record is tied to a Dockerfile.
fn workspace() -> (Workspace, PathBuf) {
    let mut ws = Workspace::with_record(FAILING);
    std::fs::remove_dir_all(ws.store.join("builds")).unwrap();
    let named = ws.root().join("failing.Dockerfile");
    std::fs::rename(&ws.dockerfile, &named).unwrap();
    ws.dockerfile = named;
    let logs = ws.root().join("ci/logs");
    std::fs::create_dir_all(&logs).unwrap();
    let log = logs.join("build-1.log");
    std::fs::copy(format!("{CAPTURED}/{FAILING}.log"), &log).unwrap();
    age(&log, 3600);
    (ws, log)
}

fn age(path: &Path, secs: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
}

fn fixed_log() -> String {
    FIXED.replace("definition from Dockerfile", "definition from failing.Dockerfile")
}

async fn start(ws: &Workspace, caps: Value) -> (TestClient, String) {
    let mut c = TestClient::start();
    // Every step's lens (`lenses: "all"`): these tests follow a quick step's lens.
    let options = json!({"storePath": ws.store, "logGlobs": ["ci/**/*.log"], "lenses": "all"});
    c.initialize(caps, options, &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    (c, uri)
}

async fn lens_at(c: &mut TestClient, uri: &str, line: i64) -> Value {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == line).cloned().unwrap_or(Value::Null)
}

fn title(lens: &Value) -> String {
    lens["command"]["title"].as_str().unwrap_or("").to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn globbed_logs_count_as_records_and_are_picked_up_live_through_the_client_watch() {
    let (ws, log) = workspace();
    let caps = json!({
        "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}, "codeLens": {"refreshSupport": true}},
        "window": {"showDocument": {"support": true}},
    });
    let (mut c, uri) = start(&ws, caps).await;
    let reg = c.wait_for(|m| m["method"] == "client/registerCapability").await;
    assert_eq!(reg["params"]["registrations"][0]["registerOptions"]["watchers"][1]["globPattern"], "ci/**/*.log");

    let failed = lens_at(&mut c, &uri, 4).await;
    assert!(title(&failed).starts_with("✗ failed") && title(&failed).contains("(exit 3)"), "{failed}");
    assert_eq!(failed["command"]["arguments"][0]["path"], json!(log));
    assert_eq!(c.diagnostics(&uri, 1).await.len(), 1);
    // Read only: nothing written next to the log; its summary is cached inside the store.
    assert_eq!(files_in(log.parent().unwrap()), vec!["build-1.log"]);
    assert_eq!(files_in(&ws.store.join("external")).len(), 1);

    // A newer log appears: the client tells the server, which refreshes.
    let newer = log.with_file_name("build-2.log");
    std::fs::write(&newer, fixed_log()).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": file_uri(&newer), "type": 1}]})).await;
    c.wait_for(|m| m["method"] == "workspace/codeLens/refresh").await;
    let fixed = lens_at(&mut c, &uri, 4).await;
    assert!(title(&fixed).starts_with("⏱ 2.5s · executed"), "{fixed}");
    assert_eq!(c.diagnostics(&uri, 1).await, Vec::<Value>::new(), "the newer log's success clears the error");

    // Its lens opens the globbed log (outside the store) at the step.
    let args = fixed["command"]["arguments"].clone();
    c.result("workspace/executeCommand", json!({"command": "buildlens.openLog", "arguments": args})).await;
    let show = c.wait_for(|m| m["method"] == "window/showDocument").await;
    assert_eq!(show["params"]["uri"], file_uri(&newer));
    assert_eq!(files_in(log.parent().unwrap()), vec!["build-1.log", "build-2.log"]);
}

#[tokio::test]
async fn without_client_watching_a_new_globbed_log_is_seen_through_notify() {
    let (ws, log) = workspace();
    let (mut c, uri) = start(&ws, json!({"workspace": {"codeLens": {"refreshSupport": true}}})).await;
    assert!(title(&lens_at(&mut c, &uri, 4).await).starts_with("✗ failed"));
    std::fs::write(log.with_file_name("build-2.log"), fixed_log()).unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        c.try_wait_for(left, |m| m["method"] == "workspace/codeLens/refresh").await.expect("no codeLens/refresh in time");
        if title(&lens_at(&mut c, &uri, 4).await).starts_with("⏱ 2.5s · executed") {
            break;
        }
    }
    // A log outside the globs is not a record, and `openLog` refuses it.
    let stray = ws.root().join("stray.log");
    std::fs::copy(&log, &stray).unwrap();
    let refused =
        c.request("workspace/executeCommand", json!({"command": "buildlens.openLog", "arguments": [{"path": stray, "offset": 0}]})).await;
    assert_eq!(refused["result"], Value::Null);
}

//! Acceptance items of the language server issue not covered elsewhere: diagnostics withdrawn when a
//! later build of the step succeeds, a lens click showing the log at its step, a burst of edits to a
//! Dockerfile, a panic in the analysis, lenses and hints turned off, one analysis per document version
//! whatever asks. Every wait has a deadline.

mod support_lsp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use buildlens::analysis::Annotated;
use buildlens::lsp::{Counters, Indexing, Options, Source};
use buildlens::store::Store;
use serde_json::{json, Value};
use support_lsp::{file_uri, TestClient, Workspace, FAILING, FIXED, TIMEOUT};

async fn start(ws: &Workspace, caps: Value, options: Value) -> (TestClient, String) {
    let mut c = TestClient::start();
    c.initialize(caps, options, &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    (c, uri)
}

fn errors_on(diags: &[Value], line: i64) -> usize {
    diags.iter().filter(|d| d["severity"] == 1 && d["range"]["start"]["line"] == line).count()
}

/// Without any client watching (the server's own `notify` watch), a newer passing record of the same
/// Dockerfile appears: the error on the failed step's line is withdrawn by a new `publishDiagnostics`.
#[tokio::test]
async fn diagnostics_are_cleared_when_a_later_build_of_that_step_succeeds() {
    let ws = Workspace::with_record(FAILING);
    let (mut c, uri) = start(&ws, json!({}), ws.options()).await;
    assert_eq!(errors_on(&c.diagnostics(&uri, 1).await, 4), 1);
    ws.add_record(FIXED, "2026-11-01T11:00:00Z");
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let m = c
            .try_wait_for(left, |m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
            .await
            .expect("the error was not withdrawn in time");
        assert_eq!(m["params"]["version"], 1);
        if errors_on(m["params"]["diagnostics"].as_array().unwrap(), 4) == 0 {
            break;
        }
    }
}

/// The lens's own command, sent back as a client does on a click, shows the log at the failed step.
#[tokio::test]
async fn clicking_a_lens_shows_the_log_at_its_step() {
    let ws = Workspace::with_record(FAILING);
    let (mut c, uri) = start(&ws, json!({"window": {"showDocument": {"support": true}}}), ws.options()).await;
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let lens = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == 4).unwrap().clone();
    let command = &lens["command"];
    let params = json!({"command": command["command"], "arguments": command["arguments"]});
    c.result("workspace/executeCommand", params).await;
    let show = c.wait_for(|m| m["method"] == "window/showDocument").await;
    assert_eq!(show["params"]["uri"], file_uri(&ws.log));
    assert_eq!(show["params"]["takeFocus"], true);
    let line = show["params"]["selection"]["start"]["line"].as_u64().unwrap() as usize;
    let log = std::fs::read_to_string(&ws.log).unwrap();
    let shown = log.lines().nth(line).unwrap();
    assert!(shown.starts_with("#9 "), "the failed step's vertex (#9 [5/6]): {shown}");
}

/// 200 edits to the Dockerfile sent back to back (each inserts a line at the top): the lenses and the
/// diagnostics and the hover follow the last buffer.
#[tokio::test]
async fn a_burst_of_200_edits_leaves_lenses_and_diagnostics_on_the_last_version() {
    let ws = Workspace::with_record(FAILING);
    let (mut c, uri) = start(&ws, json!({}), ws.options()).await;
    c.diagnostics(&uri, 1).await;
    for v in 2..=201 {
        let top = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
        let change = json!({"textDocument": {"uri": uri, "version": v}, "contentChanges": [{"range": top, "text": format!("# {v}\n")}]});
        c.notify("textDocument/didChange", change).await;
    }
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let failed = lenses.as_array().unwrap().iter().find(|l| l["command"]["title"].as_str().unwrap().starts_with("✗ failed")).unwrap();
    assert_eq!(failed["range"]["start"]["line"], 204);
    assert_eq!(errors_on(&c.diagnostics(&uri, 201).await, 204), 1);
    let hover = json!({"textDocument": {"uri": uri}, "position": {"line": 205, "character": 0}});
    let md = c.result("textDocument/hover", hover).await;
    assert!(md["contents"]["value"].as_str().unwrap().contains("| failed |"), "{md}");
}

/// codeLens, inlayHint and hover on the failed step's `line`, each answered.
async fn lens_hint_hover(c: &mut TestClient, uri: &str, line: u32) {
    let all = json!({"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}});
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let hints = c.result("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": all})).await;
    let hover = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 0}});
    let hover = c.result("textDocument/hover", hover).await;
    assert!(lenses.as_array().is_some_and(|l| !l.is_empty()), "{lenses}");
    assert!(hints.as_array().is_some(), "{hints}");
    assert!(hover["contents"]["value"].as_str().is_some_and(|v| v.contains("| failed |")), "{hover}");
}

/// codeLens, inlayHint and hover (and the diagnostics published on open) of one document version reach
/// the workspace's analysis once: one snapshot, one prediction. An edit makes exactly one more of each.
#[tokio::test]
async fn the_requests_of_one_version_share_one_snapshot_of_the_workspace() {
    let ws = Workspace::with_record(FAILING);
    let counters = Arc::new(Counters::default());
    let mut c = TestClient::start_with(Options { counters: counters.clone(), ..Options::default() });
    c.initialize(json!({}), ws.options(), &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    assert_eq!(errors_on(&c.diagnostics(&uri, 1).await, 4), 1);
    lens_hint_hover(&mut c, &uri, 5).await;
    assert_eq!((counters.snapshots(), counters.predictions()), (1, 1), "one analysis for every request of version 1");
    let top = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    let change = json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": top, "text": "# edited\n"}]});
    c.notify("textDocument/didChange", change).await;
    assert_eq!(errors_on(&c.diagnostics(&uri, 2).await, 5), 1);
    lens_hint_hover(&mut c, &uri, 6).await;
    assert_eq!((counters.snapshots(), counters.predictions()), (2, 2), "one more for version 2");
}

/// An open log's links, definitions and diagnostics read one `LogSnapshot` per log version: the
/// diagnostics published on open, documentLink and definition scan the log once; an edit of the linked
/// Dockerfile's buffer scans the links again (once), and no Dockerfile request touches it.
#[tokio::test]
async fn the_requests_of_one_log_version_share_one_log_snapshot() {
    let ws = Workspace::with_record(FAILING);
    let counters = Arc::new(Counters::default());
    let mut c = TestClient::start_with(Options { counters: counters.clone(), ..Options::default() });
    c.initialize(json!({}), ws.options(), &ws.root()).await;
    let uri = file_uri(&ws.log);
    c.open(&uri, "log", &std::fs::read_to_string(&ws.log).unwrap()).await;
    assert!(!c.diagnostics(&uri, 1).await.is_empty());
    let links = c.result("textDocument/documentLink", json!({"textDocument": {"uri": uri}})).await;
    assert!(links.as_array().is_some_and(|l| !l.is_empty()), "{links}");
    let at = json!({"textDocument": {"uri": uri}, "position": {"line": 37, "character": 0}});
    assert_eq!(c.result("textDocument/definition", at.clone()).await["range"]["start"]["line"], 4);
    assert_eq!(counters.log_snapshots(), 1, "one log snapshot for every request of version 1");
    // The Dockerfile opened and edited above its step: the log's links follow the buffer.
    let df = file_uri(&ws.dockerfile);
    c.open(&df, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    let top = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    let change = json!({"textDocument": {"uri": df, "version": 2}, "contentChanges": [{"range": top, "text": "# edited\n"}]});
    c.notify("textDocument/didChange", change).await;
    assert_eq!(c.result("textDocument/definition", at.clone()).await["range"]["start"]["line"], 5);
    c.result("textDocument/documentLink", json!({"textDocument": {"uri": uri}})).await;
    assert_eq!(counters.log_snapshots(), 2, "one more for the Dockerfile's new version");
}

/// A source whose analysis panics (a bug, a record nobody expected).
struct Panicking;

impl Source for Panicking {
    fn refresh(&self, _: &Store, _: &dyn Fn(Indexing)) -> u64 {
        0
    }
    fn invalidate(&self, _: &Store, _: &[PathBuf]) -> bool {
        false
    }
    fn invalidate_all(&self) {}
    fn annotate(&self, _: &Store, _: &Path, _: &Path, _: &str, _: usize) -> Annotated {
        panic!("analysis exploded")
    }
}

#[tokio::test]
async fn a_panic_in_the_analysis_is_an_error_response_and_the_server_keeps_answering() {
    let ws = Workspace::with_record(FAILING);
    let mut c = TestClient::start_with(Options { source: Arc::new(Panicking), ..Options::default() });
    c.initialize(json!({}), ws.options(), &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", "FROM a\n").await;
    for _ in 0..2 {
        let r = c.request("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
        assert_eq!(r["error"]["code"], -32603, "{r}");
        assert!(r["error"]["message"].as_str().unwrap().contains("analysis exploded"), "{r}");
    }
    let log = file_uri(&ws.log);
    c.open(&log, "log", &std::fs::read_to_string(&ws.log).unwrap()).await;
    assert_eq!(c.diagnostics(&log, 1).await.len(), 2, "other documents still work");
}

#[tokio::test]
async fn lenses_and_inlay_hints_can_each_be_turned_off() {
    let ws = Workspace::with_record(FAILING);
    let all = |uri: &str| json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}}});
    let off = |what: &str| {
        let mut o = ws.options();
        o[what] = json!({"enabled": false});
        o["lenses"] = json!("auto"); // quiet lines keep their hints
        o
    };
    let (mut c, uri) = start(&ws, json!({}), off("codeLens")).await;
    assert_eq!(c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await, Value::Null);
    assert!(!c.result("textDocument/inlayHint", all(&uri)).await.as_array().unwrap().is_empty());
    let (mut c, uri) = start(&ws, json!({}), off("inlayHints")).await;
    assert_eq!(c.result("textDocument/inlayHint", all(&uri)).await, Value::Null);
    assert!(!c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await.as_array().unwrap().is_empty());
}

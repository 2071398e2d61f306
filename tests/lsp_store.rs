//! The server over a real temporary store holding a real captured build
//! (`corpus/captured/bk20-plain-failing.log` and its Dockerfile, copied at test time).

mod support_lsp;

use std::time::Duration;

use serde_json::{json, Value};
use support_lsp::{copy_dir, file_uri, TestClient, Workspace};

const FAILING: &str = "bk20-plain-failing";

async fn start(ws: &Workspace, caps: Value) -> TestClient {
    let mut c = TestClient::start();
    c.initialize(caps, ws.options(), &ws.root()).await;
    c
}

/// A copy of the bundled example with the server on it (no engine) and its Dockerfile open; the folder
/// lives as long as the returned guard.
async fn open_example() -> (tempfile::TempDir, TestClient, String) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap().join("example");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &root);
    let mut c = TestClient::start();
    c.initialize(json!({}), json!({"storePath": root.join(".buildlens"), "docker": {"host": "unix:///nonexistent.sock"}}), &root).await;
    let uri = open_file(&mut c, &root.join("Dockerfile"), "dockerfile").await;
    (tmp, c, uri)
}

async fn open_file(c: &mut TestClient, path: &std::path::Path, language: &str) -> String {
    let uri = file_uri(path);
    c.open(&uri, language, &std::fs::read_to_string(path).unwrap()).await;
    uri
}

#[tokio::test]
async fn an_open_record_log_links_its_steps_to_dockerfile_lines() {
    let ws = Workspace::with_record(FAILING);
    let mut c = start(&ws, json!({})).await;
    let uri = open_file(&mut c, &ws.log, "log").await;
    let links = c.result("textDocument/documentLink", json!({"textDocument": {"uri": uri}})).await;
    let got: Vec<(i64, String)> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["range"]["start"]["line"].as_i64().unwrap(), l["target"].as_str().unwrap().rsplit('#').next().unwrap().to_string()))
        .collect();
    // Log lines (0-based) of `[k/6]` headers and the error block's ` > [5/6] …:` → Dockerfile lines.
    let expect: Vec<(i64, String)> =
        [(14, 1), (23, 2), (27, 3), (31, 4), (37, 5), (43, 5)].iter().map(|(l, t)| (*l, format!("L{t}"))).collect();
    assert_eq!(got, expect);
    let first = &links[0];
    assert_eq!(first["range"]["start"]["character"], 3);
    assert!(first["target"].as_str().unwrap().starts_with(&file_uri(&ws.dockerfile)));

    let at = |line: u32, character: u32| json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
    let def = c.result("textDocument/definition", at(37, 10)).await;
    assert_eq!(def["uri"], file_uri(&ws.dockerfile));
    assert_eq!(def["range"]["start"]["line"], 4);
    // From column 1 of a step header (`#9 [5/6] …`), before the link text.
    let def = c.result("textDocument/definition", at(37, 0)).await;
    assert_eq!(def["range"]["start"]["line"], 4, "definition from column 1 of a step header");
    assert_eq!(c.result("textDocument/definition", at(38, 10)).await, Value::Null, "a digest line links nowhere");

    // The log's own error lines are diagnostics: hints, since the failure is the Dockerfile's diagnostic
    // already (Problems lists it once; the log still marks its lines).
    let diags = c.diagnostics(&uri, 1).await;
    let lines: Vec<(i64, i64)> =
        diags.iter().map(|d| (d["range"]["start"]["line"].as_i64().unwrap(), d["severity"].as_i64().unwrap())).collect();
    assert_eq!(lines, vec![(41, 4), (45, 4)]);
}

#[tokio::test]
async fn log_links_follow_the_unsaved_dockerfile_buffer() {
    let ws = Workspace::with_record(FAILING);
    let mut c = start(&ws, json!({})).await;
    let df = open_file(&mut c, &ws.dockerfile, "dockerfile").await;
    // Two lines inserted at the top of the buffer (not saved): the steps are now two lines lower.
    let top = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    let change = json!({"textDocument": {"uri": df, "version": 2}, "contentChanges": [{"range": top, "text": "# one\n# two\n"}]});
    c.notify("textDocument/didChange", change).await;
    let log = open_file(&mut c, &ws.log, "log").await;
    let def = c.result("textDocument/definition", json!({"textDocument": {"uri": log}, "position": {"line": 37, "character": 4}})).await;
    assert_eq!(def["range"]["start"]["line"], 6);
}

#[tokio::test]
async fn the_open_log_command_asks_the_client_to_show_the_step() {
    let ws = Workspace::with_record(FAILING);
    let args = json!({"command": "buildlens.openLog", "arguments": [{"path": ws.log, "offset": 1405}]});

    let at_step = json!({"start": {"line": 39, "character": 0}, "end": {"line": 39, "character": 0}});
    let target = json!({"uri": file_uri(&ws.log), "range": at_step});
    let mut c = start(&ws, json!({"window": {"showDocument": {"support": true}}})).await;
    assert_eq!(c.result("workspace/executeCommand", args.clone()).await, target);
    let show = c.wait_for(|m| m["method"] == "window/showDocument").await;
    assert_eq!(show["params"]["uri"], file_uri(&ws.log));
    assert_eq!(show["params"]["selection"]["start"]["line"], 39);

    // Outside the store: refused quietly.
    let outside = json!({"command": "buildlens.openLog", "arguments": [{"path": ws.dockerfile, "offset": 0}]});
    assert_eq!(c.result("workspace/executeCommand", outside).await, Value::Null);
    c.settle(Duration::from_millis(200)).await;
    assert_eq!(c.server_methods(), vec!["window/showDocument"]);

    // A client without showDocument support is not asked; it opens the answer itself.
    let mut plain = start(&ws, json!({})).await;
    assert_eq!(plain.result("workspace/executeCommand", args).await, target);
    plain.settle(Duration::from_millis(200)).await;
    assert!(plain.server_methods().is_empty());
}

/// A deleted store and a corrupt record give fewer results, never a failed request or a dead server.
#[tokio::test]
async fn a_corrupt_record_or_a_deleted_store_leaves_requests_answered() {
    let ws = Workspace::with_record(FAILING);
    let broken = ws.store.join("builds/20261101T090000.000Z-dead");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("meta.json"), "{ not a record").unwrap();
    std::fs::write(broken.join("build.log"), [0xff, 0xfe, 0x00, b'\n']).unwrap();
    let mut c = start(&ws, json!({})).await;
    let uri = open_file(&mut c, &ws.dockerfile, "dockerfile").await;
    let doc = json!({"textDocument": {"uri": uri}});
    let all = json!({"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}});
    for _ in 0..2 {
        assert!(c.result("textDocument/codeLens", doc.clone()).await.is_array());
        assert!(c.result("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": all})).await.is_array());
        let hover = c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 4, "character": 0}})).await;
        assert!(hover.is_null() || hover["contents"]["kind"] == "markdown");
        std::fs::remove_dir_all(&ws.store).unwrap_or(());
    }
    c.diagnostics(&uri, 1).await;
}

// ---- Content from the analysis (`analysis::annotate` over the BuildKit plain parser's result).

#[tokio::test]
async fn lenses_hints_hover_and_diagnostics_from_a_real_failing_build() {
    let ws = Workspace::with_record(FAILING);
    let mut c = start(&ws, json!({})).await;
    let uri = open_file(&mut c, &ws.dockerfile, "dockerfile").await;

    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let title_at = |line: i64| -> String {
        let l = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == line).expect("a lens on that line");
        l["command"]["title"].as_str().unwrap().to_string()
    };
    assert_eq!(title_at(0), "✓ cached");
    assert!(title_at(3).starts_with("⏱ 0.1s · executed"), "{}", title_at(3));
    let failed = title_at(4);
    assert!(failed.starts_with("✗ failed") && failed.contains("(exit 3)") && failed.contains("something went wrong in step 3"), "{failed}");
    let lens = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == 4).unwrap();
    assert_eq!(lens["command"]["command"], "buildlens.openLog");
    assert_eq!(lens["command"]["arguments"][0]["path"], json!(ws.log));

    // `lenses: "all"` (these suites' setting) shows every run as a lens and gives no last-run hint.
    let all = json!({"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}});
    assert_eq!(c.result("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": all})).await, json!([]));

    let hover = c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 5, "character": 3}})).await;
    let md = hover["contents"]["value"].as_str().unwrap();
    assert!(
        md.contains("| build (UTC) | when | status | duration | cached | exit |")
            && md.contains("*No layer sizes: ")
            && md.contains("| failed |")
            && md.contains("| 3 |"),
        "{md}"
    );

    let diags = c.diagnostics(&uri, 1).await;
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["severity"], 1);
    assert_eq!((diags[0]["range"]["start"]["line"].as_i64(), diags[0]["range"]["end"]["line"].as_i64()), (Some(4), Some(6)));
    assert!(diags[0]["message"].as_str().unwrap().ends_with("(exit 3)"));
    assert_eq!(diags[0]["relatedInformation"][0]["location"]["uri"], file_uri(&ws.log));
}

#[tokio::test]
async fn a_build_still_being_recorded_shows_a_running_lens() {
    let ws = Workspace::with_record(FAILING);
    ws.make_live();
    let mut c = start(&ws, json!({})).await;
    let uri = open_file(&mut c, &ws.dockerfile, "dockerfile").await;
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let running = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == 4).unwrap();
    assert!(running["command"]["title"].as_str().unwrap().starts_with("⏵ running"), "{running}");
}

/// The bundled example's records carry image-history snapshots (`image.json`, taken by `record` against
/// the real daemon): the final stage's layer sizes show on its lines, with no engine to ask.
#[tokio::test]
async fn layer_sizes_from_snapshots_show_in_lenses_and_hints() {
    let (_tmp, mut c, uri) = open_example().await;
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let title_at = |line: i64| -> String {
        let l = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == line).expect("a lens on that line");
        l["command"]["title"].as_str().unwrap().to_string()
    };
    // Line 19 (0-based 18): `COPY --from=sdk /openwrt/bin/ /usr/local/bin/` made a 54-byte layer; a quick
    // step of its first build is quiet: no lens, its hint says it.
    assert!(!lenses.as_array().unwrap().iter().any(|l| l["range"]["start"]["line"] == 18), "no lens on a quiet line: {lenses}");
    // The failed package step of the last build has no image, so no size.
    assert!(title_at(15).starts_with("✗ failed") && !title_at(15).contains(" B ·"), "{}", title_at(15));
    let all = json!({"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}});
    let hints = c.result("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": all})).await;
    let hint = hints.as_array().unwrap().iter().find(|h| h["position"]["line"] == 18).expect("a hint on line 19");
    assert!(hint["label"][0]["value"].as_str().unwrap().ends_with("· 54 B"), "{hint}");
    let hover = c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 18, "character": 2}})).await;
    let md = hover["contents"]["value"].as_str().unwrap();
    assert!(md.contains("**Layer** 54 B") && md.contains("COPY /openwrt/bin/ /usr/local/bin/"), "the layer's CreatedBy: {md}");
    // Its last run is from build #2: #3 failed at line 16 before reaching it. Rows name their builds.
    assert!(md.contains("*From build #2; #3 stopped at line 16.*"), "{md}");
    let (two, one) = (md.find("| #2 · ").expect("build #2's row"), md.find("| #1 · ").expect("build #1's row"));
    assert!(two < one && md.contains("08:30 |"), "newest first, with their times: {md}");
}

/// The example's failed package step (line 16): lens and diagnostic say the compiler's error, not the
/// `make[3]: *** [Makefile:1234: all] Error 2` echo after it, and the diagnostic points at its log line.
#[tokio::test]
async fn the_example_failure_headline_is_the_compiler_error_and_points_at_its_log_line() {
    let (_tmp, mut c, uri) = open_example().await;
    let cause = "hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'";
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let lens = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == 15).expect("a lens on line 16");
    let title = lens["command"]["title"].as_str().unwrap();
    assert!(title.starts_with("✗ failed") && title.ends_with(&format!("(exit 2): {cause}")), "{title}");
    let diags = c.diagnostics(&uri, 1).await;
    let failed = diags.iter().find(|d| d["severity"] == 1).expect("the failure");
    assert_eq!(failed["message"], format!("{cause} (exit 2)"));
    let related = &failed["relatedInformation"][0]["location"];
    let log = related["uri"].as_str().unwrap().strip_prefix("file://").unwrap().to_string();
    let line = related["range"]["start"]["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().nth(line), Some(format!("#12 0.344 {cause}").as_str()), "{related}");
}

/// The hover says where the instruction stood in the newest build's timeline, as `report` does: the
/// toolchain step set 8.2 s of the build's 11.5 s; a cached step says nothing of it.
#[tokio::test]
async fn the_hover_names_the_critical_path() {
    let (_tmp, mut c, uri) = open_example().await;
    let hover_at = |line: u32| json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 1}});
    let toolchain = c.result("textDocument/hover", hover_at(8)).await;
    let md = toolchain["contents"]["value"].as_str().unwrap();
    assert!(md.contains("◆ critical path: 8.2s of 11.5s"), "{md}");
    let cached = c.result("textDocument/hover", hover_at(4)).await;
    let md = cached["contents"]["value"].as_str().unwrap();
    assert!(md.contains("cached") && !md.contains("critical path") && !md.contains("slack"), "{md}");
}

//! Document sync over the real protocol: edits stay in order under a burst, results carry the version,
//! columns are UTF-16 (or the negotiated UTF-8) on lines with é, emoji and tabs.

mod support_lsp;

use serde_json::{json, Value};
use support_lsp::{file_uri, TestClient};

/// Build logs (here: any `*.txt` through `logGlobs`) get diagnostics from their text alone, which makes
/// the buffer's state visible without a store.
async fn with_log(caps: Value) -> (TestClient, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = TestClient::start();
    c.initialize(caps, json!({"logGlobs": ["**/*.txt"]}), dir.path()).await;
    let uri = file_uri(&dir.path().join("ci.txt"));
    (c, dir, uri)
}

fn insert(line: u32, text: &str) -> Value {
    json!({"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": text})
}

#[tokio::test]
async fn a_burst_of_200_changes_ends_on_the_last_version_in_order() {
    let (mut c, _dir, uri) = with_log(json!({})).await;
    c.open(&uri, "log", "").await;
    for i in 0..200u32 {
        // Each edit appends at the line the previous ones made: applied out of order, the text differs.
        let change =
            json!({"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [insert(i, &format!("#{i} ERROR: step {i}\n"))]});
        c.notify("textDocument/didChange", change).await;
    }
    let diags = c.diagnostics(&uri, 201).await;
    let messages: Vec<String> = diags.iter().map(|d| d["message"].as_str().unwrap().to_string()).collect();
    let expect: Vec<String> = (0..200).map(|i| format!("#{i} ERROR: step {i}")).collect();
    assert_eq!(messages, expect);
    for (i, d) in diags.iter().enumerate() {
        assert_eq!(d["range"]["start"]["line"], i);
    }
    // Nothing older than the last version was published after it.
    c.settle(std::time::Duration::from_millis(200)).await;
    let r = c.try_wait_for(std::time::Duration::from_millis(10), |m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"].as_i64().is_some_and(|v| v > 201)
    });
    assert!(r.await.is_none());
}

#[tokio::test]
async fn full_text_changes_replace_the_buffer() {
    let (mut c, _dir, uri) = with_log(json!({})).await;
    c.open(&uri, "log", "#1 ERROR: a\n").await;
    assert_eq!(c.diagnostics(&uri, 1).await.len(), 1);
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "fine\n"}]})).await;
    assert_eq!(c.diagnostics(&uri, 2).await.len(), 0);
}

const LINE: &str = "\t#7 ERROR: é🐳 \"x\"";

/// The diagnostic covers the whole line: its end column is the line's length in the agreed unit.
async fn end_column(caps: Value, edit_at: u32) -> (i64, String) {
    let (mut c, _dir, uri) = with_log(caps).await;
    c.open(&uri, "log", &format!("{}\n", LINE.trim_start())).await;
    // Replace the `x` inside the quotes: the edit position is in the same unit.
    let range = json!({"start": {"line": 0, "character": edit_at}, "end": {"line": 0, "character": edit_at + 1}});
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": range, "text": "y"}]}),
    )
    .await;
    let d = c.diagnostics(&uri, 2).await;
    (d[0]["range"]["end"]["character"].as_i64().unwrap(), d[0]["message"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn utf16_columns_with_accents_and_emoji() {
    // `#7 ERROR: é🐳 "x"`: é is 1 UTF-16 unit, 🐳 is 2; x is at unit 15, the line is 17 long.
    let (end, message) = end_column(json!({}), 15).await;
    assert_eq!((end, message.as_str()), (17, "#7 ERROR: é🐳 \"y\""));
}

#[tokio::test]
async fn utf8_columns_when_negotiated() {
    let caps = json!({"general": {"positionEncodings": ["utf-8"]}});
    let (end, message) = end_column(caps, 18).await;
    assert_eq!((end, message.as_str()), (20, "#7 ERROR: é🐳 \"y\""));
}

#[tokio::test]
async fn tabs_count_as_one_unit() {
    let (mut c, _dir, uri) = with_log(json!({})).await;
    c.open(&uri, "log", "#1 WARN: a\tb\n").await;
    let d = c.diagnostics(&uri, 1).await;
    assert_eq!(d[0]["range"]["end"]["character"], 12);
    assert_eq!(d[0]["severity"], 2);
}

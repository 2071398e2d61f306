//! "Will rebuild" before building, in the language server, over the bundled example (three real
//! recorded builds, `fixtures/example`): unsaved edits of the buffer mark what will rebuild and put the
//! estimate from the recorded times on the first changed line; undoing the edit clears them.

mod support_lsp;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support_lsp::{copy_dir, file_uri, TestClient};

/// The example copied to a temporary workspace, a server on it, and the Dockerfile open.
async fn example() -> (tempfile::TempDir, TestClient, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().canonicalize().unwrap().join("example");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &root);
    let mut c = TestClient::start();
    c.initialize(json!({}), json!({"storePath": root.join(".buildlens"), "docker": {"host": "unix:///nonexistent.sock"}}), &root).await;
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let uri = file_uri(&root.join("Dockerfile"));
    c.open(&uri, "dockerfile", &text).await;
    (tmp, c, uri, text)
}

async fn change(c: &mut TestClient, uri: &str, version: i64, changes: Value) {
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes})).await;
}

/// The 0-based lines with a `↻` (will rebuild) lens, and every hint label on them: one signal per line, so
/// the last run's hint and lens give way to the will-rebuild lens.
async fn will_rebuild(c: &mut TestClient, uri: &str) -> (Vec<i64>, Vec<(i64, String)>) {
    let all = json!({"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}});
    let hints = c.result("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": all})).await;
    let label = |h: &Value| match h["label"].as_str() {
        Some(s) => s.to_string(),
        None => h["label"].as_array().unwrap().iter().map(|p| p["value"].as_str().unwrap()).collect(),
    };
    let labels: Vec<(i64, String)> =
        hints.as_array().unwrap().iter().map(|h| (h["position"]["line"].as_i64().unwrap(), label(h))).collect();
    let lines: Vec<i64> = titles(c, uri).await.into_iter().filter(|(_, t)| t.starts_with('↻')).map(|(n, _)| n).collect();
    let on_them = labels.into_iter().filter(|(n, _)| lines.contains(n)).collect();
    (lines, on_them)
}

/// Every lens: (0-based line, title).
async fn titles(c: &mut TestClient, uri: &str) -> Vec<(i64, String)> {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let titles = lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["range"]["start"]["line"].as_i64().unwrap(), l["command"]["title"].as_str().unwrap().to_string()));
    titles.collect()
}

/// The estimate lenses: (0-based line, title).
async fn estimates(c: &mut TestClient, uri: &str) -> Vec<(i64, String)> {
    titles(c, uri).await.into_iter().filter(|(_, t)| t.starts_with('↻') && !t.starts_with("↻ will rebuild")).collect()
}

/// 0-based lines of the example: the toolchain RUN (9-13), the rust RUN, the package RUN (stage sdk), the
/// final stage's COPY --from=sdk and RUN hello.
const TOOLCHAIN: i64 = 8;
const AFTER_IT: [i64; 4] = [13, 15, 18, 19];

#[tokio::test]
async fn editing_the_toolchain_step_marks_it_and_what_follows_with_the_recorded_time() {
    let (_tmp, mut c, uri, text) = example().await;
    assert_eq!(will_rebuild(&mut c, &uri).await.0, Vec::<i64>::new(), "the saved text is what the last build ran");
    assert_eq!(estimates(&mut c, &uri).await, []);

    // `      sleep 2; \` (line 11) becomes `sleep 5`: a continuation line of the toolchain RUN, unsaved.
    assert_eq!(text.lines().nth(10), Some("      sleep 2; \\"));
    let edit = json!([{"range": {"start": {"line": 10, "character": 12}, "end": {"line": 10, "character": 13}}, "text": "5"}]);
    change(&mut c, &uri, 2, edit).await;
    let (lines, labels) = will_rebuild(&mut c, &uri).await;
    assert_eq!(lines, [TOOLCHAIN, AFTER_IT[0], AFTER_IT[1], AFTER_IT[2], AFTER_IT[3]]);
    // One signal per line: no hint repeats a will-rebuild line, and the toolchain's last-run lens gives way.
    assert_eq!(labels, [], "hints on the will-rebuild lines");
    let on_toolchain: Vec<String> = titles(&mut c, &uri).await.into_iter().filter(|(l, _)| *l == TOOLCHAIN).map(|(_, t)| t).collect();
    assert_eq!(on_toolchain, ["↻ this edit rebuilds 5 steps, about 12s (last times)"]);
    let on_rust: Vec<String> = titles(&mut c, &uri).await.into_iter().filter(|(l, _)| *l == AFTER_IT[0]).map(|(_, t)| t).collect();
    assert_eq!(on_rust, ["↻ will rebuild · last 3.2s"], "the cost of a following step");
    // The records: toolchain 8.2 s, rust 3.2 s, package 0.1 s (it failed last, so its last executed run
    // of build #2), COPY --from 0.0 s, RUN hello 0.1 s ≈ 11.6 s. The unrelated stage-sdk steps before
    // the edit (feeds, COPY . .) stay unmarked.
    assert_eq!(estimates(&mut c, &uri).await, [(TOOLCHAIN, "↻ this edit rebuilds 5 steps, about 12s (last times)".to_string())]);

    // Undo: the buffer is what was built again.
    let undo = json!([{"range": {"start": {"line": 10, "character": 12}, "end": {"line": 10, "character": 13}}, "text": "2"}]);
    change(&mut c, &uri, 3, undo).await;
    assert_eq!(will_rebuild(&mut c, &uri).await.0, Vec::<i64>::new());
    assert_eq!(estimates(&mut c, &uri).await, []);
}

#[tokio::test]
async fn an_inserted_step_and_a_comment_follow_the_buffer() {
    let (_tmp, mut c, uri, _) = example().await;
    // A comment and a blank line above the toolchain step: lines move, nothing rebuilds.
    let at = |line: i64| json!({"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}});
    change(&mut c, &uri, 2, json!([{"range": at(8), "text": "# the slow one\n\n"}])).await;
    assert_eq!(will_rebuild(&mut c, &uri).await.0, Vec::<i64>::new());
    // A new step before it: the new line and everything after it, shifted by the three new lines.
    change(&mut c, &uri, 3, json!([{"range": at(10), "text": "RUN ./patch.sh\n"}])).await;
    let (lines, _) = will_rebuild(&mut c, &uri).await;
    let shifted: Vec<i64> = [TOOLCHAIN].iter().chain(&AFTER_IT).map(|l| l + 3).collect();
    assert_eq!(lines, [vec![10], shifted].concat());
    assert_eq!(estimates(&mut c, &uri).await, [(10, "↻ this edit rebuilds 6 steps, about 12s (last times; 1 step unknown)".to_string())]);
}

/// Issue 14: an append at the end of an instruction (line 7, the toolchain RUN's last line, the rust
/// RUN's last line) is an edit, though the old text is a prefix of the new one; deleting it again is not.
#[tokio::test]
async fn appends_at_the_end_of_an_instruction_are_edits() {
    let (_tmp, mut c, uri, text) = example().await;
    let mut version = 1;
    for (line, append, first) in [(6, " && echo done", 6), (12, " && true", TOOLCHAIN), (14, " && true", 13)] {
        let end = text.lines().nth(line).unwrap().len();
        let at = json!({"start": {"line": line, "character": end}, "end": {"line": line, "character": end}});
        version += 1;
        change(&mut c, &uri, version, json!([{"range": at, "text": append}])).await;
        let (lines, _) = will_rebuild(&mut c, &uri).await;
        assert_eq!(lines.first(), Some(&first), "append on 0-based line {line}: {lines:?}");
        let added = json!({"start": {"line": line, "character": end}, "end": {"line": line, "character": end + append.len()}});
        version += 1;
        change(&mut c, &uri, version, json!([{"range": added, "text": ""}])).await;
        assert_eq!(will_rebuild(&mut c, &uri).await.0, Vec::<i64>::new(), "undone on 0-based line {line}");
    }
}

/// Issue 14 item 6: the hover of a line that will rebuild says why: the edited line shows what the last
/// build ran (the snapshot's text, variables as written), a later line names the edited line it builds on.
#[tokio::test]
async fn the_hover_of_a_line_that_will_rebuild_names_its_cause() {
    let (_tmp, mut c, uri, text) = example().await;
    let end = text.lines().nth(6).unwrap().len();
    let at = json!({"start": {"line": 6, "character": end}, "end": {"line": 6, "character": end}});
    change(&mut c, &uri, 2, json!([{"range": at, "text": " && echo done"}])).await;
    let hover = |line: i64| json!({"textDocument": {"uri": &uri}, "position": {"line": line, "character": 1}});
    let edited = c.result("textDocument/hover", hover(6)).await["contents"]["value"].as_str().unwrap().to_string();
    assert!(edited.contains("**↻ Will rebuild** (against build #3): its text differs from what that build ran."), "{edited}");
    let was = text.lines().nth(6).unwrap();
    assert!(edited.contains(&format!("```text\n{was}\n```")), "the line as built: {edited}");
    let follower = c.result("textDocument/hover", hover(TOOLCHAIN)).await["contents"]["value"].as_str().unwrap().to_string();
    assert!(follower.contains("it builds on line 7 (`RUN`), which was edited"), "{follower}");
    let untouched = c.result("textDocument/hover", hover(4)).await["contents"]["value"].as_str().unwrap_or("").to_string();
    assert!(!untouched.contains("Will rebuild"), "WORKDIR before the edit: {untouched}");
}

//! "Will rebuild" end to end: `buildlens record` of a real BuildKit build of a small two-stage Dockerfile
//! (short `sleep`s stand for compiles) against the daemon `scripts/test.sh` starts, then the in-process
//! language server over that store: unsaved edits of the buffer mark what will rebuild, and the estimate
//! is the sum of the durations the recorded log gives those steps.

mod support;
mod support_lsp;

use std::process::Command;
use std::time::Duration;

use buildlens::analysis::predict::about;
use serde_json::{json, Value};
use support::{record, require_docker, unique, DOCKER};
use support_lsp::{file_uri, TestClient};

const DOCKERFILE: &str = "FROM fixture-base AS tools
COPY nonce.txt /nonce.txt
RUN sleep 1 && echo tools > /tools.txt
RUN sleep 2 && cat /nonce.txt > /toolchain.txt

FROM fixture-base
COPY --from=tools /toolchain.txt /toolchain.txt
RUN sleep 1 && cat /toolchain.txt
CMD [\"cat\", \"/toolchain.txt\"]
";

/// Removes the image the test tagged.
struct Untag(String);

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = Command::new(DOCKER).args(["rmi", &self.0]).output();
    }
}

/// The recorded log's duration of the step whose instruction starts with `start`, in ms (it executed).
fn duration_of(parsed: &Value, start: &str) -> u64 {
    let steps = parsed["builds"][0]["steps"].as_array().expect("steps");
    let step =
        steps.iter().find(|s| s["instruction"].as_str().is_some_and(|i| i.starts_with(start))).unwrap_or_else(|| panic!("no step {start}"));
    assert_eq!(step["status"], "executed", "{step}");
    step["duration_ms"].as_u64().unwrap_or_else(|| panic!("no duration: {step}"))
}

/// The 0-based lines with a `↻` (will rebuild) lens, and the estimate lenses.
async fn hints_and_estimate(c: &mut TestClient, uri: &str) -> (Vec<i64>, Vec<(i64, String)>) {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let titles: Vec<(i64, String)> = lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["range"]["start"]["line"].as_i64().unwrap(), l["command"]["title"].as_str().unwrap().to_string()))
        .collect();
    let marked = titles.iter().filter(|(_, t)| t.starts_with('↻')).map(|(l, _)| *l).collect();
    (marked, titles.into_iter().filter(|(_, t)| t.starts_with('↻') && !t.starts_with("↻ will rebuild")).collect())
}

/// Inserts `text` after `after` on 0-based `line` of the original text (`remove`: that many chars after it
/// are replaced).
async fn edit(c: &mut TestClient, uri: &str, version: i64, line: i64, after: &str, remove: usize, text: &str) {
    let line_text = DOCKERFILE.lines().nth(line as usize).unwrap();
    let at = line_text.find(after).unwrap_or_else(|| panic!("{after} on line {line}")) + after.len();
    let range = json!({"start": {"line": line, "character": at}, "end": {"line": line, "character": at + remove}});
    let params = json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": range, "text": text}]});
    c.notify("textDocument/didChange", params).await;
}

#[tokio::test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn an_unsaved_edit_predicts_the_rebuilt_steps_and_their_recorded_time() {
    require_docker();
    let ctx = tempfile::Builder::new().prefix("buildlens-predict-").tempdir().unwrap();
    let root = ctx.path().canonicalize().unwrap();
    std::fs::write(root.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(root.join("nonce.txt"), unique("predict") + "\n").unwrap();
    std::fs::write(root.join(".dockerignore"), ".buildlens\n").unwrap();
    let tag = unique("buildlens-predict");
    let _untag = Untag(tag.clone());
    let store = root.join(".buildlens");
    let command = [DOCKER, "build", "--network=none", "--progress=plain", "-t", &tag, "."];
    let rec = record(&store, &root, &[("DOCKER_BUILDKIT", "1")], &[], &command);
    assert_eq!(rec.status.code(), Some(0), "{}", support::text(&rec.stderr));
    let parsed = support::parse(&rec.log_path);
    let tools = duration_of(&parsed, "RUN sleep 1 && echo tools");
    let toolchain = duration_of(&parsed, "RUN sleep 2");
    let copy = duration_of(&parsed, "COPY --from=tools");
    let final_run = duration_of(&parsed, "RUN sleep 1 && cat");
    assert!(toolchain >= 2000 && tools >= 1000 && final_run >= 1000, "the sleeps ran: {tools} {toolchain} {final_run}");

    let mut c = TestClient::start();
    c.initialize(json!({}), json!({"storePath": store, "docker": {"host": "unix:///nonexistent.sock"}}), &root).await;
    let uri = file_uri(&root.join("Dockerfile"));
    c.open(&uri, "dockerfile", DOCKERFILE).await;
    assert_eq!(hints_and_estimate(&mut c, &uri).await, (vec![], vec![]), "the text that was built predicts nothing");

    // The first RUN of stage `tools` (line 3): it, the next RUN, and the final stage's COPY --from and RUN.
    edit(&mut c, &uri, 2, 2, "echo tools", 0, " v2").await;
    let sum = tools + toolchain + copy + final_run;
    let lens = format!("↻ this edit rebuilds 4 steps, {} (last times)", about(sum));
    assert_eq!(hints_and_estimate(&mut c, &uri).await, (vec![2, 3, 6, 7], vec![(2, lens)]));

    // Undone, then only the final stage's RUN edited: only it rebuilds.
    edit(&mut c, &uri, 3, 2, "echo tools", 3, "").await;
    edit(&mut c, &uri, 4, 7, "cat /toolchain.txt", 0, " /nonce.txt").await;
    let lens = format!("↻ this edit rebuilds 1 step, {} (last times)", about(final_run));
    assert_eq!(hints_and_estimate(&mut c, &uri).await, (vec![7], vec![(7, lens)]));
    c.settle(Duration::from_millis(10)).await;
}

//! `Debug: shell before this step` through the in-process server, on the bundled example (its last
//! recorded build failed at line 16, `RUN sh package/hello/build.sh`): a code lens and a code action on
//! that line whose client-side command `buildlens.debugShell` carries the `buildlens debug` argv, and
//! neither on lines whose steps passed.

mod support_lsp;

use serde_json::{json, Value};
use support_lsp::{copy_dir, file_uri, TestClient};

const TITLE: &str = "Debug: shell before this step";

struct Example {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
}

fn example() -> Example {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap().join("example");
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &root);
    Example { _tmp: tmp, root }
}

async fn open_example(ex: &Example) -> (TestClient, String, Value) {
    let mut c = TestClient::start();
    let init = c
        .initialize(json!({}), json!({"storePath": ex.root.join(".buildlens"), "docker": {"host": "unix:///nonexistent.sock"}}), &ex.root)
        .await;
    let path = ex.root.join("Dockerfile");
    let uri = file_uri(&path);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&path).unwrap()).await;
    (c, uri, init)
}

/// What the command must carry: this process's binary (the server runs in it), `debug <Dockerfile>:16`,
/// the store, and the workspace root as the working folder.
fn expected_arguments(ex: &Example) -> Value {
    let exe = std::env::current_exe().unwrap();
    let target = format!("{}:16", ex.root.join("Dockerfile").display());
    json!([{
        "argv": [exe, "debug", target, "--store", ex.root.join(".buildlens")],
        "cwd": ex.root,
        "title": "buildlens debug Dockerfile:16",
    }])
}

#[tokio::test]
async fn a_debug_lens_on_the_failed_line_only() {
    let ex = example();
    let (mut c, uri, init) = open_example(&ex).await;
    assert_eq!(init["capabilities"]["codeActionProvider"], true);
    let commands = &init["capabilities"]["executeCommandProvider"]["commands"];
    assert!(!commands.as_array().unwrap().contains(&json!("buildlens.debugShell")), "the client's command: {commands}");

    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let debug: Vec<&Value> = lenses.as_array().unwrap().iter().filter(|l| l["command"]["title"] == TITLE).collect();
    assert_eq!(debug.len(), 1, "{lenses}");
    assert_eq!(debug[0]["range"]["start"]["line"], 15);
    assert_eq!(debug[0]["command"]["command"], "buildlens.debugShell");
    assert_eq!(debug[0]["command"]["arguments"], expected_arguments(&ex));
    // The failed lens is still there on that line; quiet passing lines (a quick copy, a cached RUN) have a
    // hint, not a lens, and no debug lens either.
    let on = |line: i64| lenses.as_array().unwrap().iter().filter(move |l| l["range"]["start"]["line"] == line).count();
    assert_eq!((on(15), on(18), on(6)), (2, 0, 0));
}

#[tokio::test]
async fn a_debug_code_action_on_the_failed_line_only() {
    let ex = example();
    let (mut c, uri, _) = open_example(&ex).await;
    let actions_at = |line: u32| {
        let range = json!({"start": {"line": line, "character": 4}, "end": {"line": line, "character": 4}});
        json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}})
    };
    let found = c.result("textDocument/codeAction", actions_at(15)).await;
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["title"], TITLE);
    assert_eq!(found[0]["command"]["command"], "buildlens.debugShell");
    assert_eq!(found[0]["command"]["arguments"], expected_arguments(&ex));
    // A quick fix (VS Code offers it in the failure's hover), given only to clients that want quick fixes.
    assert_eq!(found[0]["kind"], "quickfix");
    let only = |kinds: Value| {
        let mut p = actions_at(15);
        p["context"]["only"] = kinds;
        p
    };
    assert_eq!(c.result("textDocument/codeAction", only(json!(["quickfix"]))).await.as_array().unwrap().len(), 1);
    assert_eq!(c.result("textDocument/codeAction", only(json!(["refactor"]))).await, json!([]));
    for passing in [2, 6, 8, 12, 18, 19] {
        let none = c.result("textDocument/codeAction", actions_at(passing)).await;
        assert_eq!(none, json!([]), "line {}", passing + 1);
    }
}

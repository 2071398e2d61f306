//! "Will rebuild" for files changed on disk, in the language server, over the bundled example: the
//! context is walked in the background and compared (by size: see `analysis::inputs::changed_in_size`)
//! with the manifest of the last recorded build; a COPY/ADD whose files changed is marked, with what
//! follows it, and carries the estimate. Files `.dockerignore` excludes and mere mtimes mark nothing.

mod support_lsp;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use support_lsp::{copy_dir, file_uri, TestClient};

const DEADLINE: Duration = Duration::from_secs(20);

/// 0-based lines of the example: `COPY feeds.conf ./`, `COPY . .`, then the steps after it in stage sdk
/// (toolchain, rust, package) and the final stage's `COPY --from=sdk` and `RUN hello`.
const FEEDS: i64 = 5;
const COPY_ALL: i64 = 7;
const AFTER_IT: [i64; 5] = [8, 13, 15, 18, 19];

/// The 0-based lines with a `↻` (will rebuild) lens.
async fn will_rebuild(c: &mut TestClient, uri: &str) -> Vec<i64> {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let marked = lenses.as_array().unwrap().iter().filter(|l| l["command"]["title"].as_str().is_some_and(|t| t.starts_with('↻')));
    marked.map(|l| l["range"]["start"]["line"].as_i64().unwrap()).collect()
}

async fn estimates(c: &mut TestClient, uri: &str) -> Vec<(i64, String)> {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let titles = lenses.as_array().unwrap().iter().map(|l| {
        let title = l["command"]["title"].as_str().unwrap().to_string();
        (l["range"]["start"]["line"].as_i64().unwrap(), title)
    });
    titles.filter(|(_, t)| t.starts_with('↻') && !t.starts_with("↻ will rebuild")).collect()
}

/// Waits for the server's next `workspace/inlayHint/refresh` (a walk of the context found another manifest).
async fn refreshed(c: &mut TestClient) {
    let m = c.try_wait_for(DEADLINE, |m: &Value| m["method"] == "workspace/inlayHint/refresh").await;
    m.expect("no inlayHint/refresh after the walk");
}

async fn save(c: &mut TestClient, uri: &str) {
    c.notify("textDocument/didSave", json!({"textDocument": {"uri": uri}})).await;
}

#[tokio::test]
async fn copies_whose_files_changed_on_disk_will_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().canonicalize().unwrap().join("example");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &root);
    let mut c = TestClient::start();
    let caps = json!({"workspace": {"inlayHint": {"refreshSupport": true}, "codeLens": {"refreshSupport": true}}});
    c.initialize(caps, json!({"storePath": root.join(".buildlens"), "docker": {"host": "unix:///nonexistent.sock"}}), &root).await;
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let uri = file_uri(&root.join("Dockerfile"));
    c.open(&uri, "dockerfile", &text).await;

    // The first look at the last build starts the walk; its result brings a refresh. The copy has new
    // mtimes everywhere but the sizes of the last build: nothing is marked.
    assert_eq!(will_rebuild(&mut c, &uri).await, Vec::<i64>::new());
    refreshed(&mut c).await;
    assert_eq!(will_rebuild(&mut c, &uri).await, Vec::<i64>::new(), "same sizes, other mtimes");
    assert_eq!(estimates(&mut c, &uri).await, []);

    // A file `.dockerignore` excludes, and feeds.conf touched (same size, other mtime): still nothing.
    std::fs::write(root.join(".buildlens/notes.txt"), "not sent to the builder\n").unwrap();
    let feeds = std::fs::OpenOptions::new().write(true).open(root.join("feeds.conf")).unwrap();
    feeds.set_modified(SystemTime::now() - Duration::from_secs(3600)).unwrap();
    save(&mut c, &uri).await;
    refreshed(&mut c).await;
    assert_eq!(will_rebuild(&mut c, &uri).await, Vec::<i64>::new(), "ignored file, mtime only");

    // build.sh (under `COPY . .`) grows: that COPY and everything after it, in its stage and in the
    // final stage built from it, will rebuild; the estimate is on the COPY. feeds.conf stays unmarked.
    let build = root.join("package/hello/build.sh");
    let mut script = std::fs::read_to_string(&build).unwrap();
    script.push_str("echo one more line\n");
    std::fs::write(&build, script).unwrap();
    save(&mut c, &uri).await;
    let want: Vec<i64> = [COPY_ALL].into_iter().chain(AFTER_IT).collect();
    let started = Instant::now();
    loop {
        let lines = will_rebuild(&mut c, &uri).await;
        if lines == want {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "marks {lines:?}, want {want:?}");
        c.try_wait_for(Duration::from_millis(200), |m: &Value| m["method"] == "workspace/inlayHint/refresh").await;
    }
    assert!(!want.contains(&FEEDS));
    // The recorded times: COPY 0.0 s, toolchain 8.2 s, rust 3.2 s, package 0.1 s, COPY --from 0.0 s,
    // RUN hello 0.1 s (as in lsp_predict).
    let lens = estimates(&mut c, &uri).await;
    assert_eq!(lens, [(COPY_ALL, "↻ changed package/hello/build.sh: rebuilds 6 steps, about 12s (last times)".to_string())]);
}

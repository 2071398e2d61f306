//! Hostile stores and logs through the language server (issue 19): a FIFO in the store and a client that
//! closes stdin (the process is gone within 2 s), a request stuck in the analysis at the end of input, a
//! Dockerfile named by `meta.json` that is a FIFO or a 3 GB sparse file, and a log that names
//! `/etc/passwd` (or `../../../../etc/passwd`) as its Dockerfile. Every wait has a deadline.

mod support_lsp;
mod support_mem;
mod support_stdio;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use buildlens::analysis::Annotated;
use buildlens::lsp::{self, Indexing, Options, Source};
use buildlens::store::Store;
use serde_json::{json, Value};
use support_lsp::{copy_dir, file_uri, TestClient, Workspace};
use support_stdio::spawn_serve;

/// How long the server may take to be gone once its client closed stdin (or sent `exit`).
const GONE_WITHIN: Duration = Duration::from_secs(2);
/// Upper bound for one answer of the real binary (the first lens indexes the example's logs).
const DEADLINE: Duration = Duration::from_secs(60);
/// Peak resident memory of the server with FIFOs in its store, after lenses and links were answered
/// (measured: 13.5-13.7 MiB in the test profile; the bound is about 3x).
const PEAK_FIFO: u64 = 40 << 20;
/// Peak resident memory of the server answering links of a log whose Dockerfile is a 3 GB sparse file:
/// the file is not read (measured: 11.4 MiB in the test profile; the bound is about 3x, a read of the
/// file's first 4 MiB cap would not fit in it twice).
const PEAK_SPARSE: u64 = 32 << 20;

fn frame(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn request(id: i64, method: &str, params: Value) -> Vec<u8> {
    frame(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

fn notify(method: &str, params: Value) -> Vec<u8> {
    frame(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
}

/// `buildlens serve` in `root`, initialized (request 1) with `options`: the child, its input, and the
/// messages it writes.
fn serve(root: &Path, options: Value) -> (Child, ChildStdin, mpsc::Receiver<Value>) {
    let (child, mut input, rx) = spawn_serve(root);
    let params = json!({"processId": null, "rootUri": file_uri(root), "capabilities": {}, "initializationOptions": options});
    input.write_all(&request(1, "initialize", params)).unwrap();
    answer(&rx, &mut input, 1);
    input.write_all(&notify("initialized", json!({}))).unwrap();
    (child, input, rx)
}

/// The answer to request `id` (the server's own requests are answered with null).
fn answer(rx: &mpsc::Receiver<Value>, input: &mut impl Write, id: i64) -> Value {
    loop {
        let m = rx.recv_timeout(DEADLINE).unwrap_or_else(|e| panic!("no answer to request {id}: {e}"));
        if m.get("method").is_some() {
            if let Some(rid) = m.get("id") {
                input.write_all(&frame(&json!({"jsonrpc": "2.0", "id": rid, "result": null}))).unwrap();
            }
        } else if m["id"] == json!(id) {
            return m;
        }
    }
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

/// The example with FIFOs for its newest record's log and for the Dockerfile its oldest record's
/// `meta.json` names.
fn example_with_fifos() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().canonicalize().unwrap().join("example");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &ws);
    let mut records: Vec<PathBuf> = std::fs::read_dir(ws.join(".buildlens/builds")).unwrap().flatten().map(|e| e.path()).collect();
    records.sort();
    mkfifo(&records[2].join("build.log"));
    mkfifo(&ws.join("fifo.Dockerfile"));
    let meta = records[0].join("meta.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    m["dockerfile"] = json!("fifo.Dockerfile");
    std::fs::write(&meta, m.to_string()).unwrap();
    (tmp, ws)
}

/// Waits for the child's exit; `None` when it is still running after `within` (then it is killed).
fn gone_within(child: &mut std::process::Child, within: Duration) -> Option<Duration> {
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    let started = Instant::now();
    std::thread::spawn(move || {
        if rx.recv_timeout(within).is_err() {
            // SAFETY: kill only sends a signal to the child we started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let status = child.wait().unwrap();
    let took = started.elapsed();
    let _ = tx.send(());
    (status.code().is_some() && took < within).then_some(took)
}

/// Issue 19, 1 (acceptance): a FIFO in the store, requests answered, then the client closes stdin (a
/// request still in flight): the process is gone within 2 s. The same with `exit` and stdin left open.
#[test]
fn with_a_fifo_in_the_store_the_server_answers_and_is_gone_within_2_s_of_the_client() {
    for end in ["stdin closed", "exit"] {
        let (_tmp, ws) = example_with_fifos();
        let (mut child, mut input, rx) = serve(&ws, json!({"lenses": "all"}));
        let dockerfile = ws.join("Dockerfile");
        let doc = json!({"uri": file_uri(&dockerfile), "languageId": "dockerfile", "version": 1, "text": std::fs::read_to_string(&dockerfile).unwrap()});
        input.write_all(&notify("textDocument/didOpen", json!({"textDocument": doc}))).unwrap();
        input.write_all(&request(2, "textDocument/codeLens", json!({"textDocument": {"uri": file_uri(&dockerfile)}}))).unwrap();
        let lenses = answer(&rx, &mut input, 2)["result"].as_array().cloned().unwrap_or_default();
        // (`lenses: "all"`: every last run is a lens, also on quiet lines.)
        assert!(!lenses.is_empty(), "{end}: the readable records still give lenses");
        // The log of the record whose meta.json names the FIFO Dockerfile: links are answered too.
        let records = ws.join(".buildlens/builds");
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&records).unwrap().flatten().map(|e| e.path().join("build.log")).collect();
        logs.sort();
        let log = json!({"uri": file_uri(&logs[0]), "languageId": "log", "version": 1, "text": std::fs::read_to_string(&logs[0]).unwrap()});
        input.write_all(&notify("textDocument/didOpen", json!({"textDocument": log}))).unwrap();
        input.write_all(&request(3, "textDocument/documentLink", json!({"textDocument": {"uri": file_uri(&logs[0])}}))).unwrap();
        answer(&rx, &mut input, 3);
        let peak = support_mem::vm_hwm(child.id());
        eprintln!("{end}: peak RSS {} KiB", peak >> 10);
        assert!(peak < PEAK_FIFO, "{end}: peak RSS {} MiB, bound {} MiB", peak >> 20, PEAK_FIFO >> 20);
        // A request in flight when the session ends.
        input.write_all(&request(4, "textDocument/codeLens", json!({"textDocument": {"uri": file_uri(&dockerfile)}}))).unwrap();
        let kept_open = match end {
            "exit" => {
                input.write_all(&notify("exit", Value::Null)).unwrap();
                Some(input)
            }
            _ => {
                drop(input);
                None
            }
        };
        let took = gone_within(&mut child, GONE_WITHIN);
        assert!(took.is_some(), "{end}: the server was still running {GONE_WITHIN:?} later");
        drop(kept_open);
    }
}

/// A source whose analysis never returns until the test lets it go: a read that blocks.
struct Stuck(Mutex<mpsc::Receiver<()>>);

impl Source for Stuck {
    fn refresh(&self, _: &Store, _: &dyn Fn(Indexing)) -> u64 {
        let _ = self.0.lock().unwrap().recv();
        0
    }
    fn invalidate(&self, _: &Store, _: &[PathBuf]) -> bool {
        false
    }
    fn invalidate_all(&self) {}
    fn annotate(&self, _: &Store, _: &Path, _: &Path, _: &str, _: usize) -> Annotated {
        Annotated::default()
    }
}

/// Issue 19, 1: a request blocked for good (here in the analysis) does not keep the session alive after
/// the end of input: `serve` returns within 2 s.
#[tokio::test]
async fn a_stuck_request_does_not_keep_the_session_alive_at_the_end_of_input() {
    let ws = Workspace::with_record("bk20-plain-failing");
    let (release, stuck) = mpsc::channel();
    let options = Options { source: Arc::new(Stuck(Mutex::new(stuck))), ..Options::default() };
    let (mut input, server_in) = tokio::io::duplex(1 << 20);
    let (server_out, mut output) = tokio::io::duplex(1 << 20);
    let serving = tokio::spawn(lsp::serve(server_in, server_out, options));
    let send = |m: Value| frame(&m);
    let uri = file_uri(&ws.dockerfile);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": null, "rootUri": file_uri(&ws.root()), "capabilities": {}, "initializationOptions": ws.options()}});
    tokio::io::AsyncWriteExt::write_all(&mut input, &send(init)).await.unwrap();
    // Requests count only once `initialize` is answered: read up to its answer.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("\"id\":1}") {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(GONE_WITHIN, tokio::io::AsyncReadExt::read(&mut output, &mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "the server ended before answering initialize");
        seen.extend_from_slice(&buf[..n]);
    }
    // Then drain what the server writes so it never waits on a full pipe.
    tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut output, &mut sink).await;
    });
    let open = json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "dockerfile", "version": 1, "text": "FROM a\n"}}});
    let lens = json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeLens", "params": {"textDocument": {"uri": uri}}});
    for m in [json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}), open, lens] {
        tokio::io::AsyncWriteExt::write_all(&mut input, &send(m)).await.unwrap();
    }
    drop(input);
    let ended = tokio::time::timeout(GONE_WITHIN, serving).await;
    let _ = release.send(()); // Lets the blocked thread go, so the test's runtime can shut down.
    drop(release);
    assert!(ended.is_ok(), "serve still running {GONE_WITHIN:?} after the end of input");
}

/// Issue 19, 8: a log that names `/etc/passwd` (or a path climbing out of the workspace) as its
/// Dockerfile, and a record whose `meta.json` does, link nowhere outside the workspace; a Dockerfile the
/// log names inside the workspace still gets its links.
#[tokio::test]
async fn a_log_naming_a_file_outside_the_workspace_links_nowhere_there() {
    let ws = Workspace::with_record("bk20-plain-failing");
    let root = ws.root();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::copy(&ws.dockerfile, root.join("sub/app.Dockerfile")).unwrap();
    std::fs::remove_file(&ws.dockerfile).unwrap();
    let store = Store::at(&ws.store);
    let body = std::fs::read_to_string(&ws.log).unwrap();
    let mut c = TestClient::start();
    c.initialize(json!({}), ws.options(), &root).await;
    let workspace = file_uri(&root);
    for (name, named) in [("passwd", "/etc/passwd"), ("climb", "../../../../../../../../etc/passwd"), ("inside", "sub/app.Dockerfile")] {
        let text = body.replace("load build definition from failing.Dockerfile", &format!("load build definition from {named}"))
            + "Dockerfile:1\n";
        assert!(text.contains(named));
        // An imported log: its record names no Dockerfile, so the log's own words pick one.
        let record = store.create_record(chrono::Utc::now()).unwrap();
        std::fs::write(record.log_path(), &text).unwrap();
        let meta = buildlens::store::RecordMeta::new(record.id.clone(), buildlens::store::Source::Import, "2026-11-01T11:00:00Z".into());
        record.write_meta(&meta).unwrap();
        let path = record.log_path();
        let uri = file_uri(&path);
        c.open(&uri, "log", &text).await;
        let links = c.result("textDocument/documentLink", json!({"textDocument": {"uri": uri}})).await;
        let targets: Vec<&str> = links.as_array().map(|a| a.iter().filter_map(|l| l["target"].as_str()).collect()).unwrap_or_default();
        assert!(targets.iter().all(|t| t.starts_with(&workspace)), "{name}: {targets:?}");
        assert!(!targets.iter().any(|t| t.contains("passwd")), "{name}: {targets:?}");
        let at = json!({"textDocument": {"uri": uri}, "position": {"line": 14, "character": 5}});
        let def = c.result("textDocument/definition", at).await;
        assert!(def.is_null() || def["uri"].as_str().unwrap().starts_with(&workspace), "{name}: {def}");
        if name == "inside" {
            assert!(!targets.is_empty() && targets.iter().all(|t| t.contains("sub/app.Dockerfile")), "{targets:?}");
        } else {
            assert!(targets.is_empty(), "{name}: no Dockerfile in the workspace root to fall back to: {targets:?}");
        }
    }
    // The record's own meta.json naming /etc/passwd.
    let meta = ws.log.with_file_name("meta.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    m["dockerfile"] = json!("/etc/passwd");
    std::fs::write(&meta, m.to_string()).unwrap();
    let uri = file_uri(&ws.log);
    c.open(&uri, "log", &body).await;
    let links = c.result("textDocument/documentLink", json!({"textDocument": {"uri": uri}})).await;
    assert!(!links.to_string().contains("passwd"), "{links}");
}

/// Issue 19, 2: the Dockerfile a record's `meta.json` names is a 3 GB sparse file: the open log's links
/// are answered at once by the real server, without reading it, in bounded memory.
#[test]
fn a_huge_dockerfile_named_by_a_record_is_not_read() {
    let ws = Workspace::with_record("bk20-plain-failing");
    std::fs::File::create(&ws.dockerfile).unwrap().set_len(3 << 30).unwrap();
    let (mut child, mut input, rx) = serve(&ws.root(), ws.options());
    let uri = file_uri(&ws.log);
    let log = json!({"uri": uri, "languageId": "log", "version": 1, "text": std::fs::read_to_string(&ws.log).unwrap()});
    input.write_all(&notify("textDocument/didOpen", json!({"textDocument": log}))).unwrap();
    let started = Instant::now();
    input.write_all(&request(2, "textDocument/documentLink", json!({"textDocument": {"uri": uri}}))).unwrap();
    let links = answer(&rx, &mut input, 2)["result"].clone();
    let took = started.elapsed();
    assert!(links.is_null() || links.as_array().is_some_and(Vec::is_empty), "{links}");
    assert!(took < Duration::from_secs(10), "answered in {took:?}");
    let peak = support_mem::vm_hwm(child.id());
    drop(input);
    assert!(gone_within(&mut child, GONE_WITHIN).is_some(), "the server still ran {GONE_WITHIN:?} after its input closed");
    eprintln!("peak RSS {} KiB", peak >> 10);
    assert!(peak < PEAK_SPARSE, "peak RSS {} MiB, bound {} MiB", peak >> 20, PEAK_SPARSE >> 20);
}

/// Issue 19, 4 and 7: the server indexing a store (just by opening the Dockerfile) writes nothing outside
/// it: not through symlinks planted under the cache's temporary names (this process's pid: the server
/// runs in it), not into a record folder symlinked out of the store.
#[tokio::test]
async fn opening_a_dockerfile_writes_nothing_outside_the_store() {
    let ws = Workspace::with_record("bk20-plain-failing");
    let outside = ws.dir.path().canonicalize().unwrap().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let planted = ws.log.parent().unwrap().to_path_buf();
    let pid = std::process::id();
    for n in 0..4 {
        let name = if n == 0 { format!(".summary.json.tmp-{pid}") } else { format!(".summary.json.tmp-{pid}-{n}") };
        std::fs::write(outside.join(&name), "keep").unwrap();
        std::os::unix::fs::symlink(outside.join(&name), planted.join(&name)).unwrap();
    }
    let moved = ws.add_record(support_lsp::FIXED, "2026-11-01T11:00:00Z");
    let away = outside.join("record");
    std::fs::rename(&moved, &away).unwrap();
    std::os::unix::fs::symlink(&away, &moved).unwrap();
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&outside);

    let mut c = TestClient::start();
    c.initialize(json!({}), ws.options(), &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let titles: Vec<&str> = lenses.as_array().unwrap().iter().filter_map(|l| l["command"]["title"].as_str()).collect();
    // The symlinked record (newest) passed the step the other failed: read, its result on the lens.
    assert!(!titles.iter().any(|t| t.starts_with("✗ failed")), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("2.5s")), "{titles:?}");
    assert!(std::fs::symlink_metadata(planted.join("summary.json")).unwrap().is_file(), "the cache written inside the store");
    assert_eq!(walk(&outside), before, "no file outside the store changed");
}

/// Every file under `dir` with its contents, sorted.
fn walk(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

//! Layer sizes in the language server against the real daemon `scripts/test.sh` starts: a recorded
//! build's snapshot (also after `docker rmi`), an imported build's sizes from the live engine query (after
//! the server's refresh), `buildlens.docker.host` honoured (a socket proxy in front of the daemon), the
//! daemon going away mid-session and a silent daemon: lenses answer at once, without sizes, one
//! `window/logMessage` line, no `window/showMessage`, and the server keeps answering.

mod support;
mod support_lsp;

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{fresh_context, record, run, text, unique, BIN, DOCKER};
use support_lsp::{file_uri, TestClient};

/// fixtures/daemon/layers: the `RUN dd … count=2` (line 13, 0-based 12) makes exactly 2 MiB.
const DD_LINE: u64 = 12;
const DD_SIZE: &str = "2.1 MB";
/// How long the server may take to pick up a record or an engine answer.
const DEADLINE: Duration = Duration::from_secs(20);
/// A lens request that waited for the engine would take its 2 s bound.
const PROMPT: Duration = Duration::from_millis(1500);

fn caps(refresh: bool) -> Value {
    json!({"workspace": {"codeLens": {"refreshSupport": refresh}, "inlayHint": {"refreshSupport": refresh}}})
}

/// Starts the server on the workspace `root` with the store `store` and `docker.host` when given.
async fn start(root: &Path, store: &Path, host: Option<&str>, refresh: bool) -> TestClient {
    let mut c = TestClient::start();
    // Every step's lens (`lenses: "all"`): the dd step is quick, and these tests follow its lens.
    let mut options = json!({"storePath": store, "lenses": "all"});
    if let Some(host) = host {
        options["docker"] = json!({"host": host});
    }
    c.initialize(caps(refresh), options, root).await;
    c
}

async fn open(c: &mut TestClient, dockerfile: &Path) -> String {
    let uri = file_uri(dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(dockerfile).unwrap()).await;
    uri
}

/// The lens on the dd line: its title and the log it opens. Panics when the line has none.
async fn dd_lens(c: &mut TestClient, uri: &str) -> (String, String) {
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let lens = lenses.as_array().unwrap().iter().find(|l| l["range"]["start"]["line"] == DD_LINE).cloned();
    let lens = lens.unwrap_or_else(|| panic!("no lens on the dd line: {lenses:#}"));
    let cmd = &lens["command"];
    (cmd["title"].as_str().unwrap().to_string(), cmd["arguments"][0]["path"].as_str().unwrap_or("").to_string())
}

async fn dd_hover(c: &mut TestClient, uri: &str) -> String {
    let at = json!({"textDocument": {"uri": uri}, "position": {"line": DD_LINE, "character": 2}});
    c.result("textDocument/hover", at).await["contents"]["value"].as_str().unwrap_or("").to_string()
}

/// Lens and hover of the dd line carry the 2 MiB layer (the quiet hint's size: `lsp_store`'s example test).
async fn assert_dd_sized(c: &mut TestClient, uri: &str) {
    let (title, _) = dd_lens(c, uri).await;
    assert!(title.contains(DD_SIZE), "lens: {title}");
    let hover = dd_hover(c, uri).await;
    assert!(hover.contains(&format!("**Layer** {DD_SIZE}")), "hover: {hover}");
}

/// Asks for the dd lens until `ok` holds (the server picks up records and engine answers by itself).
async fn poll_dd_lens(c: &mut TestClient, uri: &str, what: &str, ok: impl Fn(&str, &str) -> bool) -> (String, String) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (title, log) = dd_lens(c, uri).await;
        if ok(&title, &log) {
            return (title, log);
        }
        assert!(Instant::now() < deadline, "{what}: the dd lens is still {title:?} ({log})");
        c.settle(Duration::from_millis(100)).await;
    }
}

/// Builds `ctx` straight with the daemon (not through `buildlens record`) and returns the log.
fn build(ctx: &Path, buildkit: bool, tag: &str) -> Vec<u8> {
    let mut cmd = Command::new(DOCKER);
    cmd.current_dir(ctx).env("DOCKER_BUILDKIT", if buildkit { "1" } else { "0" }).args(["build", "--network=none"]);
    if buildkit {
        cmd.arg("--progress=plain");
    }
    let out = run(cmd.args(["-t", tag, "."]), support::BUILD_DEADLINE);
    assert!(out.status.success(), "docker build: {}{}", text(&out.stdout), text(&out.stderr));
    [out.stdout, out.stderr].concat()
}

/// `buildlens import` of a build log for `dockerfile`; returns the new record.
fn import(store: &Path, dockerfile: &Path, log: &[u8]) -> buildlens::store::Record {
    let before = buildlens::store::Store::at(store).records().len();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), log).unwrap();
    let out = run(
        Command::new(BIN).arg("import").arg("--dockerfile").arg(dockerfile).arg("--store").arg(store).arg(file.path()),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "import: {}", text(&out.stderr));
    let records = buildlens::store::Store::at(store).records();
    assert_eq!(records.len(), before + 1);
    let record = records.last().cloned().unwrap();
    assert!(record.image().is_none(), "import takes no snapshot");
    record
}

fn rmi(tag: &str) {
    let out = run(Command::new(DOCKER).args(["rmi", tag]), Duration::from_secs(60));
    assert!(out.status.success(), "docker rmi: {}", text(&out.stderr));
}

/// Every message of `method` the server sent so far (reading for `within` first).
async fn sent(c: &mut TestClient, method: &str, within: Duration) -> Vec<Value> {
    c.settle(within).await;
    let mut out = Vec::new();
    while let Some(m) = c.try_wait_for(Duration::ZERO, |m| m["method"] == method).await {
        out.push(m);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn a_recorded_build_shows_its_snapshot_sizes_also_after_docker_rmi() {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-lsp-engine");
    let env = [("DOCKER_BUILDKIT", "1")];
    let rec = record(store.path(), ctx.path(), &env, &[], &[DOCKER, "build", "--network=none", "--progress=plain", "-t", &tag, "."]);
    assert_eq!(rec.status.code(), Some(0), "record: {}", text(&rec.stderr));
    let dockerfile = ctx.path().join("Dockerfile");

    let mut c = start(ctx.path(), store.path(), None, true).await;
    let uri = open(&mut c, &dockerfile).await;
    assert_dd_sized(&mut c, &uri).await;
    drop(c);

    // The image is gone: a fresh server (empty caches) still shows the sizes, from the snapshot alone.
    rmi(&tag);
    let mut c = start(ctx.path(), store.path(), None, true).await;
    let uri = open(&mut c, &dockerfile).await;
    assert_dd_sized(&mut c, &uri).await;
    let logged = sent(&mut c, "window/logMessage", Duration::from_millis(300)).await;
    assert!(logged.is_empty(), "a snapshot needs no engine: {logged:?}");
}

/// An imported build has no snapshot: the server asks the engine off the request path, then asks the
/// client to refresh (where it advertised support) and the sizes appear.
async fn live_query_after_import(buildkit: bool, refresh: bool) {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-lsp-live");
    let dockerfile = ctx.path().join("Dockerfile");
    import(store.path(), &dockerfile, &build(ctx.path(), buildkit, &tag));

    let mut c = start(ctx.path(), store.path(), None, refresh).await;
    let uri = open(&mut c, &dockerfile).await;
    let asked = Instant::now();
    let _ = dd_lens(&mut c, &uri).await;
    assert!(asked.elapsed() < PROMPT, "the first lens waited {:?}", asked.elapsed());
    if refresh {
        // The watch may refresh too (the store's folders change as it indexes): wait for a refresh after
        // which the sizes are there; only the engine's answer brings them.
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            c.try_wait_for(left, |m| m["method"] == "workspace/codeLens/refresh").await.expect("no codeLens/refresh with the sizes");
            if dd_lens(&mut c, &uri).await.0.contains(DD_SIZE) {
                break;
            }
        }
        c.try_wait_for(DEADLINE, |m| m["method"] == "workspace/inlayHint/refresh").await.expect("no inlayHint/refresh");
        assert_dd_sized(&mut c, &uri).await;
    } else {
        poll_dd_lens(&mut c, &uri, "sizes from the engine", |title, _| title.contains(DD_SIZE)).await;
        assert_dd_sized(&mut c, &uri).await;
        let methods = c.server_methods();
        assert!(!methods.iter().any(|m| m.ends_with("/refresh")), "refresh sent to a client without support: {methods:?}");
    }
    rmi(&tag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn an_imported_buildkit_build_gets_its_sizes_from_the_engine_after_a_refresh() {
    live_query_after_import(true, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn an_imported_legacy_build_gets_its_sizes_without_refresh_support() {
    live_query_after_import(false, false).await;
}

/// A unix-socket proxy in front of the daemon, counting connections, that can be killed.
struct Proxy {
    path: PathBuf,
    connections: Arc<AtomicUsize>,
    open: Arc<Mutex<Vec<UnixStream>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(path: PathBuf, daemon: PathBuf) -> Proxy {
        let listener = UnixListener::bind(&path).unwrap();
        let (connections, open, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (n, streams, stopped) = (connections.clone(), open.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                n.fetch_add(1, Ordering::SeqCst);
                let Ok(upstream) = UnixStream::connect(&daemon) else { continue };
                let mut held = streams.lock().unwrap();
                held.extend([client.try_clone().unwrap(), upstream.try_clone().unwrap()]);
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            }
        });
        Proxy { path, connections, open, stop }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Stops accepting, removes the socket and cuts every open connection.
    fn kill(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.path); // wakes the accept loop, which then drops the listener
        std::fs::remove_file(&self.path).unwrap();
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn pipe(mut from: UnixStream, mut to: UnixStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn the_daemon_going_away_mid_session_costs_one_log_line() {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let dockerfile = ctx.path().join("Dockerfile");
    let first = unique("buildlens-lsp-away");
    import(store.path(), &dockerfile, &build(ctx.path(), true, &first));
    let sockets = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(sockets.path().join("proxy.sock"), support::docker_socket());

    // docker.host wins over DOCKER_HOST (which names the daemon itself): the answer came through the proxy.
    let mut c = start(ctx.path(), store.path(), Some(&proxy.host()), true).await;
    let uri = open(&mut c, &dockerfile).await;
    poll_dd_lens(&mut c, &uri, "sizes through the proxy", |title, _| title.contains(DD_SIZE)).await;
    assert!(proxy.connections.load(Ordering::SeqCst) > 0, "the engine was not asked at docker.host");

    // The daemon goes away; a new build is imported (its image exists, but nobody can ask for it).
    proxy.kill();
    std::fs::write(ctx.path().join("nonce.txt"), unique("nonce") + "\n").unwrap();
    let second = unique("buildlens-lsp-away");
    let record = import(store.path(), &dockerfile, &build(ctx.path(), true, &second));
    let (title, _) = poll_dd_lens(&mut c, &uri, "the new record", |_, log| log.contains(&record.id)).await;
    assert!(!title.contains("MB"), "no engine, no size: {title}");
    // Keystrokes: each is a new analysis, none waits for the engine or asks it again.
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    for version in 2..8 {
        let change = json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": format!("{text}\n")}]});
        c.notify("textDocument/didChange", change).await;
        let asked = Instant::now();
        let (title, _) = dd_lens(&mut c, &uri).await;
        assert!(asked.elapsed() < PROMPT, "a lens waited {:?}", asked.elapsed());
        assert!(!title.contains("MB"), "{title}");
    }
    let logged = sent(&mut c, "window/logMessage", Duration::from_millis(500)).await;
    assert_eq!(logged.len(), 1, "one line about the engine: {logged:#?}");
    assert!(logged[0]["params"]["message"].as_str().unwrap().contains("proxy.sock"), "{logged:#?}");
    assert!(!c.server_methods().iter().any(|m| m == "window/showMessageRequest"));
    assert!(sent(&mut c, "window/showMessage", Duration::ZERO).await.is_empty(), "no popups");
    // Still serving: the hover of the new build, without a layer.
    let hover = dd_hover(&mut c, &uri).await;
    assert!(hover.contains("executed") && !hover.contains("**Layer**"), "{hover}");
    rmi(&first);
    rmi(&second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn a_silent_daemon_delays_no_lens_and_times_out_quietly() {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let dockerfile = ctx.path().join("Dockerfile");
    let tag = unique("buildlens-lsp-silent");
    import(store.path(), &dockerfile, &build(ctx.path(), true, &tag));
    // Accepts and reads, never answers.
    let sockets = tempfile::tempdir().unwrap();
    let silent = sockets.path().join("silent.sock");
    let listener = UnixListener::bind(&silent).unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });

    let mut c = start(ctx.path(), store.path(), Some(&format!("unix://{}", silent.display())), true).await;
    let uri = open(&mut c, &dockerfile).await;
    for _ in 0..3 {
        let asked = Instant::now();
        let (title, _) = dd_lens(&mut c, &uri).await;
        assert!(asked.elapsed() < PROMPT, "a lens waited {:?} for a silent engine", asked.elapsed());
        assert!(title.starts_with("⏱") && !title.contains("MB"), "{title}");
    }
    let line = c.try_wait_for(DEADLINE, |m| m["method"] == "window/logMessage").await.expect("no log line about the silent engine");
    assert!(line["params"]["message"].as_str().unwrap().contains("did not answer"), "{line}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one query for three lens requests");
    let (title, _) = dd_lens(&mut c, &uri).await;
    assert!(!title.contains("MB"), "{title}");
    assert!(sent(&mut c, "window/showMessage", Duration::from_millis(200)).await.is_empty(), "no popups");
    // A new docker.host forgets the failure: the real daemon is asked now, not after the engine's rest.
    let real = format!("unix://{}", support::docker_socket().display());
    let settings = json!({"buildlens": {"storePath": store.path(), "lenses": "all", "docker": {"host": real}}});
    c.notify("workspace/didChangeConfiguration", json!({"settings": settings})).await;
    poll_dd_lens(&mut c, &uri, "sizes after docker.host changed", |title, _| title.contains(DD_SIZE)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the silent engine was not asked again");
    rmi(&tag);
}

/// A plain-HTTP `tcp://` host (bollard's `http` feature): a TCP proxy in front of the daemon's socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn a_tcp_docker_host_is_asked() {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let dockerfile = ctx.path().join("Dockerfile");
    let tag = unique("buildlens-lsp-tcp");
    import(store.path(), &dockerfile, &build(ctx.path(), true, &tag));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (daemon, connections) = (support::docker_socket(), Arc::new(AtomicUsize::new(0)));
    let count = connections.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let Ok(upstream) = UnixStream::connect(&daemon) else { continue };
            let (mut c_in, mut u_out) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut u_out);
                let _ = u_out.shutdown(std::net::Shutdown::Write);
            });
            let (mut u_in, mut c_out) = (upstream, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut u_in, &mut c_out);
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    let mut c = start(ctx.path(), store.path(), Some(&format!("tcp://127.0.0.1:{port}")), true).await;
    let uri = open(&mut c, &dockerfile).await;
    poll_dd_lens(&mut c, &uri, "sizes over tcp://", |title, _| title.contains(DD_SIZE)).await;
    assert!(connections.load(Ordering::SeqCst) > 0, "the engine was not asked at the tcp:// host");
    rmi(&tag);
}

//! Shared helpers of the end-to-end tests that drive real builders (the private dockerd and podman that
//! `scripts/test.sh` starts): reaching the daemon, fresh build contexts, running `buildlens record` and
//! `buildlens parse` with deadlines, and one-line step expectations.
//!
//! Daemon tests are `#[ignore = "needs the Docker daemon started by scripts/test.sh"]`: a plain `cargo test`
//! lists them as ignored; `scripts/test.sh` runs them with `--include-ignored` and
//! `BUILDLENS_DAEMON_TESTS=1`. Once run, a test never passes without its builder: an unreachable daemon
//! is a failure, with or without that variable (it only changes the hint in the message).

#![allow(dead_code)] // each test crate that says `mod support;` uses a different part of it

pub mod checks;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_buildlens");
/// Debian's 20.10 client: BuildKit v0.8 (`DOCKER_BUILDKIT=1`) and the legacy builder (`DOCKER_BUILDKIT=0`).
/// The machine's `/usr/local/bin/docker` 28.2 has no buildx and refuses `DOCKER_BUILDKIT=1`.
pub const DOCKER: &str = "/usr/bin/docker";
/// Upper bound for one build of a fixture (they take about a second).
pub const BUILD_DEADLINE: Duration = Duration::from_secs(180);

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `shared/` (docs and corpus) beside the repository: `$BUILDLENS_SHARED` (scripts/test.sh sets it), else
/// `../shared` from the repo root, as CI and the worktrees lay it out. Panics with a hint when missing.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("BUILDLENS_SHARED").map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared"));
    assert!(dir.join("corpus").is_dir(), "no corpus at {}/corpus: clone shared/ beside the repo or set BUILDLENS_SHARED", dir.display());
    dir
}

/// True when `scripts/test.sh` runs the suite (it starts the daemon and sets `BUILDLENS_DAEMON_TESTS=1`).
pub fn under_test_script() -> bool {
    std::env::var("BUILDLENS_DAEMON_TESTS").is_ok_and(|v| v == "1")
}

fn unreachable(what: &str, why: &str) -> ! {
    if under_test_script() {
        panic!("{what} is not reachable although scripts/test.sh should have started it: {why}");
    }
    panic!("{what} is not reachable ({why}); run the daemon tests with scripts/test.sh, or start one with `eval \"$(scripts/daemon.sh start)\"`");
}

/// The unix socket of `DOCKER_HOST` (default `/var/run/docker.sock`); panics for other schemes.
pub fn docker_socket() -> PathBuf {
    let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    match host.strip_prefix("unix://") {
        Some(path) => PathBuf::from(path),
        None => unreachable("the Docker daemon", &format!("DOCKER_HOST={host} is not a unix socket")),
    }
}

/// Fails the test unless the daemon at `DOCKER_HOST` answers `GET /_ping` and has `fixture-base`.
pub fn require_docker() {
    let socket = docker_socket();
    if let Err(e) = ping(&socket) {
        unreachable("the Docker daemon", &format!("{}: {e}", socket.display()));
    }
    let out = run(Command::new(DOCKER).args(["image", "inspect", "--format", "{{.Id}}", "fixture-base:latest"]), Duration::from_secs(30));
    assert!(out.status.success(), "fixture-base:latest is missing from the daemon (scripts/daemon.sh imports it): {}", text(&out.stderr));
}

fn ping(socket: &Path) -> std::io::Result<()> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    if reply.starts_with("HTTP/1.") && reply.contains(" 200 ") && reply.ends_with("OK") {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("unexpected answer to /_ping: {reply:?}")))
    }
}

/// Fails the test unless podman runs and has `localhost/fixture-base`.
pub fn require_podman() {
    let out = match Command::new("podman").args(["image", "exists", "localhost/fixture-base:latest"]).output() {
        Ok(out) => out,
        Err(e) => unreachable("podman", &e.to_string()),
    };
    if !out.status.success() {
        unreachable("podman's localhost/fixture-base:latest", &format!("podman image exists: {}", out.status));
    }
}

/// A name no other test or run uses: for tags and nonces.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A private copy of `fixtures/daemon/<name>` whose `nonce.txt` no earlier build has seen, so every step
/// of its first build runs (the fixtures' Dockerfiles `COPY nonce.txt` first).
pub fn fresh_context(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(&format!("buildlens-{name}-")).tempdir().unwrap();
    let from = repo_root().join("fixtures/daemon").join(name);
    for entry in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.path().join("nonce.txt"), unique(name) + "\n").unwrap();
    dir
}

/// Runs `cmd` (in its own process group) to completion with a deadline; on timeout the whole group is
/// killed and the test fails.
pub fn run(cmd: &mut Command, deadline: Duration) -> Output {
    let what = format!("{cmd:?}");
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn();
    let child = child.unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(deadline) {
        Ok(out) => out.unwrap_or_else(|e| panic!("waiting for {what}: {e}")),
        Err(_) => {
            kill_group(pid, libc::SIGKILL);
            panic!("{what} did not finish within {deadline:?}");
        }
    }
}

/// Sends `sig` to the process group led by `pid` (our children are spawned with `process_group(0)`).
pub fn kill_group(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: plain kill(2) on a process group we created.
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What one `buildlens record` run left behind.
pub struct Recorded {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The record folder's `build.log`.
    pub log: Vec<u8>,
    pub log_path: PathBuf,
    pub meta: Value,
}

/// Runs `buildlens record --store STORE [extra…] -- command…` in `cwd` with the extra environment `env`.
pub fn record(store: &Path, cwd: &Path, env: &[(&str, &str)], extra: &[&str], command: &[&str]) -> Recorded {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd).arg("record").arg("--store").arg(store).args(extra).arg("--").args(command);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, BUILD_DEADLINE);
    let (log_path, meta) = only_record(store);
    let log = std::fs::read(&log_path).unwrap();
    Recorded { status: out.status, stdout: out.stdout, stderr: out.stderr, log, log_path, meta }
}

/// The single record in `store`: its log path and its `meta.json`.
pub fn only_record(store: &Path) -> (PathBuf, Value) {
    let records = buildlens::store::Store::at(store).records();
    assert_eq!(records.len(), 1, "expected exactly one record in {}", store.display());
    let record = &records[0];
    let mut meta: Value = serde_json::from_slice(&std::fs::read(record.meta_path()).unwrap()).expect("meta.json is JSON");
    // Paths inside the workspace are stored relative to its root, the folder holding the store.
    let root = store.parent().unwrap_or(store);
    for field in ["cwd", "dockerfile", "context"] {
        if let Some(p) = meta[field].as_str().filter(|p| !Path::new(p).is_absolute()) {
            meta[field] = Value::from(root.join(p).to_string_lossy().into_owned());
        }
    }
    (record.log_path(), meta)
}

/// `buildlens parse LOG --json`, as JSON.
pub fn parse(log: &Path) -> Value {
    let out = run(Command::new(BIN).arg("parse").arg(log).arg("--json"), Duration::from_secs(60));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("parse --json printed no JSON ({e}): {}{}", text(&out.stdout), text(&out.stderr)))
}

/// Removes from podman's shared storage what one of our builds made: `tag` and every image id its log
/// prints (`--> <id>`, `--> Using cache <id>`), one by one and without force, so nothing of anyone else's
/// goes (the same as podman_remove_built in scripts/lib/daemon.sh).
pub fn podman_remove(tag: &str, log: &[u8]) {
    let mut names = vec![tag.to_string()];
    for line in text(log).lines() {
        if let Some(rest) = line.strip_prefix("--> ") {
            let id = rest.strip_prefix("Using cache ").unwrap_or(rest).trim();
            if id.len() >= 11 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                names.push(id.to_string());
            }
        }
    }
    for name in names {
        let _ = Command::new("podman").args(["rmi", &name]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

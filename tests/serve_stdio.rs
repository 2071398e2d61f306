//! `buildlens serve` as an editor starts it: a child process speaking LSP on its real stdin and stdout.
//! Editors hand the server pipes (most) or Unix socket pairs (libuv's: VS Code, Neovim); run by hand it
//! may get a file or a terminal. Each kind is driven here through initialize, a code lens of the bundled
//! example, shutdown and exit, so the transport the server picks for each kind is exercised end to end.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use support_lsp::{copy_dir, file_uri};
use support_stdio::reader;

mod support_lsp;
mod support_stdio;

/// Upper bound for one answer (the first code lens indexes the example's three logs).
const DEADLINE: Duration = Duration::from_secs(60);

fn frame(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// The answer to request `id`, answering the server's own requests (registrations, refreshes) with null.
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

/// initialize → didOpen → codeLens → shutdown → exit over `input`/`output`, then the child's exit.
fn session(example: &Path, child: &mut Child, mut input: impl Write, output: impl Read + Send + 'static) {
    let rx = reader(output);
    let request = |id: i64, method: &str, params: Value| frame(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
    let notify = |method: &str, params: Value| frame(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    input.write_all(&request(1, "initialize", json!({"processId": null, "rootUri": file_uri(example), "capabilities": {}}))).unwrap();
    let init = answer(&rx, &mut input, 1);
    assert_eq!(init["result"]["capabilities"]["codeLensProvider"], json!({"resolveProvider": false}), "{init}");
    input.write_all(&notify("initialized", json!({}))).unwrap();
    let dockerfile = example.join("Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let doc = json!({"uri": file_uri(&dockerfile), "languageId": "dockerfile", "version": 1, "text": text});
    input.write_all(&notify("textDocument/didOpen", json!({"textDocument": doc}))).unwrap();
    input.write_all(&request(2, "textDocument/codeLens", json!({"textDocument": {"uri": file_uri(&dockerfile)}}))).unwrap();
    let lenses = answer(&rx, &mut input, 2)["result"].as_array().cloned().unwrap_or_default();
    let titles: Vec<&str> = lenses.iter().filter_map(|l| l["command"]["title"].as_str()).collect();
    assert!(titles.iter().any(|t| t.starts_with("✗ failed")), "the failed step's lens: {titles:?}");
    assert!(titles.iter().filter(|t| t.starts_with("⏱")).count() >= 2, "executed steps' lenses: {titles:?}");
    input.write_all(&request(3, "shutdown", Value::Null)).unwrap();
    assert_eq!(answer(&rx, &mut input, 3)["result"], Value::Null);
    input.write_all(&notify("exit", Value::Null)).unwrap();
    drop(input);
    let status = wait(child);
    assert!(status.success(), "buildlens serve exited with {status}");
}

fn wait(child: &mut Child) -> std::process::ExitStatus {
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        if rx.recv_timeout(DEADLINE).is_err() {
            // SAFETY: kill only sends a signal to the child we started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let status = child.wait().unwrap();
    let _ = tx.send(());
    status
}

fn example() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let example = tmp.path().join("example");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &example);
    (tmp, example)
}

fn serve(example: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildlens"));
    cmd.arg("serve").current_dir(example).env_remove("BUILDLENS_STORE").stderr(Stdio::inherit());
    cmd
}

#[test]
fn over_pipes() {
    let (_tmp, example) = example();
    let mut child = serve(&example).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let (input, output) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    session(&example, &mut child, input, output);
}

#[test]
fn over_unix_socket_pairs() {
    let (_tmp, example) = example();
    let (input, server_in) = UnixStream::pair().unwrap();
    let (output, server_out) = UnixStream::pair().unwrap();
    // Copies of the server's ends (same open file descriptions), as a wrapper that started it would hold.
    let kept = [server_in.try_clone().unwrap(), server_out.try_clone().unwrap()];
    let mut child =
        serve(&example).stdin(Stdio::from(OwnedFd::from(server_in))).stdout(Stdio::from(OwnedFd::from(server_out))).spawn().unwrap();
    session(&example, &mut child, input, output);
    for end in &kept {
        use std::os::fd::AsRawFd;
        // SAFETY: F_GETFL only reads the flags of a descriptor this test owns.
        let flags = unsafe { libc::fcntl(end.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0, "the server left its stdio non-blocking");
    }
}

#[test]
fn over_one_socket_for_both() {
    let (_tmp, example) = example();
    let (client, server) = UnixStream::pair().unwrap();
    let server_out = server.try_clone().unwrap();
    let mut child =
        serve(&example).stdin(Stdio::from(OwnedFd::from(server))).stdout(Stdio::from(OwnedFd::from(server_out))).spawn().unwrap();
    let output = client.try_clone().unwrap();
    session(&example, &mut child, client, output);
}

/// A terminal on both ends (someone running `buildlens serve` by hand): tokio's blocking-pool streams.
/// The pseudo-terminal is raw, so the frames pass unchanged.
#[test]
fn over_a_terminal() {
    let (_tmp, example) = example();
    let (master, slave) = raw_pty();
    let mut child = serve(&example).stdin(Stdio::from(slave.try_clone().unwrap())).stdout(Stdio::from(slave)).spawn().unwrap();
    let output = std::fs::File::from(master.try_clone().unwrap());
    session(&example, &mut child, std::fs::File::from(master), output);
}

/// A pseudo-terminal pair (master, slave) in raw mode.
fn raw_pty() -> (OwnedFd, OwnedFd) {
    use std::os::fd::{AsRawFd, FromRawFd};
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors it opened into the given ints; the termios struct is
    // filled by tcgetattr before cfmakeraw and tcsetattr read it.
    unsafe {
        assert_eq!(libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()), 0);
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave, &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(slave, libc::TCSANOW, &t), 0);
        let (master, slave) = (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave));
        assert!(master.as_raw_fd() >= 0 && slave.as_raw_fd() >= 0);
        (master, slave)
    }
}

//! A misbehaving client against the real `buildlens serve` child process (issue 19, 9): every kind of bad
//! frame header followed by a valid request, which is answered (the bad frame gets a parse error with
//! id null); request ids the JSON-RPC library cannot hold (`1.5`, `1e3`, `2^64`); a `$/` request; and
//! the exit status of `exit` with and without `shutdown`. Every wait has a deadline.

mod support_lsp;
mod support_mem;
mod support_stdio;

use std::io::Write;
use std::process::{Child, ChildStdin};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support_lsp::file_uri;
use support_stdio::spawn_serve;

/// Upper bound for one answer (nothing here reads a store: answers come at once).
const DEADLINE: Duration = Duration::from_secs(20);
/// How long the server may take to exit after `exit`.
const GONE_WITHIN: Duration = Duration::from_secs(2);
/// Peak resident memory of the server through every bad frame (one declares 1 GiB + 1, one overflows
/// u64): nothing is allocated for a declared length (measured: 10.4 MiB in the test profile; the bound
/// is about 3x).
const PEAK_BAD_FRAMES: u64 = 32 << 20;

struct Server {
    child: Child,
    input: ChildStdin,
    rx: mpsc::Receiver<Value>,
    _dir: tempfile::TempDir,
    /// Error answers with id null seen so far (one per bad frame).
    null_errors: Vec<Value>,
}

fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn request(id: &str, method: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{"textDocument":{{"uri":"file:///nowhere/Dockerfile"}}}}}}"#)
}

impl Server {
    /// `buildlens serve` in an empty workspace, initialized.
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (child, input, rx) = spawn_serve(dir.path());
        let mut server = Server { child, input, rx, _dir: dir, null_errors: Vec::new() };
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"processId": null, "rootUri": file_uri(server._dir.path()), "capabilities": {}}});
        server.send(&frame(&init.to_string()));
        server.answer(&json!(0));
        server.send(&frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#));
        server
    }

    fn send(&mut self, bytes: &[u8]) {
        self.input.write_all(bytes).unwrap();
        self.input.flush().unwrap();
    }

    /// The answer to request `id`; errors with id null that come meanwhile are kept.
    fn answer(&mut self, id: &Value) -> Value {
        loop {
            let m = self.rx.recv_timeout(DEADLINE).unwrap_or_else(|e| panic!("no answer to request {id}: {e}"));
            if m.get("method").is_some() {
                if let Some(rid) = m.get("id") {
                    let reply = json!({"jsonrpc": "2.0", "id": rid, "result": null}).to_string();
                    self.send(&frame(&reply));
                }
            } else if m["id"].is_null() && m.get("error").is_some() {
                self.null_errors.push(m);
            } else if &m["id"] == id {
                return m;
            }
        }
    }

    /// Waits until `n` errors with id null were seen.
    fn null_errors(&mut self, n: usize) -> &[Value] {
        let started = Instant::now();
        while self.null_errors.len() < n {
            let left = DEADLINE
                .checked_sub(started.elapsed())
                .unwrap_or_else(|| panic!("{} error(s) with id null, not {n}", self.null_errors.len()));
            let m = self.rx.recv_timeout(left).unwrap_or_else(|e| panic!("{} error(s) with id null, not {n}: {e}", self.null_errors.len()));
            if m["id"].is_null() && m.get("error").is_some() {
                self.null_errors.push(m);
            }
        }
        &self.null_errors
    }

    /// Sends `exit` and returns the exit code, which must come within `GONE_WITHIN`.
    fn exit(mut self) -> i32 {
        self.send(&frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let (tx, done) = mpsc::channel();
        let pid = self.child.id();
        std::thread::spawn(move || {
            if done.recv_timeout(GONE_WITHIN).is_err() {
                // SAFETY: kill only sends a signal to the child this test started.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        });
        let started = Instant::now();
        let status = self.child.wait().unwrap();
        let _ = tx.send(());
        assert!(started.elapsed() < GONE_WITHIN, "the server took {:?} to exit", started.elapsed());
        status.code().expect("exited, not killed")
    }
}

/// Issue 19, 9: one bad frame header (Content-Length missing, short, long, not a number, negative,
/// overflowing, over the 1 GiB cap) costs that frame only: it is answered with a parse error (id null)
/// and the valid request right after it is answered too.
#[test]
fn every_bad_frame_header_is_answered_and_the_next_request_too() {
    let mut server = Server::start();
    let body = request("1", "textDocument/codeLens");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no header at all", format!("\r\n{body}").into_bytes()),
        ("no Content-Length", format!("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{body}").into_bytes()),
        ("short by 1", format!("Content-Length: {}\r\n\r\n{body}", body.len() - 1).into_bytes()),
        ("short by half", format!("Content-Length: {}\r\n\r\n{body}", body.len() / 2).into_bytes()),
        ("long by 1", format!("Content-Length: {}\r\n\r\n{body}", body.len() + 1).into_bytes()),
        ("long by 20", format!("Content-Length: {}\r\n\r\n{body}", body.len() + 20).into_bytes()),
        ("long by 10,000", format!("Content-Length: {}\r\n\r\n{body}", body.len() + 10_000).into_bytes()),
        ("not a number", format!("Content-Length: twelve\r\n\r\n{body}").into_bytes()),
        ("negative", format!("Content-Length: -5\r\n\r\n{body}").into_bytes()),
        ("overflowing", format!("Content-Length: 184467440737095516160\r\n\r\n{body}").into_bytes()),
        ("over the cap", format!("Content-Length: {}\r\n\r\n{body}", (1u64 << 30) + 1).into_bytes()),
        ("empty body", b"Content-Length: 0\r\n\r\n".to_vec()),
    ];
    for (n, (name, bad)) in cases.iter().enumerate() {
        let id = 100 + n as i64;
        let started = Instant::now();
        let mut bytes = bad.clone();
        bytes.extend_from_slice(&frame(&request(&id.to_string(), "textDocument/codeLens")));
        server.send(&bytes);
        let answer = server.answer(&json!(id));
        assert_eq!(answer["result"], Value::Null, "{name}: {answer}");
        let errors = server.null_errors(n + 1);
        assert_eq!(errors[n]["error"]["code"], -32700, "{name}: {}", errors[n]);
        assert!(started.elapsed() < DEADLINE, "{name}");
    }
    // One error per bad frame, no more: a last request, then the count.
    server.send(&frame(&request("999", "textDocument/codeLens")));
    server.answer(&json!(999));
    assert_eq!(server.null_errors.len(), cases.len(), "{:?}", server.null_errors);
    let peak = support_mem::vm_hwm(server.child.id());
    eprintln!("peak RSS after the bad frames: {} KiB", peak >> 10);
    assert!(peak < PEAK_BAD_FRAMES, "peak RSS {} MiB, bound {} MiB", peak >> 20, PEAK_BAD_FRAMES >> 20);
    assert_eq!(server.exit(), 1, "exit without shutdown");
}

/// Issue 19, 9: ids the JSON-RPC library cannot hold no longer end the session: an integral one (`1e3`)
/// is answered as the integer, the others with an invalid-request error (id null, the id in `data`);
/// a `$/` request gets MethodNotFound; `exit` after `shutdown` exits 0.
#[test]
fn request_ids_that_are_not_i64_and_dollar_requests_are_answered() {
    let mut server = Server::start();
    server.send(&frame(&request("1e3", "textDocument/codeLens")));
    assert_eq!(server.answer(&json!(1000))["result"], Value::Null);
    for (n, id) in ["1.5", "18446744073709551616", "9223372036854775808", "-1e19"].iter().enumerate() {
        server.send(&frame(&request(id, "textDocument/codeLens")));
        let errors = server.null_errors(n + 1);
        let error = &errors[n];
        assert_eq!(error["error"]["code"], -32600, "{id}: {error}");
        assert_eq!(error["error"]["data"]["id"].as_f64(), serde_json::from_str::<Value>(id).unwrap().as_f64(), "{id}: {error}");
        // Still answering.
        server.send(&frame(&request(&(10 + n).to_string(), "textDocument/codeLens")));
        assert_eq!(server.answer(&json!(10 + n))["result"], Value::Null, "after {id}");
    }
    // A response to nothing with such an id is dropped the same way.
    server.send(&frame(r#"{"jsonrpc":"2.0","id":2.5,"result":null}"#));
    server.send(&frame(&request("\"dollar\"", "$/buildlens.unknown")));
    let dollar = server.answer(&json!("dollar"));
    assert_eq!(dollar["error"]["code"], -32601, "{dollar}");
    server.send(&frame(r#"{"jsonrpc":"2.0","method":"$/setTrace","params":{"value":"off"}}"#));
    server.send(&frame(&request("7", "shutdown")));
    assert_eq!(server.answer(&json!(7))["result"], Value::Null);
    assert_eq!(server.exit(), 0, "exit after shutdown");
}

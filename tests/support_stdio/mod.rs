//! The server's standard output read as framed JSON-RPC messages on a thread, for tests that run
//! `buildlens serve` as a child process (so every wait on it can have a deadline).

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;

use serde_json::Value;

/// Framed messages read on a thread, so every wait has a deadline.
pub fn reader(output: impl Read + Send + 'static) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut output = BufReader::new(output);
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if output.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                match line.trim_end().strip_prefix("Content-Length: ") {
                    Some(n) => length = n.parse().unwrap(),
                    None if line.trim_end().is_empty() => break,
                    None => {}
                }
            }
            let mut body = vec![0; length];
            if output.read_exact(&mut body).is_err() || tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        }
    });
    rx
}

/// `buildlens serve` started in `root` with no store from the environment and an engine that does not
/// exist: the child, its input and its messages (read by `reader`).
#[allow(dead_code)] // serve_stdio starts its servers over other transports
pub fn spawn_serve(root: &std::path::Path) -> (std::process::Child, std::process::ChildStdin, mpsc::Receiver<Value>) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .arg("serve")
        .current_dir(root)
        .env_remove("BUILDLENS_STORE")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("buildlens serve starts");
    let input = child.stdin.take().expect("piped stdin");
    let rx = reader(child.stdout.take().expect("piped stdout"));
    (child, input, rx)
}

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

//! A framing guard in front of tower-lsp-server's reader. tower-lsp-server 0.23 (with tokio-util 0.7.20)
//! ends the whole session on one undecodable message: its `FramedRead` yields `None` after a decode
//! error and the read loop takes that as end of input. So every frame is read and checked here first;
//! a frame the library could not decode is replaced by a `buildlens/invalidMessage` request that the
//! server answers with the JSON-RPC error the library meant to send (-32700 / -32600), and the session
//! goes on. Valid frames pass through unchanged.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::Notify;
use tower_lsp_server::jsonrpc::{Request, Response};

/// The method a replaced frame becomes.
pub const INVALID_MESSAGE: &str = "buildlens/invalidMessage";
/// Longest header line and largest body accepted; past that the input is not an LSP stream.
const MAX_HEADER_LINE: usize = 8 * 1024;
const MAX_BODY: usize = 1 << 30;

/// Reads `input`, checks each frame, and gives back the stream the server should read. `ended` is
/// notified once the input ends or an `exit` notification went through: the session is over, whatever
/// requests are still running (`serve` waits for them only a moment).
pub fn guard<R: AsyncRead + Unpin + Send + 'static>(input: R, ended: Arc<Notify>) -> DuplexStream {
    let (mut to_server, server_side) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let mut reader = BufReader::new(input);
        while let Some(body) = next_frame(&mut reader).await {
            let body = checked(body);
            let exit = is_exit(&body);
            let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
            frame.extend_from_slice(&body);
            if to_server.write_all(&frame).await.is_err() {
                break;
            }
            if exit {
                break;
            }
        }
        // End of input: dropping the stream tells the server, which then exits.
        ended.notify_one();
    });
    server_side
}

/// An `exit` message (a cheap byte check first: nearly every frame is something else). With or without
/// an id, as tower-lsp-server takes it: its read loop stops at either.
fn is_exit(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"\"exit\"").is_some()
        && serde_json::from_slice::<Value>(body).is_ok_and(|v| v.get("method").and_then(Value::as_str) == Some("exit"))
}

/// The next frame's body; `Err`-like frames (bad headers) come back as an empty body, which `checked`
/// turns into a parse error. `None` at the end of input.
async fn next_frame<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Option<Vec<u8>> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = (&mut *reader).take(MAX_HEADER_LINE as u64).read_until(b'\n', &mut line).await.ok()?;
        if n == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text.is_empty() {
            if saw_header {
                break;
            }
            continue; // Stray blank lines between frames.
        }
        saw_header = true;
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            }
        }
    }
    let Some(length) = length.filter(|&l| l <= MAX_BODY) else { return Some(Vec::new()) };
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// `body` when tower-lsp-server can decode it, else the replacement request.
fn checked(body: Vec<u8>) -> Vec<u8> {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return replacement(Value::Null, -32700),
    };
    let decodable = serde_json::from_value::<Response>(value.clone()).is_ok() || serde_json::from_value::<Request>(value.clone()).is_ok();
    if decodable {
        return body;
    }
    let id = value.get("id").filter(|id| id.is_number() || id.is_string()).cloned().unwrap_or(Value::Null);
    replacement(id, -32600)
}

fn replacement(id: Value, code: i64) -> Vec<u8> {
    eprintln!("buildlens: dropped an undecodable message (JSON-RPC error {code})");
    json!({"jsonrpc": "2.0", "id": id, "method": INVALID_MESSAGE, "params": {"code": code}}).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expect: Option<(Value, i64)>) {
        let out: Value = serde_json::from_slice(&checked(body.as_bytes().to_vec())).unwrap_or(Value::Null);
        match expect {
            None => assert_eq!(out, serde_json::from_str::<Value>(body).unwrap()),
            Some((id, code)) => {
                assert_eq!(out["method"], INVALID_MESSAGE, "{body}");
                assert_eq!((out["id"].clone(), out["params"]["code"].as_i64().unwrap()), (id, code), "{body}");
            }
        }
    }

    #[test]
    fn frames() {
        check(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#, None);
        check(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#, None);
        check(r#"{"jsonrpc":"2.0","id":3,"result":null}"#, None);
        check("{ not json", Some((Value::Null, -32700)));
        check("", Some((Value::Null, -32700)));
        check(r#"{"id":7,"what":1}"#, Some((json!(7), -32600)));
        check(r#"[1,2]"#, Some((Value::Null, -32600)));
    }

    #[test]
    fn exit_messages() {
        assert!(is_exit(br#"{"jsonrpc":"2.0","method":"exit"}"#));
        assert!(is_exit(br#"{"jsonrpc":"2.0","id":9,"method":"exit","params":null}"#));
        assert!(!is_exit(br#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"text":"\"exit\""}}"#));
        assert!(!is_exit(br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#));
    }

    #[tokio::test]
    async fn reads_frames_with_extra_headers_and_recovers_from_bad_ones() {
        let input = b"Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=latin1\r\n\r\n{}X-Junk: 1\r\n\r\nContent-Length: 4\r\n\r\nnull";
        let mut reader = BufReader::new(&input[..]);
        assert_eq!(next_frame(&mut reader).await.unwrap(), b"{}");
        assert_eq!(next_frame(&mut reader).await.unwrap(), b"");
        assert_eq!(next_frame(&mut reader).await.unwrap(), b"null");
        assert_eq!(next_frame(&mut reader).await, None);
    }
}

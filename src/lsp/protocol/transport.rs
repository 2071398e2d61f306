//! A guard in front of tower-lsp-server's reader. tower-lsp-server 0.23 (with tokio-util 0.7.20) ends
//! the whole session on one undecodable message: its `FramedRead` yields `None` after a decode error
//! and the read loop takes that as end of input; and its `Id` holds only an i64 or a string. So every
//! frame is read here first (`framing`: a bad header or length costs one frame, the reader
//! resynchronises on the next header) and checked; a frame the library could not decode is replaced
//! by a `buildlens/invalidMessage` request that the server answers with the JSON-RPC error the client
//! deserves (-32700 parse error, -32600 invalid request, -32601 for a `$/` request, which the library
//! would drop unanswered), and the session goes on. Valid frames pass through unchanged.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWriteExt, DuplexStream};
use tokio::sync::Notify;
use tower_lsp_server::jsonrpc::{Request, Response};

use crate::lsp::config::DEFAULT_MAX_DOCUMENT_BYTES;
use crate::lsp::protocol::framing::{frame_cap, Frame, Frames, OVER_CAP};
use crate::lsp::protocol::too_large;

/// The method a replaced frame becomes.
pub const INVALID_MESSAGE: &str = "buildlens/invalidMessage";
pub use crate::lsp::protocol::too_large::DOCUMENT_TOO_LARGE;

/// What the guard saw of the session.
pub struct Session {
    /// Notified once the input ends or an `exit` notification went through: the session is over,
    /// whatever requests are still running (`serve` waits for them only a moment).
    pub ended: Notify,
    pub shutdown: AtomicBool,
    pub exit: AtomicBool,
    /// `buildlens.maxDocumentBytes` in force (set by the server from its settings).
    document_cap: AtomicUsize,
    /// The frame cap that follows from it (`framing::frame_cap`), read by the frame reader.
    frame_cap: Arc<AtomicUsize>,
}

impl Default for Session {
    fn default() -> Session {
        Session {
            ended: Notify::new(),
            shutdown: AtomicBool::new(false),
            exit: AtomicBool::new(false),
            document_cap: AtomicUsize::new(DEFAULT_MAX_DOCUMENT_BYTES),
            frame_cap: Arc::new(AtomicUsize::new(frame_cap(DEFAULT_MAX_DOCUMENT_BYTES))),
        }
    }
}

impl Session {
    /// Applies `buildlens.maxDocumentBytes` to the frames read from now on.
    pub fn set_document_cap(&self, bytes: usize) {
        self.document_cap.store(bytes, Ordering::Relaxed);
        self.frame_cap.store(frame_cap(bytes), Ordering::Relaxed);
    }

    pub fn document_cap(&self) -> usize {
        self.document_cap.load(Ordering::Relaxed)
    }

    /// The process's exit status: 1 after an `exit` that no `shutdown` came before (the LSP spec).
    pub fn status(&self) -> i32 {
        i32::from(self.exit.load(Ordering::Relaxed) && !self.shutdown.load(Ordering::Relaxed))
    }
}

/// Reads `input`, checks each frame, and gives back the stream the server should read.
pub fn guard<R: AsyncRead + Unpin + Send + 'static>(input: R, session: Arc<Session>) -> DuplexStream {
    let (mut to_server, server_side) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let mut frames = Frames::with_cap(input, session.frame_cap.clone());
        // Whether the last frame was answered as unreadable: junk after it is its rest, not one more.
        let mut last_unreadable = false;
        while let Some(frame) = frames.next().await {
            // A document skipped with its frame is known as too large, not left as it was.
            if let Frame::OverCap { length, head } = &frame {
                if let Some(notice) = too_large::skipped(head, *length) {
                    if write_frame(&mut to_server, &notice).await.is_err() {
                        break;
                    }
                }
            }
            let checked = match frame {
                Frame::Body(body) => checked(body, session.document_cap()),
                Frame::OverCap { .. } => replaced(Value::Null, -32700, OVER_CAP, None),
                Frame::Bad(what) => replaced(Value::Null, -32700, what, None),
                Frame::Junk if last_unreadable => continue,
                Frame::Junk => replaced(Value::Null, -32700, "bytes outside a frame", None),
            };
            last_unreadable = checked.kind == Kind::Unreadable;
            if checked.kind == Kind::Shutdown {
                session.shutdown.store(true, Ordering::Relaxed);
            }
            if write_frame(&mut to_server, &checked.body).await.is_err() {
                break;
            }
            if checked.kind == Kind::Exit {
                session.exit.store(true, Ordering::Relaxed);
                break;
            }
        }
        // End of input: dropping the stream tells the server, which then exits.
        session.ended.notify_one();
    });
    server_side
}

/// Header and body written apart: a large body is not copied once more.
async fn write_frame(to_server: &mut DuplexStream, body: &[u8]) -> std::io::Result<()> {
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    to_server.write_all(header.as_bytes()).await?;
    to_server.write_all(body).await
}

/// A frame as it goes to the library.
struct Checked {
    body: Vec<u8>,
    kind: Kind,
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Message,
    Shutdown,
    /// `exit`, with or without an id, as tower-lsp-server takes it: its read loop stops at either.
    Exit,
    /// Replaced: not JSON, or not a message.
    Unreadable,
    Invalid,
}

/// The members tower-lsp-server's `Request` and `Response` read, each kept when present (also as
/// `null`); a member twice is an error here as it is there.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "present")]
    jsonrpc: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    method: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    params: Option<Payload>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Payload>,
    #[serde(default, deserialize_with = "present")]
    error: Option<Value>,
}

/// Any JSON value, read as strictly as into a `Value` (strings decoded: a lone surrogate in an escape is
/// an error, as it is for the library) but kept nowhere: a large document costs no copy here.
struct Payload;

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Payload, D::Error> {
        d.deserialize_any(Payload)
    }
}

impl<'de> serde::de::Visitor<'de> for Payload {
    type Value = Payload;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Payload, E> {
        Ok(Payload)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Payload, E> {
        Ok(Payload)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Payload, E> {
        Ok(Payload)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Payload, E> {
        Ok(Payload)
    }
    fn visit_str<E>(self, _: &str) -> Result<Payload, E> {
        Ok(Payload)
    }
    fn visit_unit<E>(self) -> Result<Payload, E> {
        Ok(Payload)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
        while seq.next_element::<Payload>()?.is_some() {}
        Ok(Payload)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Payload, A::Error> {
        while map.next_entry::<Payload, Payload>()?.is_some() {}
        Ok(Payload)
    }
}

fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl Envelope {
    /// The message without its payload (`params`, `result` are any value to the library): decodes
    /// exactly when the message does, without copying a large document.
    fn decodable_with(&self, id: Option<&Value>) -> bool {
        let mut m = serde_json::Map::new();
        let members = [("jsonrpc", self.jsonrpc.as_ref()), ("method", self.method.as_ref()), ("id", id), ("error", self.error.as_ref())];
        for (name, value) in members {
            if let Some(value) = value {
                m.insert(name.into(), value.clone());
            }
        }
        for (name, there) in [("params", self.params.is_some()), ("result", self.result.is_some())] {
            if there {
                m.insert(name.into(), Value::Null);
            }
        }
        let m = Value::Object(m);
        serde_json::from_value::<Response>(m.clone()).is_ok() || serde_json::from_value::<Request>(m).is_ok()
    }
}

/// `body` when tower-lsp-server can decode it (an integral id such as `1e3` written as the integer),
/// else the replacement request; a document over `document_cap` becomes `DOCUMENT_TOO_LARGE`.
fn checked(body: Vec<u8>, document_cap: usize) -> Checked {
    // First, before a full parse would decode the text once more.
    if body.len() > document_cap {
        if let Some(replaced) = too_large::replacement(&body, document_cap) {
            return Checked { body: replaced, kind: Kind::Message };
        }
    }
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let envelope = match serde_json::from_slice::<Envelope>(&body) {
        Ok(e) if object => e,
        Err(e) if !e.is_data() => return replaced(Value::Null, -32700, "not JSON", None),
        _ => return replaced(Value::Null, -32600, "not a JSON-RPC message", None),
    };
    let method = envelope.method.as_ref().and_then(Value::as_str);
    if let (Some(method), Some(id)) = (method, &envelope.id) {
        if method.starts_with("$/") {
            let (id, data) = answer_id(id);
            return replaced(id, -32601, "method not found", data);
        }
    }
    let kind = match method {
        Some("exit") => Kind::Exit,
        Some("shutdown") if envelope.id.is_some() => Kind::Shutdown,
        _ => Kind::Message,
    };
    if envelope.decodable_with(envelope.id.as_ref()) {
        return Checked { body, kind };
    }
    if let Some(n) = envelope.id.as_ref().and_then(integral) {
        if envelope.decodable_with(Some(&n.into())) {
            if let Ok(mut value) = serde_json::from_slice::<Value>(&body) {
                value["id"] = n.into();
                return Checked { body: value.to_string().into_bytes(), kind };
            }
        }
    }
    match envelope.id.as_ref().map(answer_id) {
        Some((id, Some(data))) => replaced(id, -32600, "the request id is neither an integer nor a string", Some(data)),
        Some((id, None)) => replaced(id, -32600, "invalid request", None),
        None => replaced(Value::Null, -32600, "invalid request", None),
    }
}

/// A numeric id with an integer value the library can hold (`1e3`, `2.0`).
fn integral(id: &Value) -> Option<i64> {
    let f = id.as_f64().filter(|_| id.as_i64().is_none())?;
    // 2^63 is exact in f64; every integral f64 below it in magnitude fits an i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f)).then_some(f as i64)
}

/// The id an answer can carry: an i64 or a string as is; anything else is answered with id null and
/// the id itself in the error's `data`, so the client can still tell which request it was.
fn answer_id(id: &Value) -> (Value, Option<Value>) {
    if id.is_i64() || id.is_string() || id.is_null() {
        (id.clone(), None)
    } else {
        (Value::Null, Some(json!({ "id": id })))
    }
}

fn replaced(id: Value, code: i64, message: &str, data: Option<Value>) -> Checked {
    eprintln!("buildlens: dropped an undecodable message (JSON-RPC error {code}: {message})");
    let kind = if code == -32700 { Kind::Unreadable } else { Kind::Invalid };
    let params = json!({"code": code, "message": message, "data": data});
    Checked { body: json!({"jsonrpc": "2.0", "id": id, "method": INVALID_MESSAGE, "params": params}).to_string().into_bytes(), kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str, expect: Option<(Value, i64)>) {
        let out: Value = serde_json::from_slice(&checked(body.as_bytes().to_vec(), usize::MAX).body).unwrap_or(Value::Null);
        match expect {
            None => assert_eq!(out, serde_json::from_str::<Value>(body).unwrap()),
            Some((id, code)) => {
                assert_eq!(out["method"], INVALID_MESSAGE, "{body}");
                assert_eq!((out["id"].clone(), out["params"]["code"].as_i64().unwrap()), (id, code), "{body}");
                // The replacement itself always decodes.
                assert_eq!(checked(out.to_string().into_bytes(), usize::MAX).kind, Kind::Message, "{body}");
            }
        }
    }

    #[test]
    fn frames() {
        check(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#, None);
        check(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#, None);
        check(r#"{"jsonrpc":"2.0","id":3,"result":null}"#, None);
        check(r#"{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"m"}}"#, None);
        check("{ not json", Some((Value::Null, -32700)));
        check("", Some((Value::Null, -32700)));
        check(r#"{"id":7,"what":1}"#, Some((json!(7), -32600)));
        check(r#"[1,2]"#, Some((Value::Null, -32600)));
        check(r#"["2.0","shutdown"]"#, Some((Value::Null, -32600)));
        check(r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"shutdown"}"#, Some((Value::Null, -32600)));
        check(r#"{"jsonrpc":"2.0","method":null}"#, Some((Value::Null, -32600)));
        check(r#"{"jsonrpc":"1.0","id":5,"method":"shutdown"}"#, Some((json!(5), -32600)));
        // What the library's own parse refuses inside a payload: a lone surrogate, invalid UTF-8.
        check(r#"{"jsonrpc":"2.0","method":"x","params":{"t":"\ud800"}}"#, Some((Value::Null, -32700)));
        let mut bad_utf8 = br#"{"jsonrpc":"2.0","method":"x","params":{"t":"#.to_vec();
        bad_utf8.extend_from_slice(b"\"\xff\"}}");
        assert_eq!(checked(bad_utf8, usize::MAX).kind, Kind::Unreadable);
    }

    #[test]
    fn ids_the_library_cannot_hold() {
        let request = |id: &str| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"shutdown"}}"#);
        // Integral: passed on as the integer.
        for (id, n) in [("1e3", 1000), ("2.0", 2), ("-0.0", 0), ("1E2", 100)] {
            let out = checked(request(id).into_bytes(), usize::MAX);
            assert_eq!(out.kind, Kind::Shutdown, "{id}");
            assert_eq!(serde_json::from_slice::<Value>(&out.body).unwrap()["id"], json!(n), "{id}");
        }
        // Not an i64: answered with id null, the id in the error's data.
        for id in ["1.5", "18446744073709551616", "9223372036854775808", "1e300", "true", "{}", "[1]"] {
            let out: Value = serde_json::from_slice(&checked(request(id).into_bytes(), usize::MAX).body).unwrap();
            assert_eq!((out["method"].as_str(), &out["id"]), (Some(INVALID_MESSAGE), &Value::Null), "{id}");
            assert_eq!(out["params"]["code"], -32600, "{id}");
            assert_eq!(out["params"]["data"]["id"], serde_json::from_str::<Value>(id).unwrap(), "{id}");
        }
        // A response to one of the server's requests with such an id.
        let out = checked(br#"{"jsonrpc":"2.0","id":4e0,"result":null}"#.to_vec(), usize::MAX);
        assert_eq!((out.kind, serde_json::from_slice::<Value>(&out.body).unwrap()["id"].clone()), (Kind::Message, json!(4)));
    }

    #[test]
    fn dollar_requests_get_method_not_found_and_dollar_notifications_pass() {
        check(r#"{"jsonrpc":"2.0","id":4,"method":"$/unknown"}"#, Some((json!(4), -32601)));
        check(r#"{"jsonrpc":"2.0","id":"x","method":"$/cancelRequest","params":{"id":1}}"#, Some((json!("x"), -32601)));
        check(r#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#, None);
        check(r#"{"jsonrpc":"2.0","method":"$/setTrace","params":{"value":"off"}}"#, None);
    }

    #[test]
    fn exit_and_shutdown() {
        let kind = |b: &str| checked(b.as_bytes().to_vec(), usize::MAX).kind;
        assert_eq!(kind(r#"{"jsonrpc":"2.0","method":"exit"}"#), Kind::Exit);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":9,"method":"exit","params":null}"#), Kind::Exit);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"text":"\"exit\""}}"#), Kind::Message);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#), Kind::Shutdown);
        assert_eq!(kind(r#"{"jsonrpc":"2.0","method":"shutdown"}"#), Kind::Message);
    }
}

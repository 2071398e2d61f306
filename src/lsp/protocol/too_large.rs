//! `didOpen`/`didChange` notifications whose text is over `buildlens.maxDocumentBytes`, replaced by the
//! transport with a small `buildlens/documentTooLarge` notification before the JSON-RPC library decodes
//! them: the library would copy the text three times more (its frame buffer, a JSON value, the
//! parameters), and the server keeps none of it anyway (`documents`). Only the text's length is read, and
//! without decoding it (the strings are scanned in place).

use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_lsp_server::ls_types::Uri;

/// The notification a `didOpen`/`didChange` carrying a text over the document cap becomes: its
/// `uri`, `version` and size, without the text (`documents::TooLarge`).
pub const DOCUMENT_TOO_LARGE: &str = "buildlens/documentTooLarge";

/// The parameters of `buildlens/documentTooLarge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TooLargeParams {
    pub uri: Uri,
    pub version: i32,
    /// The largest text the notification carried.
    pub bytes: usize,
    /// A `didOpen` (else a `didChange`, which counts only for a document already open).
    pub opened: bool,
}

/// The replacement for a `didOpen`/`didChange` notification `body` carrying a text over `cap` bytes;
/// `None` for anything else (it then goes to the library as it came). The body is read without decoding
/// its strings (`scan`): a 100 MB text costs no second 100 MB here.
pub fn replacement(body: &[u8], cap: usize) -> Option<Vec<u8>> {
    // Well-formed JSON (strings skipped, not decoded), as the library would need.
    serde_json::from_slice::<serde::de::IgnoredAny>(body).ok()?;
    let found = scan(body);
    let bytes = found.longest_text;
    (bytes > cap).then(|| notice(found, bytes)).flatten()
}

/// The notice for a frame skipped over the frame cap (`length` bytes) whose first bytes (`head`) show a
/// `didOpen`/`didChange` of a document: that document is too large (`bytes`: the frame's length).
pub fn skipped(head: &[u8], length: usize) -> Option<Vec<u8>> {
    notice(scan(head), length)
}

/// `buildlens/documentTooLarge` for the document a `didOpen`/`didChange` names.
fn notice(found: Found<'_>, bytes: usize) -> Option<Vec<u8>> {
    let opened = match found.method? {
        b"textDocument/didOpen" => true,
        b"textDocument/didChange" => false,
        _ => return None,
    };
    let uri: Uri = serde_json::from_slice(found.uri?).ok()?;
    let version = i32::try_from(found.version?).ok()?;
    let params = TooLargeParams { uri, version, bytes, opened };
    Some(json!({"jsonrpc": "2.0", "method": DOCUMENT_TOO_LARGE, "params": params}).to_string().into_bytes())
}

/// What `scan` reads of a notification: the first `method` (its raw string), `uri` (quoted, to decode)
/// and `version`, and the decoded length of the longest `text` string.
#[derive(Debug, Default, PartialEq)]
struct Found<'a> {
    method: Option<&'a [u8]>,
    uri: Option<&'a [u8]>,
    version: Option<i64>,
    longest_text: usize,
}

/// One pass over well-formed JSON: a string followed by `:` is a key, and the value after it is read
/// when the key is one of the four. In `didOpen`/`didChange` parameters `uri` and `version` occur only in
/// `textDocument`, `text` only as the document's text or a change's.
fn scan(body: &[u8]) -> Found<'_> {
    let mut found = Found::default();
    let mut key: Option<&[u8]> = None;
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match b {
            b'"' => {
                let end = string_end(body, i + 1);
                let content = body.get(i + 1..end.saturating_sub(1)).unwrap_or_default();
                let next = end + body.get(end..).unwrap_or_default().iter().take_while(|b| b.is_ascii_whitespace()).count();
                if body.get(next) == Some(&b':') {
                    key = Some(content);
                    i = next + 1;
                    continue;
                }
                match key.take() {
                    Some(b"text") => found.longest_text = found.longest_text.max(decoded_len(content)),
                    Some(b"method") if found.method.is_none() => found.method = Some(content),
                    Some(b"uri") if found.uri.is_none() => found.uri = body.get(i..end),
                    _ => {}
                }
                i = end;
            }
            b'-' | b'0'..=b'9' => {
                let len = body[i..].iter().take_while(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')).count();
                if key.take() == Some(b"version") && found.version.is_none() {
                    found.version = std::str::from_utf8(&body[i..i + len]).ok().and_then(|n| n.parse().ok());
                }
                i += len;
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                key = None;
                i += 1;
            }
        }
    }
    found
}

/// Just past the closing quote of the string whose content starts at `from`.
fn string_end(body: &[u8], mut from: usize) -> usize {
    while let Some(at) = body.get(from..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
        if body[from + at] == b'"' {
            return from + at + 1;
        }
        from += at + 2; // An escape: its next byte is never the closing quote.
    }
    body.len()
}

/// The length in bytes of a JSON string's content once its escapes are decoded.
fn decoded_len(raw: &[u8]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while let Some(at) = raw.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        len += at;
        i += at;
        let unit = |at: usize| raw.get(at..at + 4).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u32::from_str_radix(h, 16).ok());
        match (raw.get(i + 1), unit(i + 2)) {
            (Some(b'u'), Some(0xd800..=0xdbff))
                if raw.get(i + 6..i + 8) == Some(b"\\u") && unit(i + 8).is_some_and(|l| (0xdc00..=0xdfff).contains(&l)) =>
            {
                len += 4;
                i += 12;
            }
            (Some(b'u'), Some(cp)) => {
                len += if cp < 0x80 {
                    1
                } else if cp < 0x800 {
                    2
                } else {
                    3
                };
                i += 6;
            }
            _ => {
                len += 1;
                i += 2;
            }
        }
    }
    len + raw.len().saturating_sub(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn replaced(body: &str, cap: usize) -> Option<Value> {
        replacement(body.as_bytes(), cap).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn lengths_are_those_of_the_decoded_text() {
        for text in ["", "plain", "a\nb\t\"q\" \\", "é🐳\u{1b}\u{7f}\u{80}\u{800}\u{ffff}", "\u{10000}\u{10ffff}"] {
            let quoted = serde_json::to_string(text).unwrap();
            // serde_json writes non-ASCII as is: escape it all as \uXXXX too.
            let escaped: String = text.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
            for raw in [&quoted[1..quoted.len() - 1], escaped.as_str()] {
                assert_eq!(decoded_len(raw.as_bytes()), text.len(), "{raw}");
            }
        }
    }

    #[test]
    fn the_scan_finds_the_members_wherever_they_are() {
        let body = br#"{"params":{"contentChanges":[{"text":"ab\"c"},{"range":{"start":{"line":1}},"text":"x"}],
            "textDocument":{"version":-3,"uri":"file:///a%20b/\"D\""}},"method":"textDocument/didChange","jsonrpc":"2.0"}"#;
        let found = scan(body);
        assert_eq!(found.method, Some(&b"textDocument/didChange"[..]));
        assert_eq!(found.uri, Some(&br#""file:///a%20b/\"D\"""#[..]));
        assert_eq!((found.version, found.longest_text), (Some(-3), 4));
    }

    #[test]
    fn only_texts_over_the_cap_are_replaced() {
        let open = |text: &str| {
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": "file:///w/Dockerfile", "languageId": "dockerfile", "version": 3, "text": text}}})
            .to_string()
        };
        assert_eq!(replaced(&open("FROM a\n"), 7), None);
        let out = replaced(&open("FROM a\nRUN b\n"), 7).unwrap();
        assert_eq!(out["method"], DOCUMENT_TOO_LARGE);
        assert_eq!(out["params"], json!({"uri": "file:///w/Dockerfile", "version": 3, "bytes": 13, "opened": true}));
        // Escapes count as the bytes they decode to.
        assert_eq!(replaced(&open("\u{1b}\u{1b}\u{1b}\u{1b}"), 4), None);
        let change = |texts: &[&str]| {
            let changes: Vec<Value> = texts.iter().map(|t| json!({"range": null, "text": t})).collect();
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": "file:///w/Dockerfile", "version": 4}, "contentChanges": changes}})
            .to_string()
        };
        assert_eq!(replaced(&change(&["ab", "abc"]), 3), None);
        assert_eq!(replaced(&change(&["ab", "abcd"]), 3).unwrap()["params"]["bytes"], 4);
        let other =
            json!({"jsonrpc": "2.0", "method": "textDocument/didSave", "params": {"textDocument": {"uri": "file:///w/D", "text": "x"}}});
        assert_eq!(replaced(&other.to_string(), 0), None);
        assert_eq!(replaced(&open("FROM a\nRUN b\n")[..40], 7), None, "not JSON");
        // The first bytes of a frame skipped whole: enough when the text comes after the document's name.
        // (Members in the order clients send them, the document's name before its text.)
        let head = format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"file:///w/Dockerfile","languageId":"dockerfile","version":3,"text":"{}"#,
            "x".repeat(5000)
        );
        let head = &head[..300];
        let out: Value = serde_json::from_slice(&skipped(head.as_bytes(), 123_456).unwrap()).unwrap();
        assert_eq!(out["params"], json!({"uri": "file:///w/Dockerfile", "version": 3, "bytes": 123_456, "opened": true}));
        assert_eq!(skipped(&head.as_bytes()[..60], 123_456), None, "cut before the name");
    }
}

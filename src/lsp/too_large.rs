//! `didOpen`/`didChange` notifications whose text is over `buildlens.maxDocumentBytes`, replaced by the
//! transport with a small `buildlens/documentTooLarge` notification before the JSON-RPC library decodes
//! them: the library would copy the text three times more (its frame buffer, a JSON value, the
//! parameters), and the server keeps none of it anyway (`documents`). Only the text's length is read.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use tower_lsp_server::ls_types::Uri;

use super::transport::DOCUMENT_TOO_LARGE;

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

#[derive(Deserialize)]
struct Message {
    params: Params,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    text_document: Doc,
    #[serde(default)]
    content_changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Doc {
    uri: Uri,
    version: i32,
    #[serde(default)]
    text: Length,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    text: Length,
}

/// A JSON string's length in bytes (decoded), the string itself kept nowhere.
#[derive(Default)]
struct Length(usize);

impl<'de> Deserialize<'de> for Length {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Length, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Length;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, text: &str) -> Result<Length, E> {
                Ok(Length(text.len()))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// The replacement for the notification `method` with this `body`, when it carries a text over `cap`
/// bytes; `None` for anything else (it then goes to the library as it came).
pub fn replacement(method: &str, body: &[u8], cap: usize) -> Option<Vec<u8>> {
    let opened = match method {
        "textDocument/didOpen" => true,
        "textDocument/didChange" => false,
        _ => return None,
    };
    let params = serde_json::from_slice::<Message>(body).ok()?.params;
    let bytes = params.content_changes.iter().map(|c| c.text.0).chain([params.text_document.text.0]).max().unwrap_or(0);
    if bytes <= cap {
        return None;
    }
    let params = TooLargeParams { uri: params.text_document.uri, version: params.text_document.version, bytes, opened };
    Some(json!({"jsonrpc": "2.0", "method": DOCUMENT_TOO_LARGE, "params": params}).to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn replaced(body: &str, cap: usize) -> Option<Value> {
        let method = serde_json::from_str::<Value>(body).unwrap()["method"].as_str().unwrap().to_owned();
        replacement(&method, body.as_bytes(), cap).map(|b| serde_json::from_slice(&b).unwrap())
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
        let other = json!({"jsonrpc": "2.0", "method": "textDocument/didSave", "params": {"textDocument": {"uri": "file:///w/D"}}});
        assert_eq!(replaced(&other.to_string(), 0), None);
    }
}

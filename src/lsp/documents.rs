//! The open documents: text, version and line index, changed only by `didOpen`/`didChange`/`didClose`.
//!
//! Edits are applied synchronously under the server's `std::sync::Mutex`, before any `.await`: tower-lsp
//! runs notifications concurrently, and an await before the edit reorders edits (docs/dependencies.md,
//! hazard 1). Everything computed from a document carries the version it was computed for.

use std::collections::HashMap;
use std::sync::Arc;

use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::lsp::protocol::encoding::{self, Encoding};

/// One open document. The text is shared so a request can work on a snapshot without holding the lock.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: Arc<str>,
    pub version: i32,
    pub line_starts: Arc<Vec<usize>>,
}

impl Document {
    pub fn new(text: String, version: i32) -> Document {
        let line_starts = Arc::new(encoding::line_starts(&text));
        Document { text: text.into(), version, line_starts }
    }

    /// The text of 0-based line `line`, without its line ending.
    pub fn line(&self, line: usize) -> Option<&str> {
        encoding::line_text(&self.text, &self.line_starts, line)
    }

    /// Applies the changes of one `didChange`, in order. A ranged change edits; a change without a range
    /// replaces the whole text. Positions out of range are clamped, never a panic.
    pub fn apply(&mut self, changes: Vec<TextDocumentContentChangeEvent>, version: i32, enc: Encoding) {
        let mut text = String::from(&*self.text);
        let mut starts = (*self.line_starts).clone();
        for change in changes {
            match change.range {
                None => text = change.text,
                Some(range) => {
                    let start = encoding::offset(&text, &starts, range.start, enc);
                    let end = encoding::offset(&text, &starts, range.end, enc).max(start);
                    text.replace_range(start..end, &change.text);
                }
            }
            starts = encoding::line_starts(&text);
        }
        *self = Document { text: text.into(), version, line_starts: Arc::new(starts) };
    }
}

/// What kind of file a document is, decided once when it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dockerfile,
    BuildLog,
}

/// Open documents by URI. A document over the size cap (`buildlens.maxDocumentBytes`) is open but not
/// kept: only its kind and version are, so no feature sees it (no lenses, hints, hover, links or
/// diagnostics) and its text costs nothing after the notification that brought it.
#[derive(Debug, Default)]
pub struct Documents {
    docs: HashMap<Uri, (Kind, Document)>,
    too_large: HashMap<Uri, (Kind, i32)>,
}

/// A document that went over the cap with this notification: its size (or a lower bound), for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub bytes: usize,
}

impl Documents {
    /// Opens a document; `Some` when it is over `cap` bytes (then its text is dropped here).
    pub fn open(&mut self, uri: Uri, kind: Kind, text: String, version: i32, cap: usize) -> Option<TooLarge> {
        if text.len() > cap {
            return self.mark_too_large(uri, kind, version, text.len());
        }
        self.too_large.remove(&uri);
        self.docs.insert(uri, (kind, Document::new(text, version)));
        None
    }

    /// A document the transport refused before it was decoded (`bytes`: its text, or the frame's size).
    /// `Some` unless it was already known as too large.
    pub fn mark_too_large(&mut self, uri: Uri, kind: Kind, version: i32, bytes: usize) -> Option<TooLarge> {
        let kind = self.docs.remove(&uri).map_or(kind, |(k, _)| k);
        let was = self.too_large.insert(uri, (kind, version)).is_some();
        (!was).then_some(TooLarge { bytes })
    }

    /// Applies a change; a change for a document that is not open is ignored (the client will reopen it).
    /// A document over the cap stays so until a change replaces its whole text with one under the cap
    /// (ranged edits cannot be applied to a text that was not kept). `Some` when it just went over.
    pub fn change(
        &mut self,
        uri: &Uri,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
        enc: Encoding,
        cap: usize,
    ) -> Option<TooLarge> {
        if let Some((kind, old)) = self.too_large.get_mut(uri) {
            *old = version;
            let kind = *kind;
            let full = changes.iter().rposition(|c| c.range.is_none())?;
            let mut changes = changes;
            let rest = changes.split_off(full + 1);
            let text = changes.pop().map(|c| c.text).unwrap_or_default();
            if text.len() > cap {
                return None;
            }
            self.too_large.remove(uri);
            self.docs.insert(uri.clone(), (kind, Document::new(text, version)));
            return self.change(uri, rest, version, enc, cap);
        }
        let (kind, doc) = self.docs.get_mut(uri)?;
        // No change's text fits a document under the cap when it is over the cap itself.
        let incoming = changes.iter().map(|c| c.text.len()).max().unwrap_or(0);
        if incoming <= cap {
            doc.apply(changes, version, enc);
        }
        let bytes = if incoming > cap { incoming } else { doc.text.len() };
        if bytes > cap {
            let kind = *kind;
            return self.mark_too_large(uri.clone(), kind, version, bytes);
        }
        None
    }

    pub fn close(&mut self, uri: &Uri) {
        self.docs.remove(uri);
        self.too_large.remove(uri);
    }

    pub fn get(&self, uri: &Uri) -> Option<(Kind, Document)> {
        self.docs.get(uri).cloned()
    }

    /// Whether `uri` is open, kept or over the cap.
    pub fn is_open(&self, uri: &Uri) -> bool {
        self.docs.contains_key(uri) || self.too_large.contains_key(uri)
    }

    /// The version of an open document that is kept (not over the cap).
    pub fn version(&self, uri: &Uri) -> Option<i32> {
        self.docs.get(uri).map(|(_, d)| d.version)
    }

    pub fn uris(&self) -> Vec<(Uri, Kind, i32)> {
        self.docs.iter().map(|(u, (k, d))| (u.clone(), *k, d.version)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range};

    fn edit(l0: u32, c0: u32, l1: u32, c1: u32, text: &str) -> TextDocumentContentChangeEvent {
        let range = Range::new(Position::new(l0, c0), Position::new(l1, c1));
        TextDocumentContentChangeEvent { range: Some(range), range_length: None, text: text.to_string() }
    }

    fn check(before: &str, changes: Vec<TextDocumentContentChangeEvent>, enc: Encoding, after: &str) {
        let mut doc = Document::new(before.to_string(), 1);
        doc.apply(changes, 2, enc);
        assert_eq!(&*doc.text, after);
        assert_eq!(doc.version, 2);
        assert_eq!(*doc.line_starts, encoding::line_starts(after));
    }

    #[test]
    fn incremental_edits() {
        check("FROM a\nRUN x\n", vec![edit(1, 4, 1, 5, "make")], Encoding::Utf16, "FROM a\nRUN make\n");
        check("FROM a\n", vec![edit(1, 0, 1, 0, "RUN b\n")], Encoding::Utf16, "FROM a\nRUN b\n");
        check("a\nb\nc", vec![edit(0, 1, 2, 0, "")], Encoding::Utf16, "ac");
    }
    #[test]
    fn edits_after_wide_characters_use_the_negotiated_unit() {
        check("RUN 🐳 é x", vec![edit(0, 9, 0, 10, "y")], Encoding::Utf16, "RUN 🐳 é y");
        check("RUN 🐳 é x", vec![edit(0, 12, 0, 13, "y")], Encoding::Utf8, "RUN 🐳 é y");
    }
    #[test]
    fn several_changes_apply_in_order_and_full_text_replaces() {
        let full = TextDocumentContentChangeEvent { range: None, range_length: None, text: "X\nY".into() };
        check("a", vec![full, edit(1, 0, 1, 1, "Z")], Encoding::Utf16, "X\nZ");
    }
    #[test]
    fn a_document_over_the_cap_is_open_but_not_kept() {
        let uri: Uri = "file:///w/Dockerfile".parse().unwrap();
        let full = |t: &str| TextDocumentContentChangeEvent { range: None, range_length: None, text: t.to_string() };
        let mut docs = Documents::default();
        assert_eq!(docs.open(uri.clone(), Kind::Dockerfile, "x".repeat(17), 1, 16), Some(TooLarge { bytes: 17 }));
        assert!(docs.get(&uri).is_none() && docs.version(&uri).is_none() && docs.uris().is_empty());
        // Ranged edits of a text not kept are ignored; a second refusal is not reported again.
        assert_eq!(docs.change(&uri, vec![edit(0, 0, 0, 1, "")], 2, Encoding::Utf16, 16), None);
        assert_eq!(docs.change(&uri, vec![full(&"y".repeat(20))], 3, Encoding::Utf16, 16), None);
        assert!(docs.get(&uri).is_none());
        // A whole text under the cap brings it back, with the ranged edits after it applied.
        assert_eq!(docs.change(&uri, vec![full("FROM a\n"), edit(1, 0, 1, 0, "RUN b")], 4, Encoding::Utf16, 16), None);
        assert_eq!(&*docs.get(&uri).unwrap().1.text, "FROM a\nRUN b");
        assert_eq!(docs.version(&uri), Some(4));
        // Growing past the cap by ranged edits: dropped, reported once.
        assert_eq!(docs.change(&uri, vec![edit(1, 0, 1, 0, "xxxxx")], 5, Encoding::Utf16, 16), Some(TooLarge { bytes: 17 }));
        assert_eq!(docs.change(&uri, vec![edit(0, 0, 0, 0, "z")], 6, Encoding::Utf16, 16), None);
        assert!(docs.get(&uri).is_none());
        docs.close(&uri);
        assert_eq!(docs.open(uri.clone(), Kind::Dockerfile, "FROM a".into(), 7, 16), None);
        assert_eq!(docs.version(&uri), Some(7));
    }
    #[test]
    fn out_of_range_is_clamped() {
        check("ab", vec![edit(5, 0, 9, 9, "!")], Encoding::Utf16, "ab!");
        check("ab", vec![edit(0, 2, 0, 1, "!")], Encoding::Utf16, "ab!");
    }
}

//! The open documents: text, version and line index, changed only by `didOpen`/`didChange`/`didClose`.
//!
//! Edits are applied synchronously under the server's `std::sync::Mutex`, before any `.await`: tower-lsp
//! runs notifications concurrently, and an await before the edit reorders edits (docs/dependencies.md,
//! hazard 1). Everything computed from a document carries the version it was computed for.

use std::collections::HashMap;
use std::sync::Arc;

use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use super::encoding::{self, Encoding};

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

/// Open documents by URI.
#[derive(Debug, Default)]
pub struct Documents {
    docs: HashMap<Uri, (Kind, Document)>,
}

impl Documents {
    pub fn open(&mut self, uri: Uri, kind: Kind, text: String, version: i32) {
        self.docs.insert(uri, (kind, Document::new(text, version)));
    }

    /// Applies a change; a change for a document that is not open is ignored (the client will reopen it).
    pub fn change(&mut self, uri: &Uri, changes: Vec<TextDocumentContentChangeEvent>, version: i32, enc: Encoding) {
        if let Some((_, doc)) = self.docs.get_mut(uri) {
            doc.apply(changes, version, enc);
        }
    }

    pub fn close(&mut self, uri: &Uri) {
        self.docs.remove(uri);
    }

    pub fn get(&self, uri: &Uri) -> Option<(Kind, Document)> {
        self.docs.get(uri).cloned()
    }

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
    fn out_of_range_is_clamped() {
        check("ab", vec![edit(5, 0, 9, 9, "!")], Encoding::Utf16, "ab!");
        check("ab", vec![edit(0, 2, 0, 1, "!")], Encoding::Utf16, "ab!");
    }
}

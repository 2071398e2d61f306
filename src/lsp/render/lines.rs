//! The lines of a document's text as the renderers read them: a workspace `Snapshot` (the text it
//! analysed) or an open `Document` (tests), one 0-based line without its line ending.

use crate::lsp::documents::Document;
use crate::workspace::Snapshot;

pub trait Lines {
    /// The text of 0-based line `line`, without its line ending; `None` past the end.
    fn line(&self, line: usize) -> Option<&str>;
}

impl Lines for Snapshot {
    fn line(&self, line: usize) -> Option<&str> {
        Snapshot::line(self, line)
    }
}

impl Lines for Document {
    fn line(&self, line: usize) -> Option<&str> {
        Document::line(self, line)
    }
}

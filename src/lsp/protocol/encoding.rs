//! Position encodings: LSP columns count UTF-16 code units unless the client and server agree on UTF-8 or
//! UTF-32 (`general.positionEncodings`, LSP 3.17). Only this module converts between byte offsets in our
//! UTF-8 text and LSP columns; a tab is one unit in every encoding (no tab expansion).

use tower_lsp_server::ls_types::{Position, PositionEncodingKind};

/// The column unit agreed with the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    Utf8,
    #[default]
    Utf16,
    Utf32,
}

impl Encoding {
    /// Picks from what the client offers: UTF-8 when offered (our text is UTF-8, no conversion), then
    /// UTF-32, else the protocol's mandatory UTF-16.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or(&[]);
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn units(self, c: char) -> u32 {
        match self {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }

    /// The column of byte offset `byte` in `line` (clamped to the line; a byte inside a character counts
    /// as the start of that character).
    pub fn column(self, line: &str, byte: usize) -> u32 {
        let mut col = 0u32;
        for (i, c) in line.char_indices() {
            if i + c.len_utf8() > byte {
                break;
            }
            col = col.saturating_add(self.units(c));
        }
        col
    }

    /// The byte offset of column `col` in `line`; a column past the end gives the line's length, a column
    /// inside a character (half a surrogate pair) gives that character's start.
    pub fn byte(self, line: &str, col: u32) -> usize {
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            let next = units.saturating_add(self.units(c));
            if next > col {
                return i;
            }
            units = next;
        }
        line.len()
    }

    /// Length of `line` in this encoding's units.
    pub fn len(self, line: &str) -> u32 {
        self.column(line, line.len())
    }
}

/// Byte offsets where each line of `text` starts (`\n` ends a line; a `\r` before it stays in the line's
/// text and is trimmed by `line_text`).
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    starts
}

/// The text of 0-based line `line` without its line ending, or `None` past the end.
pub fn line_text<'a>(text: &'a str, starts: &[usize], line: usize) -> Option<&'a str> {
    let start = *starts.get(line)?;
    let end = starts.get(line + 1).map_or(text.len(), |&next| next.saturating_sub(1));
    let raw = text.get(start..end.max(start))?;
    Some(raw.strip_suffix('\r').unwrap_or(raw))
}

/// The byte offset in `text` of an LSP position (clamped: past the last line gives the text's end).
pub fn offset(text: &str, starts: &[usize], pos: Position, enc: Encoding) -> usize {
    let line = pos.line as usize;
    match line_text(text, starts, line) {
        Some(l) => starts.get(line).copied().unwrap_or(0) + enc.byte(l, pos.character),
        None => text.len(),
    }
}

/// The LSP position of byte offset `byte` in `text`.
pub fn position(text: &str, starts: &[usize], byte: usize, enc: Encoding) -> Position {
    let byte = byte.min(text.len());
    let line = starts.partition_point(|&s| s <= byte).saturating_sub(1);
    let start = starts.get(line).copied().unwrap_or(0);
    let l = line_text(text, starts, line).unwrap_or("");
    Position::new(line as u32, enc.column(l, byte.saturating_sub(start)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(line, byte) -> column` in each encoding, and back.
    fn check(line: &str, byte: usize, utf8: u32, utf16: u32, utf32: u32) {
        for (enc, col) in [(Encoding::Utf8, utf8), (Encoding::Utf16, utf16), (Encoding::Utf32, utf32)] {
            assert_eq!(enc.column(line, byte), col, "{enc:?} column of byte {byte} in {line:?}");
            assert_eq!(enc.byte(line, col), byte, "{enc:?} byte of column {col} in {line:?}");
        }
    }

    #[test]
    fn ascii() {
        check("RUN make", 4, 4, 4, 4);
        check("", 0, 0, 0, 0);
    }
    #[test]
    fn accented() {
        check("LABEL é=1", 8, 8, 7, 7);
        check("é", 2, 2, 1, 1);
    }
    #[test]
    fn emoji_is_a_surrogate_pair() {
        check("RUN echo 🐳 x", 13, 13, 11, 10);
        check("🐳🐳", 8, 8, 4, 2);
    }
    #[test]
    fn tab_is_one_unit() {
        check("\tRUN\tx", 5, 5, 5, 5);
    }
    #[test]
    fn clamps_past_the_end_and_inside_a_pair() {
        assert_eq!(Encoding::Utf16.byte("ab", 99), 2);
        assert_eq!(Encoding::Utf16.byte("🐳x", 1), 0);
        assert_eq!(Encoding::Utf16.column("é", 1), 0);
    }
    #[test]
    fn negotiation_prefers_utf8_then_utf32_else_utf16() {
        use PositionEncodingKind as K;
        assert_eq!(Encoding::negotiate(None), Encoding::Utf16);
        assert_eq!(Encoding::negotiate(Some(&[K::UTF16, K::UTF8])), Encoding::Utf8);
        assert_eq!(Encoding::negotiate(Some(&[K::UTF32, K::UTF16])), Encoding::Utf32);
        assert_eq!(Encoding::negotiate(Some(&[K::new("utf-7")])), Encoding::Utf16);
    }
    #[test]
    fn lines_and_offsets() {
        let text = "FROM a\r\nRUN é\n\nX";
        let starts = line_starts(text);
        assert_eq!(line_text(text, &starts, 0), Some("FROM a"));
        assert_eq!(line_text(text, &starts, 1), Some("RUN é"));
        assert_eq!(line_text(text, &starts, 2), Some(""));
        assert_eq!(line_text(text, &starts, 3), Some("X"));
        assert_eq!(line_text(text, &starts, 4), None);
        assert_eq!(offset(text, &starts, Position::new(1, 5), Encoding::Utf16), text.find('é').unwrap() + 2);
        assert_eq!(offset(text, &starts, Position::new(9, 0), Encoding::Utf16), text.len());
        assert_eq!(position(text, &starts, text.len(), Encoding::Utf16), Position::new(3, 1));
    }
}

//! Streaming line splitter: turns chunks of raw log bytes into lines with their byte offsets.
//!
//! Invariants: memory is bounded by `MAX_LINE` (a longer line keeps its first `MAX_LINE` bytes and is
//! flagged `truncated`, its offsets stay exact); lines fully inside a chunk are handed out without a
//! copy; offsets are always into the raw file, also for UTF-16 logs, which are decoded line by line.
//! `\n` ends a line; trailing `\r`s are removed later by `unwrap`.

use memchr::memchr_iter;
use serde::{Deserialize, Serialize};

/// Longest line kept whole. Step headers and error lines are far shorter, but one rawjson or Engine API
/// line carries a batch of base64 log chunks; a 100 MB output line only needs its start (for the
/// excerpt) and its offsets.
pub const MAX_LINE: usize = 1024 * 1024;

/// Text encoding of the log, decided from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    Undecided,
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// One raw line, without its `\n`.
#[derive(Debug, Clone, Copy)]
pub struct RawLine<'a> {
    pub bytes: &'a [u8],
    /// Offset of the first byte of the line in the log.
    pub start: u64,
    /// Offset just past the line's `\n` (or the end of the log for a last line without one).
    pub end: u64,
    pub truncated: bool,
}

/// Splits a byte stream into lines. Feed chunks in order, then call `finish`.
#[derive(Debug)]
pub struct LineSplitter {
    encoding: Encoding,
    /// Bytes of the current, unfinished line (at most `MAX_LINE`, plus one odd byte for UTF-16).
    pending: Vec<u8>,
    pending_start: u64,
    pending_truncated: bool,
    /// Total bytes fed so far.
    offset: u64,
    /// Reused buffer for UTF-16 → UTF-8 decoding.
    decoded: Vec<u8>,
    /// The first bytes, held until there are enough to decide the encoding.
    head: Vec<u8>,
    /// First byte of a UTF-16 unit whose second byte is in the next chunk.
    half: Option<u8>,
}

/// Bytes looked at to decide the encoding.
const SNIFF_BYTES: usize = 64;

impl LineSplitter {
    /// A splitter that starts at `offset` (non-zero when resuming a log that grew).
    pub fn new(offset: u64, encoding: Encoding) -> LineSplitter {
        LineSplitter {
            encoding,
            pending: Vec::new(),
            pending_start: offset,
            pending_truncated: false,
            offset,
            decoded: Vec::new(),
            head: Vec::new(),
            half: None,
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Offset where the unfinished line starts: everything before it has been handed out.
    pub fn resume_offset(&self) -> u64 {
        self.pending_start
    }

    /// Total bytes fed.
    pub fn offset(&self) -> u64 {
        self.offset + self.head.len() as u64
    }

    /// The log is read as UTF-8 (decided, no BOM-less head held back).
    pub fn is_utf8(&self) -> bool {
        self.encoding == Encoding::Utf8 && self.head.is_empty()
    }

    /// UTF-8, and nothing of an unfinished line held: the next byte fed starts a line.
    pub fn at_line_start(&self) -> bool {
        self.encoding == Encoding::Utf8
            && self.pending.is_empty()
            && !self.pending_truncated
            && self.pending_start == self.offset
            && self.head.is_empty()
    }

    /// Whole lines of `bytes` were read by the caller instead (`at_line_start` held, `bytes` ends with
    /// `\n`): the offsets move past them.
    pub fn skip_lines(&mut self, bytes: usize) {
        self.offset += bytes as u64;
        self.pending_start = self.offset;
    }

    /// Feeds a chunk; calls `emit` for every line it completes.
    pub fn feed(&mut self, chunk: &[u8], emit: &mut dyn FnMut(RawLine<'_>)) {
        if self.encoding == Encoding::Undecided {
            // Gather the first bytes: the encoding is decided on a sample, not on a 1-byte chunk.
            self.head.extend_from_slice(chunk);
            if self.head.len() < SNIFF_BYTES {
                return;
            }
            let head = std::mem::take(&mut self.head);
            let rest = self.decide_encoding(&head);
            self.feed_decided(rest, emit);
            return;
        }
        self.feed_decided(chunk, emit);
    }

    fn feed_decided(&mut self, chunk: &[u8], emit: &mut dyn FnMut(RawLine<'_>)) {
        match self.encoding {
            Encoding::Utf16Le | Encoding::Utf16Be => self.feed_utf16(chunk, emit),
            _ => self.feed_utf8(chunk, emit),
        }
    }

    /// Hands out the last line if the log does not end with a newline.
    pub fn finish(&mut self, emit: &mut dyn FnMut(RawLine<'_>)) {
        if self.encoding == Encoding::Undecided {
            let head = std::mem::take(&mut self.head);
            let rest = self.decide_encoding(&head);
            self.feed_decided(rest, emit);
        }
        if self.half.take().is_some() {
            self.pending_truncated = true; // an odd trailing byte: not a whole UTF-16 unit
        }
        if self.offset > self.pending_start {
            let end = self.offset;
            self.emit_pending(end, emit);
        }
    }

    fn decide_encoding<'c>(&mut self, chunk: &'c [u8]) -> &'c [u8] {
        if self.offset > 0 {
            self.encoding = Encoding::Utf8;
            return chunk;
        }
        let (encoding, bom) = sniff_encoding(chunk);
        self.encoding = encoding;
        // A BOM is not part of the first line, but its bytes still count in the offsets.
        self.offset += bom as u64;
        self.pending_start = self.offset;
        &chunk[bom..]
    }

    fn feed_utf8(&mut self, chunk: &[u8], emit: &mut dyn FnMut(RawLine<'_>)) {
        let base = self.offset;
        let mut line_start = 0usize;
        for nl in memchr_iter(b'\n', chunk) {
            let end = base + nl as u64 + 1;
            if self.pending.is_empty() && !self.pending_truncated && self.pending_start == base + line_start as u64 {
                let bytes = &chunk[line_start..nl];
                let truncated = bytes.len() > MAX_LINE;
                let bytes = &bytes[..bytes.len().min(MAX_LINE)];
                emit(RawLine { bytes, start: self.pending_start, end, truncated });
                self.pending_start = end;
            } else {
                self.push_pending(&chunk[line_start..nl]);
                self.emit_pending(end, emit);
            }
            line_start = nl + 1;
        }
        self.push_pending(&chunk[line_start..]);
        self.offset = base + chunk.len() as u64;
    }

    fn push_pending(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.pending.len());
        if bytes.len() > room {
            self.pending_truncated = true;
        }
        self.pending.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn emit_pending(&mut self, end: u64, emit: &mut dyn FnMut(RawLine<'_>)) {
        if matches!(self.encoding, Encoding::Utf16Le | Encoding::Utf16Be) {
            decode_utf16(&self.pending, self.encoding, &mut self.decoded);
            emit(RawLine { bytes: &self.decoded, start: self.pending_start, end, truncated: self.pending_truncated });
        } else {
            emit(RawLine { bytes: &self.pending, start: self.pending_start, end, truncated: self.pending_truncated });
        }
        self.pending.clear();
        self.pending_truncated = false;
        self.pending_start = end;
    }

    fn feed_utf16(&mut self, chunk: &[u8], emit: &mut dyn FnMut(RawLine<'_>)) {
        // Units are 2 bytes and a chunk may split one: `half` holds the first byte of an unfinished unit.
        for (i, &b) in chunk.iter().enumerate() {
            let Some(first) = self.half.take() else {
                self.half = Some(b);
                continue;
            };
            let unit = match self.encoding {
                Encoding::Utf16Be => u16::from_be_bytes([first, b]),
                _ => u16::from_le_bytes([first, b]),
            };
            if unit == u16::from(b'\n') {
                self.emit_pending(self.offset + i as u64 + 1, emit);
            } else if self.pending.len() + 2 <= MAX_LINE {
                self.pending.extend_from_slice(&[first, b]);
            } else {
                self.pending_truncated = true;
            }
        }
        self.offset += chunk.len() as u64;
    }
}

/// Decides the encoding from the first bytes: a BOM, or the NUL pattern of UTF-16 ASCII text.
/// Returns the encoding and the length of the BOM to skip.
pub fn sniff_encoding(head: &[u8]) -> (Encoding, usize) {
    match head {
        [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        _ => {
            let sample = &head[..head.len().min(64) & !1];
            if sample.len() >= 8 {
                let odd_nuls = sample.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
                let even_nuls = sample.iter().step_by(2).filter(|&&b| b == 0).count();
                let units = sample.len() / 2;
                if odd_nuls * 10 >= units * 9 && even_nuls == 0 {
                    return (Encoding::Utf16Le, 0);
                }
                if even_nuls * 10 >= units * 9 && odd_nuls == 0 {
                    return (Encoding::Utf16Be, 0);
                }
            }
            (Encoding::Utf8, 0)
        }
    }
}

fn decode_utf16(raw: &[u8], encoding: Encoding, out: &mut Vec<u8>) {
    out.clear();
    let units = raw.chunks_exact(2).map(|p| match encoding {
        Encoding::Utf16Be => u16::from_be_bytes([p[0], p[1]]),
        _ => u16::from_le_bytes([p[0], p[1]]),
    });
    let mut buf = [0u8; 4];
    for c in char::decode_utf16(units) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<(String, u64, u64, bool)> {
        let mut s = LineSplitter::new(0, Encoding::Undecided);
        let mut out = Vec::new();
        let mut emit = |l: RawLine<'_>| out.push((String::from_utf8_lossy(l.bytes).into_owned(), l.start, l.end, l.truncated));
        for c in chunks {
            s.feed(c, &mut emit);
        }
        s.finish(&mut emit);
        out
    }

    #[test]
    fn edge_cases() {
        assert_eq!(split(&[b""]), vec![]);
        assert_eq!(split(&[b"\n"]), vec![("".into(), 0, 1, false)]);
        assert_eq!(split(&[b"a"]), vec![("a".into(), 0, 1, false)]);
        assert_eq!(split(&[b"a\r\nb"]), vec![("a\r".into(), 0, 3, false), ("b".into(), 3, 4, false)]);
        assert_eq!(split(&[b"ab", b"c\nd", b"\n"]), vec![("abc".into(), 0, 4, false), ("d".into(), 4, 6, false)]);
    }

    #[test]
    fn long_lines_are_capped_with_exact_offsets() {
        let long = vec![b'x'; MAX_LINE * 3];
        let mut log = long.clone();
        log.extend_from_slice(b"\nnext\n");
        for chunk_size in [7usize, 4096, log.len()] {
            let chunks: Vec<&[u8]> = log.chunks(chunk_size).collect();
            let lines = split(&chunks);
            assert_eq!(lines.len(), 2, "chunk {chunk_size}");
            assert_eq!(lines[0].0.len(), MAX_LINE);
            assert!(lines[0].3);
            assert_eq!(lines[1], ("next".into(), (MAX_LINE * 3 + 1) as u64, (MAX_LINE * 3 + 6) as u64, false));
        }
    }

    #[test]
    fn utf16le_with_bom_keeps_raw_offsets() {
        let text = "é1\r\nline 2\n";
        let mut raw = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            raw.extend_from_slice(&u.to_le_bytes());
        }
        for chunk_size in [1usize, 3, raw.len()] {
            let chunks: Vec<&[u8]> = raw.chunks(chunk_size).collect();
            let lines = split(&chunks);
            assert_eq!(lines, vec![("é1\r".into(), 2, 10, false), ("line 2".into(), 10, 24, false)], "chunk {chunk_size}");
        }
    }

    #[test]
    fn utf16_long_lines_are_capped_and_the_next_line_survives() {
        let text = format!("{}\nnext\n", "x".repeat(MAX_LINE));
        let raw: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        for chunk_size in [3usize, 4096] {
            let chunks: Vec<&[u8]> = raw.chunks(chunk_size).collect();
            let lines = split(&chunks);
            assert_eq!(lines.len(), 2);
            assert!(lines[0].3 && lines[0].0.len() == MAX_LINE / 2);
            assert_eq!(lines[1].0, "next");
        }
    }

    #[test]
    fn utf16le_without_bom_is_sniffed() {
        let raw: Vec<u8> = "#1 [internal] load\n".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(split(&[&raw])[0].0, "#1 [internal] load");
    }
}

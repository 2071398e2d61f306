//! LSP base-protocol framing (`Content-Length: N\r\n\r\n` + body) read defensively: a bad header (no
//! `Content-Length`, a value that is not a number, overflows or is over the cap) or a length that does
//! not fit the body (short or long) costs one frame, never the session. The reader resynchronises on the
//! next `Content-Length:` header it sees, anywhere in a line.
//!
//! Why that is safe: a raw line break cannot occur inside a JSON string and `Content-Length:` is no JSON
//! token, so `Content-Length: <digits>` followed by a raw line break never belongs to a valid body. A long
//! length is cut there as soon as the next frame's header arrives (the reader never waits for bytes a
//! client will not send), and a short one leaves junk before the next header, which is skipped.
//! Memory: a body is buffered up to its length (capped), junk between frames in at most 8 KiB. A body
//! over the cap is never buffered: it is answered as bad and skipped as junk; the bytes of it that came
//! with its header (at most 4 KiB) are handed on, to tell which document it carried (`too_large`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest header line kept; junk past it (a body without its header) is dropped as it is read.
const MAX_HEADER_LINE: usize = 8 * 1024;
/// Largest body ever accepted; a larger `Content-Length` is a bad frame and its body is skipped as junk.
/// The cap in force is lower (`frame_cap`): it follows the largest document the server analyses.
pub const MAX_BODY: usize = 1 << 30;
/// The least frame cap, whatever the document cap.
pub const MIN_FRAME_CAP: usize = 64 << 20;
/// What a frame over the cap is answered with.
pub const OVER_CAP: &str = "Content-Length over the frame cap";

/// The frame cap for a document cap: room for a document of that size with every byte escaped in JSON
/// (`\u001b` is 6 bytes for one) and then some, at least 64 MiB, at most 1 GiB. A frame far above the
/// document cap cannot carry a document the server would analyse: it is skipped unread.
pub fn frame_cap(document_cap: usize) -> usize {
    document_cap.saturating_mul(16).clamp(MIN_FRAME_CAP, MAX_BODY)
}
/// Bytes read from the input at a time while reading headers.
const CHUNK: usize = 64 * 1024;
/// The header name, lowercase (matched without regard to case).
const NAME: &[u8] = b"content-length:";

/// One frame read from the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Body(Vec<u8>),
    /// A frame whose header or length was wrong: what was wrong, for the error the client gets.
    Bad(&'static str),
    /// A frame over the cap (answered as bad, `OVER_CAP`), skipped unread: the first bytes of its body
    /// that had arrived with its header (at most `SKIPPED_HEAD`), for a caller that can tell what it was.
    OverCap {
        length: usize,
        head: Vec<u8>,
    },
    /// Bytes that were no header were skipped before the next one: the rest of a body that was cut
    /// short (already answered) or a frame sent without any header.
    Junk,
}

/// A frame reader over `input` with its own buffer (bytes after a cut body are read again as headers).
pub struct Frames<R> {
    input: R,
    buf: Vec<u8>,
    /// Where unread bytes start in `buf`.
    start: usize,
    /// The length of the body that follows a `Junk` frame.
    pending: Option<usize>,
    /// The largest body read (`frame_cap`), changed by the server as its settings change.
    cap: Arc<AtomicUsize>,
}

/// What the header lines said.
struct Header {
    length: Result<usize, &'static str>,
    junk: bool,
}

impl<R: AsyncRead + Unpin> Frames<R> {
    #[cfg(test)]
    pub fn new(input: R) -> Frames<R> {
        Frames::with_cap(input, Arc::new(AtomicUsize::new(MAX_BODY)))
    }

    /// A reader that takes bodies up to `cap` bytes (read at each header).
    pub fn with_cap(input: R, cap: Arc<AtomicUsize>) -> Frames<R> {
        Frames { input, buf: Vec::new(), start: 0, pending: None, cap }
    }

    /// The next frame, `None` at the end of input (or a read error).
    pub async fn next(&mut self) -> Option<Frame> {
        if let Some(length) = self.pending.take() {
            return self.body_within_cap(length).await;
        }
        let header = self.header().await?;
        match header.length {
            Ok(length) if header.junk => {
                self.pending = Some(length);
                Some(Frame::Junk)
            }
            Ok(length) => self.body_within_cap(length).await,
            Err(bad) => Some(Frame::Bad(bad)),
        }
    }

    /// The body, or `OverCap` (its bytes are then skipped as junk by the next `header`).
    async fn body_within_cap(&mut self, length: usize) -> Option<Frame> {
        if length > self.cap.load(Ordering::Relaxed) {
            let arrived = &self.buf[self.start..];
            let head = arrived[..arrived.len().min(SKIPPED_HEAD)].to_vec();
            return Some(Frame::OverCap { length, head });
        }
        self.body(length).await
    }

    /// Reads up to `limit` more bytes; false at the end of input.
    async fn fill(&mut self, limit: usize) -> bool {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let limit = limit.clamp(1, MAX_READ);
        self.buf.reserve(limit);
        matches!((&mut self.input).take(limit as u64).read_buf(&mut self.buf).await, Ok(n) if n > 0)
    }

    /// Header lines up to the blank line: the body's length, or what was wrong with the headers.
    async fn header(&mut self) -> Option<Header> {
        let mut length: Option<Result<usize, &'static str>> = None;
        let (mut saw_header, mut junk) = (false, false);
        loop {
            let Some(end) = memchr::memchr(b'\n', &self.buf[self.start..]) else {
                if self.buf.len() - self.start > MAX_HEADER_LINE {
                    // Junk without a line break (a body whose header was bad): keep only a tail that
                    // may be the start of the next header.
                    self.start = self.buf.len() - TAIL;
                    (saw_header, junk) = (true, true);
                }
                if !self.fill(CHUNK).await {
                    return None;
                }
                continue;
            };
            let line = trim(&self.buf[self.start..self.start + end]);
            self.start += end + 1;
            if line.is_empty() {
                if saw_header {
                    return Some(Header { length: length.unwrap_or(Err("no Content-Length header")), junk });
                }
                continue; // Blank lines between frames.
            }
            saw_header = true;
            match rfind_name(line) {
                Some(at) => {
                    // Anything before the name on its line is junk (the rest of a body cut short).
                    junk |= at > 0;
                    length = Some(parse_length(&line[at + NAME.len()..]));
                }
                None => junk |= !is_header(line),
            }
        }
    }

    /// The body of `length` bytes, cut short where the next frame's header shows up inside it.
    async fn body(&mut self, length: usize) -> Option<Frame> {
        let mut scanned = 0;
        loop {
            let window = &self.buf[self.start..];
            let have = window.len().min(length);
            if let Some(at) = header_line_in(window, scanned, have) {
                self.start += at;
                return Some(Frame::Bad(LONG));
            }
            scanned = have;
            if have == length {
                // The next header begun inside the body, its line ending after it.
                if let Some(at) = header_begun_at_end(&window[..length]) {
                    self.start += at;
                    return Some(Frame::Bad(LONG));
                }
                let body = if self.start == 0 {
                    // A body read into place (a large one): moved out, only what follows is copied.
                    let rest = self.buf.split_off(length);
                    std::mem::replace(&mut self.buf, rest)
                } else {
                    let body = window[..length].to_vec();
                    self.start += length;
                    body
                };
                return Some(Frame::Body(body));
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            if !self.fill(length - have).await {
                return None;
            }
        }
    }
}

const LONG: &str = "Content-Length longer than the body";
/// Bytes kept of junk without a line break: room for a whole `Content-Length:` header.
const TAIL: usize = 64;
/// Bytes kept of the start of a body over the cap (`Frame::OverCap`).
pub const SKIPPED_HEAD: usize = 4096;
/// Most bytes read at once (a large body is read in steps of this).
const MAX_READ: usize = 1 << 20;

/// `line` without its trailing `\r` and blanks.
fn trim(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    &line[..end]
}

/// `Name: value` with a token for a name.
fn is_header(line: &[u8]) -> bool {
    let name = line.split(|&b| b == b':').next().unwrap_or_default();
    line.contains(&b':') && !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// The last `Content-Length:` (any case) in `text`.
fn rfind_name(text: &[u8]) -> Option<usize> {
    (0..=text.len().checked_sub(NAME.len())?).rev().find(|&i| text[i..i + NAME.len()].eq_ignore_ascii_case(NAME))
}

fn parse_length(value: &[u8]) -> Result<usize, &'static str> {
    let value = std::str::from_utf8(value).map(str::trim).unwrap_or("");
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Content-Length is not a number");
    }
    match value.parse::<usize>() {
        Ok(n) => Ok(n),
        Err(_) => Err("Content-Length overflows"),
    }
}

/// Where a complete `Content-Length: <digits>` line starts in `window`, looking at the line breaks from
/// `from` (earlier ones were looked at) up to the body's end `upto` (that break may be just past it).
fn header_line_in(window: &[u8], from: usize, upto: usize) -> Option<usize> {
    let search_end = (upto + 1).min(window.len());
    let from = from.min(search_end);
    memchr::memchr_iter(b'\n', &window[from..search_end]).map(|i| from + i).find_map(|nl| {
        let lookback = nl.saturating_sub(TAIL);
        let line = trim(&window[lookback..nl]);
        let digits = line.iter().rev().take_while(|b| b.is_ascii_digit()).count();
        let before = trim(&line[..line.len() - digits]);
        let at = before.len().checked_sub(NAME.len())?;
        (digits > 0 && before[at..].eq_ignore_ascii_case(NAME) && lookback + at < upto).then_some(lookback + at)
    })
}

/// Where the body's end is the start of a `Content-Length:` header (a prefix of the name, or the name
/// then digits and blanks). No JSON text ends so: its last token is a bracket, a quote, a number or a
/// literal, none of which a prefix of the name (all start with `c`) can end.
fn header_begun_at_end(body: &[u8]) -> Option<usize> {
    (body.len().saturating_sub(TAIL)..body.len()).find(|&at| {
        let rest = &body[at..];
        let n = rest.len().min(NAME.len());
        rest[..n].eq_ignore_ascii_case(&NAME[..n]) && rest[n..].iter().all(|b| b.is_ascii_digit() || b.is_ascii_whitespace())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every frame of `input`, read whole.
    fn frames(input: &[u8]) -> Vec<Frame> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let mut reader = Frames::new(input);
            let mut out = Vec::new();
            while let Some(f) = reader.next().await {
                out.push(f);
            }
            out
        })
    }

    fn body(text: &str) -> Frame {
        Frame::Body(text.as_bytes().to_vec())
    }

    const NEXT: &str = "Content-Length: 2\r\n\r\n{}";

    /// `bad` then a good frame: `expect` then the good frame's body.
    fn check(bad: &str, expect: &[Frame]) {
        let input = format!("{bad}{NEXT}");
        let mut want: Vec<Frame> = expect
            .iter()
            .map(|f| match f {
                Frame::Body(b) => Frame::Body(b.clone()),
                Frame::Bad(w) => Frame::Bad(w),
                Frame::OverCap { length, head } => Frame::OverCap { length: *length, head: head.clone() },
                Frame::Junk => Frame::Junk,
            })
            .collect();
        want.push(body("{}"));
        let shown: String = bad.chars().take(80).collect();
        assert_eq!(frames(input.as_bytes()), want, "{shown:?}");
    }

    #[test]
    fn good_frames_with_extra_headers_and_blank_lines() {
        let input =
            b"Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}\r\n\r\ncontent-length:4\n\nnull";
        assert_eq!(frames(input), vec![body("{}"), body("null")]);
        // A body holding the header's text inside a JSON string (no raw line break) is a body.
        let text = r#"{"a":"Content-Length: 12\\r\\n"}"#;
        assert_eq!(frames(format!("Content-Length: {}\r\n\r\n{text}", text.len()).as_bytes()), vec![body(text)]);
    }

    #[test]
    fn every_bad_header_costs_one_frame() {
        let msg = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        // Without any header line, the body is junk before the next header.
        check(&format!("\r\n\r\n{msg}"), &[Frame::Junk]);
        let bad = |what| [Frame::Bad(what), Frame::Junk];
        check(&format!("Content-Type: x\r\n\r\n{msg}"), &bad("no Content-Length header"));
        check(&format!("Content-Length: abc\r\n\r\n{msg}"), &bad("Content-Length is not a number"));
        check(&format!("Content-Length: -4\r\n\r\n{msg}"), &bad("Content-Length is not a number"));
        check(&format!("Content-Length: 99999999999999999999999\r\n\r\n{msg}"), &bad("Content-Length overflows"));
        let over = Frame::OverCap { length: MAX_BODY + 1, head: format!("{msg}{NEXT}").into_bytes() };
        check(&format!("Content-Length: {}\r\n\r\n{msg}", MAX_BODY + 1), &[over, Frame::Junk]);
        // Long: the next header inside the window (complete line, or its line ending past the window).
        for extra in [1, 3, 10, 15, 16, 17, 20, 21, 22, 23, 24, 40, 1000] {
            check(&format!("Content-Length: {}\r\n\r\n{msg}", msg.len() + extra), &[Frame::Bad(LONG)]);
        }
    }

    #[test]
    fn a_short_length_answers_the_cut_body_and_skips_its_rest() {
        let msg = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        check(&format!("Content-Length: 10\r\n\r\n{msg}"), &[body(&msg[..10]), Frame::Junk]);
        // The rest of the body with line breaks in it.
        check("Content-Length: 3\r\n\r\n{\n  \"a\": 1\n}\n", &[body("{\n "), Frame::Junk]);
    }

    #[test]
    fn junk_without_a_header_is_dropped_in_bounded_memory() {
        let junk = "y".repeat(3 * CHUNK);
        check(&format!("Content-Length: x\r\n\r\n{junk}"), &[Frame::Bad("Content-Length is not a number"), Frame::Junk]);
        assert_eq!(frames(junk.as_bytes()), vec![]);
    }

    #[test]
    fn a_body_over_the_cap_in_force_is_skipped_unbuffered() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let text = format!("{{\"t\":\"{}\"}}", "x".repeat(4 * CHUNK));
        let input = format!("Content-Length: {}\r\n\r\n{text}{NEXT}", text.len());
        let got = runtime.block_on(async {
            let mut reader = Frames::with_cap(input.as_bytes(), Arc::new(AtomicUsize::new(CHUNK)));
            let mut out = Vec::new();
            while let Some(f) = reader.next().await {
                // Never more than a chunk and a header line held while skipping.
                assert!(reader.buf.len() - reader.start <= CHUNK + MAX_HEADER_LINE, "{}", reader.buf.len());
                out.push(f);
            }
            out
        });
        let head = input.as_bytes()[input.find("\r\n\r\n").unwrap() + 4..][..SKIPPED_HEAD].to_vec();
        assert_eq!(got, vec![Frame::OverCap { length: text.len(), head }, Frame::Junk, body("{}")]);
        assert_eq!(frame_cap(0), MIN_FRAME_CAP);
        assert_eq!(frame_cap(8 << 20), 128 << 20);
        assert_eq!(frame_cap(usize::MAX), MAX_BODY);
    }

    #[test]
    fn a_body_arriving_in_pieces() {
        let text = format!("{{\"a\":\"{}\"}}", "x".repeat(5 * CHUNK));
        let input = format!("Content-Length: {}\r\n\r\n{text}{NEXT}", text.len());
        assert!(frames(input.as_bytes()) == vec![body(&text), body("{}")]);
    }
}

//! The fast path for BuildKit plain output: a run of whole `#N <sec> <text>` lines of one vertex, read
//! straight from the chunk (no `unwrap`, no per-line dispatch), counted, and only its last
//! `EXCERPT_LINES` lines copied into the step's excerpt, once per run.
//!
//! A line is taken here only when the per-line path would read it exactly so: it starts with `#`, so no
//! CI timestamp, act or PowerShell wrapper applies; it has no escape and no web-UI anchor and is not
//! longer than `MAX_LINE`; trailing `\r`s are dropped as `unwrap` drops them. Whether the open build
//! takes output of that vertex now is the parsers' call (`Channel::output_run` down to
//! `buildkit_plain::Parser::output_run`); a run they refuse is read line by line. Tests:
//! `tests/fuzz_parsers.rs` (every split size against the line-by-line path).

use super::lines::MAX_LINE;
use super::output::{StepOutput, EXCERPT_LINES};

/// Which open build a run is offered to: the lines each takes differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// BuildKit plain: `#N <sec> <text>` lines of one vertex.
    Plain,
    /// The classic builder: raw output lines of the open step (those `Run::scan`'s `legacy_line` accepts).
    Legacy,
}

/// One kept line of a run: where its output text is in the chunk, and the raw line in the log.
#[derive(Debug, Clone, Copy, Default)]
struct Kept {
    out_at: usize,
    out_end: usize,
    start: u64,
    end: u64,
    /// The text is the unwrapped copy in `Side::lines` (same ring slot), not the chunk's bytes.
    side: bool,
}

/// Longest classic-builder line with escapes or anchors a run reads: its unwrapped text is copied in case
/// it stays in the excerpt, so `Side` stays small; a longer one ends the run.
const WRAPPED_MAX: usize = 4096;

/// Buffers a classic-builder run reads wrapped lines with: `unwrap`'s scratch and, per ring slot, the
/// unwrapped text of a kept line. Reused from run to run (at most `EXCERPT_LINES` x `WRAPPED_MAX` bytes).
#[derive(Debug, Default)]
pub struct Side {
    scratch: Vec<u8>,
    lines: [Vec<u8>; EXCERPT_LINES],
}

/// What the classic builder's open step reads as plain output, from the parsers that know
/// (`log::legacy_output`): a raw line (no `\n`, no trailing `\r`) taken as it is, and a line's text
/// after `unwrap` removed its escapes and anchors.
#[derive(Debug, Clone, Copy)]
pub struct LegacyLines {
    pub raw: fn(&[u8]) -> bool,
    pub unwrapped: fn(&[u8]) -> bool,
}

/// Whole output lines of vertex `n` at the start of a chunk's rest.
#[derive(Debug)]
pub struct Run<'a> {
    chunk: &'a [u8],
    side: &'a mut Side,
    pub kind: Kind,
    pub n: u32,
    pub lines: u64,
    /// Offset of the first line in the log, and just past the last line's `\n`.
    pub start: u64,
    pub end: u64,
    /// Bytes of the chunk the run covers (from where it was scanned).
    pub bytes: usize,
    /// The longest line's text, and the last line's (what `unwrap` leaves: no `\r`).
    pub widest: usize,
    pub last_len: usize,
    /// The last lines, a ring: `kept[lines % EXCERPT_LINES]` is the oldest once it is full.
    kept: [Kept; EXCERPT_LINES],
    /// `#N ` of the first line: the next lines of the run start with it.
    head: [u8; 11],
    head_len: usize,
}

/// Where the next escape and the next web-UI anchor (`](https://`) are in a chunk, each searched again
/// only once the reading has passed it (so a chunk is searched once for each, however many runs it has).
#[derive(Debug, Default)]
pub struct Wrappers {
    escape: Option<usize>,
    anchor: Option<usize>,
}

impl Wrappers {
    /// The first position at or after `at` where a line stops being fast (`chunk.len()` if none).
    pub fn next(&mut self, chunk: &[u8], at: usize) -> usize {
        let rest = chunk.get(at..).unwrap_or_default();
        if self.escape.is_none_or(|e| e < at) {
            self.escape = Some(memchr::memchr(0x1b, rest).map_or(chunk.len(), |i| at + i));
        }
        if self.anchor.is_none_or(|a| a < at) {
            self.anchor = Some(memchr::memmem::find(rest, b"](https://").map_or(chunk.len(), |i| at + i));
        }
        self.escape.unwrap_or(chunk.len()).min(self.anchor.unwrap_or(chunk.len()))
    }
}

/// `#N ` at the start of `text` (N > 0, at most 9 digits, as `split_vertex` reads it): N and its length.
fn vertex_head(text: &[u8]) -> Option<(u32, usize)> {
    let [b'#', rest @ ..] = text else { return None };
    let digits = rest.iter().position(|b| !b.is_ascii_digit()).unwrap_or(rest.len());
    if digits == 0 || digits > 9 || rest.get(digits) != Some(&b' ') {
        return None;
    }
    let n = rest.get(..digits)?.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    (n > 0).then_some((n, digits + 2))
}

/// The length of `<sec> ` at the start of `s`, as `seconds_end` reads it: `[0-9*]+\.[0-9]+`, then a
/// space or the end.
fn seconds_len(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while s.get(i).is_some_and(|&b| b.is_ascii_digit() || b == b'*') {
        i += 1;
    }
    if i == 0 || s.get(i) != Some(&b'.') {
        return None;
    }
    let dot = i;
    i += 1;
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    match s.get(i) {
        _ if i == dot + 1 => None,
        None => Some(i),
        Some(b' ') => Some(i + 1),
        Some(_) => None,
    }
}

fn trim_cr(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r'] = s {
        s = rest;
    }
    s
}

impl<'a> Run<'a> {
    /// The run of fast lines at `chunk[from..]`, whose first byte is at log offset `base`: for plain, up to
    /// the line that holds the next escape or anchor (`Wrappers::next`); for the classic builder those
    /// lines are unwrapped and read too (`legacy` says which lines its open step takes). `None` when the
    /// first line is not one.
    pub fn scan(
        chunk: &'a [u8],
        (from, base): (usize, u64),
        wrappers: &mut Wrappers,
        kind: Kind,
        legacy: LegacyLines,
        side: &'a mut Side,
    ) -> Option<Run<'a>> {
        let mut run = Run {
            chunk,
            side,
            kind,
            n: 0,
            lines: 0,
            start: base,
            end: base,
            bytes: 0,
            widest: 0,
            last_len: 0,
            kept: Default::default(),
            head: [0; 11],
            head_len: 0,
        };
        let rest = chunk.get(from..)?;
        let mut at = from;
        let mut stop = wrappers.next(chunk, from);
        for nl in memchr::memchr_iter(b'\n', rest) {
            let nl_at = from + nl;
            let taken = match kind {
                Kind::Plain => nl_at <= stop && run.take(at, nl_at),
                Kind::Legacy if nl_at <= stop => run.take_legacy(at, nl_at, legacy.raw),
                // Past the wrapped line only once it is taken: a line left to the caller is searched again.
                Kind::Legacy => {
                    run.take_wrapped(at, nl_at, legacy.unwrapped) && {
                        stop = wrappers.next(chunk, nl_at + 1);
                        true
                    }
                }
            };
            if !taken {
                break;
            }
            at = nl_at + 1;
        }
        run.bytes = at - from;
        (run.lines > 0).then_some(run)
    }

    /// `text` starts with the run's `#N `: one compare of the first 8 bytes when it is that short.
    fn same_head(&self, text: &[u8]) -> bool {
        let word = |b: &[u8]| b.get(..8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map(u64::from_le_bytes);
        match (word(text), word(&self.head)) {
            (Some(line), Some(head)) if self.head_len <= 8 => {
                let mask = u64::MAX >> (8 * (8 - self.head_len));
                (line ^ head) & mask == 0
            }
            _ => text.starts_with(self.head.get(..self.head_len).unwrap_or_default()),
        }
    }

    /// Takes the line `chunk[at..nl_at]` (`nl_at` its `\n`) if it is output of the run's vertex.
    fn take(&mut self, at: usize, nl_at: usize) -> bool {
        let Some(raw) = self.chunk.get(at..nl_at).filter(|raw| raw.len() <= MAX_LINE) else { return false };
        let text = if raw.last() == Some(&b'\r') { trim_cr(raw) } else { raw };
        let vertex_len = if self.lines > 0 && self.same_head(text) {
            self.head_len
        } else {
            match vertex_head(text) {
                Some((n, len)) if self.lines == 0 => {
                    self.n = n;
                    self.head_len = len;
                    if let (Some(to), Some(from)) = (self.head.get_mut(..len), text.get(..len)) {
                        to.copy_from_slice(from);
                    }
                    len
                }
                _ => return false,
            }
        };
        let Some(out_at) = text.get(vertex_len..).and_then(seconds_len).map(|s| vertex_len + s) else { return false };
        let start = self.end;
        let end = start + (nl_at + 1 - at) as u64;
        if let Some(slot) = self.kept.get_mut((self.lines % EXCERPT_LINES as u64) as usize) {
            *slot = Kept { out_at: at + out_at, out_end: at + text.len(), start, end, side: false };
        }
        self.lines += 1;
        self.widest = self.widest.max(text.len());
        self.last_len = text.len();
        self.end = end;
        true
    }

    /// Takes the line `chunk[at..nl_at]` if `legacy_line` accepts it.
    fn take_legacy(&mut self, at: usize, nl_at: usize, legacy_line: fn(&[u8]) -> bool) -> bool {
        let Some(raw) = self.chunk.get(at..nl_at).filter(|raw| raw.len() <= MAX_LINE) else { return false };
        let text = if raw.last() == Some(&b'\r') { trim_cr(raw) } else { raw };
        if !legacy_line(text) {
            return false;
        }
        self.keep(Kept { out_at: at, out_end: at + text.len(), start: self.end, end: self.end + (nl_at + 1 - at) as u64, side: false });
        self.widest = self.widest.max(text.len());
        self.last_len = text.len();
        true
    }

    /// Takes the line `chunk[at..nl_at]`, which holds an escape or an anchor, if `unwrap` leaves a line of
    /// no job, no stamp, not act's chatter, whose text `unwrapped` accepts; the text is copied to `Side`.
    fn take_wrapped(&mut self, at: usize, nl_at: usize, unwrapped: fn(&[u8]) -> bool) -> bool {
        let Some(raw) = self.chunk.get(at..nl_at).filter(|raw| raw.len() <= WRAPPED_MAX) else { return false };
        let Side { scratch, lines } = &mut *self.side;
        let u = super::unwrap::unwrap(raw, scratch);
        if u.time.is_some() || u.job.is_some() || u.chatter || !unwrapped(u.text) {
            return false;
        }
        let Some(copy) = lines.get_mut((self.lines % EXCERPT_LINES as u64) as usize) else { return false };
        copy.clear();
        copy.extend_from_slice(u.text);
        let len = u.text.len();
        self.keep(Kept { out_at: 0, out_end: 0, start: self.end, end: self.end + (nl_at + 1 - at) as u64, side: true });
        self.widest = self.widest.max(len);
        self.last_len = len;
        true
    }

    fn keep(&mut self, kept: Kept) {
        if let Some(slot) = self.kept.get_mut((self.lines % EXCERPT_LINES as u64) as usize) {
            *slot = kept;
        }
        self.lines += 1;
        self.end = kept.end;
    }

    /// Adds the run to a step's output as `StepOutput::push` of each line would: range and count for
    /// all, the excerpt copied from the last lines only.
    pub fn fill(&self, output: &mut StepOutput) {
        self.fill_shown(output, |text| text);
    }

    /// `fill`, each kept line's excerpt text being `shown(line)`.
    pub fn fill_shown(&self, output: &mut StepOutput, shown: fn(&[u8]) -> &[u8]) {
        let kept = self.lines.min(EXCERPT_LINES as u64);
        let oldest = if self.lines > EXCERPT_LINES as u64 { (self.lines % EXCERPT_LINES as u64) as usize } else { 0 };
        let first_kept = self.kept.get(oldest).map_or(self.end, |k| k.start);
        output.count_lines(self.lines - kept, self.start, first_kept);
        for j in 0..kept as usize {
            let Some(k) = self.kept.get((oldest + j) % EXCERPT_LINES) else { continue };
            let text = match k.side {
                true => self.side.lines.get((oldest + j) % EXCERPT_LINES).map(Vec::as_slice),
                false => self.chunk.get(k.out_at..k.out_end),
            };
            output.push(shown(text.unwrap_or_default()), k.start, k.end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LEGACY: LegacyLines = LegacyLines { raw: |_| false, unwrapped: |_| false };

    fn scan(chunk: &[u8], base: u64) -> Option<Run<'_>> {
        let side = Box::leak(Box::default());
        Run::scan(chunk, (0, base), &mut Wrappers::default(), Kind::Plain, NO_LEGACY, side)
    }

    #[test]
    fn a_run_stops_at_another_vertex_a_header_or_a_cut_line() {
        let chunk = b"#5 0.1 a\r\n#5 0.20 b\n#6 0.3 c\n";
        let run = scan(chunk, 100).unwrap();
        assert_eq!((run.n, run.lines, run.start, run.end, run.bytes, run.widest, run.last_len), (5, 2, 100, 120, 20, 9, 9));
        let mut out = StepOutput::default();
        run.fill(&mut out);
        assert_eq!(out.excerpt(), ["a", "b"]);
        assert_eq!((out.range.start, out.range.end, out.range.lines), (100, 120, 2));
        assert!(scan(b"#5 [x] RUN y\n", 0).is_none());
        assert!(scan(b"#5 0.1 no newline", 0).is_none());
        assert!(scan(b"#5 0.1 \x1b[31mred\n", 0).is_none());
        assert!(scan(b"#0 0.1 zero\n", 0).is_none());
        assert!(scan(b"#1234567890 0.1 ten digits\n", 0).is_none());
        assert!(scan(b"#5 0. no fraction\n", 0).is_none());
        assert!(scan(b"#5 0.1x glued\n", 0).is_none());
        assert_eq!(scan(b"#5 **.5 masked seconds\n#5 0.25\n", 0).map(|r| (r.lines, r.last_len)), Some((2, 7)));
        assert_eq!(scan(b"#5 0.1 a\n#5 0.1 [3](https://x/y)\n", 0).map(|r| r.lines), Some(1));
    }

    #[test]
    fn a_long_run_keeps_the_last_lines_and_counts_all() {
        let mut chunk = Vec::new();
        let mut one_by_one = StepOutput::default();
        for i in 0..30 {
            let line = format!("#7 1.{i} line {i}\n");
            let start = chunk.len() as u64;
            one_by_one.push(format!("line {i}").as_bytes(), start, start + line.len() as u64);
            chunk.extend_from_slice(line.as_bytes());
        }
        let run = scan(&chunk, 0).unwrap();
        let mut out = StepOutput::default();
        run.fill(&mut out);
        assert_eq!(out.excerpt(), one_by_one.excerpt());
        assert_eq!(out.range, one_by_one.range);
    }
}

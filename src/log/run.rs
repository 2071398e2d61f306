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

use memchr::memchr;

use super::buildkit_plain::split_vertex;
use super::error_block::seconds_end;
use super::lines::MAX_LINE;
use super::output::{StepOutput, EXCERPT_LINES};
use super::unwrap::has_escape_or_anchor;

/// One kept line of a run: where its output text is in the chunk, and the raw line in the log.
#[derive(Debug, Clone, Copy, Default)]
struct Kept {
    out_at: usize,
    out_end: usize,
    start: u64,
    end: u64,
}

/// Whole output lines of vertex `n` at the start of a chunk's rest.
#[derive(Debug)]
pub struct Run<'a> {
    chunk: &'a [u8],
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
}

/// `#N <sec> ` at the start of `text` (N > 0): the vertex and where the output text starts.
fn output_head(text: &[u8]) -> Option<(u32, usize)> {
    let (n, rest) = split_vertex(text)?;
    let skip = seconds_end(rest)?;
    let out_at = (text.len() - rest.len()).checked_add(skip)?;
    (n > 0).then_some((n, out_at))
}

fn trim_cr(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r'] = s {
        s = rest;
    }
    s
}

/// One fast line at `chunk[at..]`.
struct FastLine {
    n: u32,
    /// Length of the line's text (`unwrap`'s: without `\r`s).
    len: usize,
    /// Where its output text starts in the chunk, and where its `\n` is.
    out_at: usize,
    nl_at: usize,
}

fn fast_line(chunk: &[u8], at: usize) -> Option<FastLine> {
    let rest = chunk.get(at..)?;
    if rest.first() != Some(&b'#') {
        return None;
    }
    let nl = memchr(b'\n', rest)?;
    let raw = rest.get(..nl)?;
    if raw.len() > MAX_LINE {
        return None;
    }
    let text = trim_cr(raw);
    let (n, out_at) = output_head(text)?;
    if has_escape_or_anchor(text) {
        return None;
    }
    Some(FastLine { n, len: text.len(), out_at: at + out_at, nl_at: at + nl })
}

impl<'a> Run<'a> {
    /// The run of fast lines at `chunk[from..]`, whose first byte is at log offset `base`; `None` when the
    /// first line is not one.
    pub fn scan(chunk: &'a [u8], from: usize, base: u64) -> Option<Run<'a>> {
        let n = fast_line(chunk, from)?.n;
        let mut run = Run { chunk, n, lines: 0, start: base, end: base, bytes: 0, widest: 0, last_len: 0, kept: Default::default() };
        let mut at = from;
        while let Some(line) = fast_line(chunk, at).filter(|l| l.n == n) {
            let start = base + (at - from) as u64;
            let end = base + (line.nl_at + 1 - from) as u64;
            if let Some(slot) = run.kept.get_mut((run.lines % EXCERPT_LINES as u64) as usize) {
                *slot = Kept { out_at: line.out_at, out_end: at + line.len, start, end };
            }
            run.lines += 1;
            run.widest = run.widest.max(line.len);
            run.last_len = line.len;
            run.end = end;
            at = line.nl_at + 1;
        }
        run.bytes = at - from;
        Some(run)
    }

    /// Adds the run to a step's output as `StepOutput::push` of each line would: range and count for
    /// all, the excerpt copied from the last lines only.
    pub fn fill(&self, output: &mut StepOutput) {
        let kept = self.lines.min(EXCERPT_LINES as u64);
        let oldest = if self.lines > EXCERPT_LINES as u64 { (self.lines % EXCERPT_LINES as u64) as usize } else { 0 };
        let first_kept = self.kept.get(oldest).map_or(self.end, |k| k.start);
        output.count_lines(self.lines - kept, self.start, first_kept);
        for j in 0..kept as usize {
            let Some(k) = self.kept.get((oldest + j) % EXCERPT_LINES) else { continue };
            let out = self.chunk.get(k.out_at..k.out_end).unwrap_or_default();
            output.push(out, k.start, k.end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_stops_at_another_vertex_a_header_or_a_cut_line() {
        let chunk = b"#5 0.1 a\r\n#5 0.20 b\n#6 0.3 c\n";
        let run = Run::scan(chunk, 0, 100).unwrap();
        assert_eq!((run.n, run.lines, run.start, run.end, run.bytes, run.widest, run.last_len), (5, 2, 100, 120, 20, 9, 9));
        let mut out = StepOutput::default();
        run.fill(&mut out);
        assert_eq!(out.excerpt(), ["a", "b"]);
        assert_eq!((out.range.start, out.range.end, out.range.lines), (100, 120, 2));
        assert!(Run::scan(b"#5 [x] RUN y\n", 0, 0).is_none());
        assert!(Run::scan(b"#5 0.1 no newline", 0, 0).is_none());
        assert!(Run::scan(b"#5 0.1 \x1b[31mred\n", 0, 0).is_none());
        assert!(Run::scan(b"#0 0.1 zero\n", 0, 0).is_none());
        assert_eq!(Run::scan(b"#5 0.1 a\n#5 0.1 [3](https://x/y)\n", 0, 0).map(|r| r.lines), Some(1));
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
        let run = Run::scan(&chunk, 0, 0).unwrap();
        let mut out = StepOutput::default();
        run.fill(&mut out);
        assert_eq!(out.excerpt(), one_by_one.excerpt());
        assert_eq!(out.range, one_by_one.range);
    }
}

//! Accumulates a step's output: byte range, line count and a bounded excerpt of its last lines.
//!
//! Invariant: memory per step is bounded (`EXCERPT_LINES` × `EXCERPT_LINE_BYTES`) whatever the log size,
//! and the ring's buffers are reused, so the hot path does not allocate or decode per line.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::model::{CauseLine, OutputRange};

/// How many of a step's last output lines are kept.
pub const EXCERPT_LINES: usize = 12;
/// Longest excerpt line kept, in bytes (cut on a char boundary, `…` appended).
pub const EXCERPT_LINE_BYTES: usize = 400;

/// Output of one step, as it streams by.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepOutput {
    pub range: OutputRange,
    ring: VecDeque<Kept>,
}

/// One kept line: raw bytes (cut on a character boundary), decoded only when the excerpt is read,
/// so the per-line cost is one bounded copy into a reused buffer.
#[derive(Debug, Clone, Default)]
struct Kept {
    bytes: Vec<u8>,
    cut: bool,
    /// Byte offset of the raw line in the log (where a diagnostic's related information points).
    start: u64,
}

// Checkpoints hold kept lines as text: `(lossy text, cut, start)`. Decoding that text again gives the
// same excerpt as decoding the raw bytes, so a resumed parse reports what a single pass would.
impl Serialize for Kept {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (String::from_utf8_lossy(&self.bytes), self.cut, self.start).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Kept {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (text, cut, start) = <(String, bool, u64)>::deserialize(d)?;
        Ok(Kept { bytes: text.into_bytes(), cut, start })
    }
}

impl StepOutput {
    /// Records one output line: `text` is what the step printed, `start..end` the raw line in the log.
    pub fn push(&mut self, text: &[u8], start: u64, end: u64) {
        if self.range.lines == 0 {
            self.range.start = start;
        }
        self.range.end = end;
        self.range.lines += 1;
        let mut slot = if self.ring.len() == EXCERPT_LINES { self.ring.pop_front().unwrap_or_default() } else { Kept::default() };
        let keep = char_boundary_cut(text, EXCERPT_LINE_BYTES);
        slot.bytes.clear();
        slot.bytes.extend_from_slice(&text[..keep]);
        slot.cut = keep < text.len();
        slot.start = start;
        self.ring.push_back(slot);
    }

    /// Records `lines` output lines that the excerpt would not keep (more lines follow in the same
    /// chunk): the range and the count move, nothing is copied.
    pub fn count_lines(&mut self, lines: u64, start: u64, end: u64) {
        if lines == 0 {
            return;
        }
        if self.range.lines == 0 {
            self.range.start = start;
        }
        self.range.end = end;
        self.range.lines += lines;
    }

    /// The kept last lines, oldest first.
    pub fn excerpt(&self) -> Vec<String> {
        self.ring
            .iter()
            .map(|k| {
                let mut s = String::with_capacity(k.bytes.len() + 3);
                push_lossy_bounded(&mut s, &k.bytes, usize::MAX);
                if k.cut {
                    s.push('…');
                }
                s
            })
            .collect()
    }

    /// Fills a step's output fields: range, excerpt and the cause line (which `channel` keeps only on
    /// failed steps, once their status is final).
    pub fn fill(&self, step: &mut super::model::Step) {
        let excerpt = self.excerpt();
        step.cause = super::cause::pick(excerpt.iter().map(String::as_str)).and_then(|at| {
            let offset = self.ring.get(at)?.start;
            Some(CauseLine { text: excerpt.get(at)?.clone(), offset })
        });
        step.output = self.range;
        step.excerpt = excerpt;
    }

    /// Forgets the excerpt (a tty frame redraw replaces the lines shown).
    pub fn clear_excerpt(&mut self) {
        self.ring.clear();
    }
}

/// The longest prefix of `bytes` of at most `max` bytes that does not split a UTF-8 sequence.
fn char_boundary_cut(bytes: &[u8], max: usize) -> usize {
    if bytes.len() <= max {
        return bytes.len();
    }
    let mut end = max;
    while end > 0 && max - end < 3 && bytes.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    end
}

/// Appends `bytes` to `out` as UTF-8 (invalid sequences replaced), at most `max` bytes, control
/// characters other than tab shown as `�` so an excerpt never carries terminal escapes.
pub fn push_lossy_bounded(out: &mut String, bytes: &[u8], max: usize) {
    let end = char_boundary_cut(bytes, max);
    for chunk in bytes[..end].utf8_chunks() {
        for c in chunk.valid().chars() {
            out.push(if c.is_control() && c != '\t' { '\u{FFFD}' } else { c });
        }
        if !chunk.invalid().is_empty() {
            out.push('\u{FFFD}');
        }
    }
    if end < bytes.len() {
        out.push('…');
    }
}

/// Lossy UTF-8 text of a log slice, bounded, for names and error messages.
pub fn text(bytes: &[u8]) -> String {
    let mut s = String::new();
    push_lossy_bounded(&mut s, bytes, 4096);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_last_lines_and_range() {
        let mut o = StepOutput::default();
        for i in 0..20u64 {
            o.push(format!("line {i}").as_bytes(), i * 10, i * 10 + 10);
        }
        assert_eq!(o.range, OutputRange { start: 0, end: 200, lines: 20 });
        let ex = o.excerpt();
        assert_eq!(ex.len(), EXCERPT_LINES);
        assert_eq!(ex.last().unwrap(), "line 19");
    }

    #[test]
    fn lossy_bounded_never_splits_chars_or_keeps_escapes() {
        let mut s = String::new();
        push_lossy_bounded(&mut s, "é\x1b[31mx".as_bytes(), 400);
        assert_eq!(s, "é\u{FFFD}[31mx");
        let mut s = String::new();
        push_lossy_bounded(&mut s, "aé".as_bytes(), 2);
        assert_eq!(s, "a…");
    }
}

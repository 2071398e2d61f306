//! Learned line prefixes: text another tool repeats before the builder's own lines (a Go `log.Printf`
//! date, an ssh action's `err: `, `[pod-xyz] `, compose v1's `svc_1  | `), found and removed per channel.
//!
//! Nothing is listed: a line no parser used, whose first `MAX_PREFIX` bytes hold a builder anchor
//! (`#N [..]`, `#0 building with`, `Step N/M : `, `STEP N/M: `, `[k/n] STEP`, `[+] Building`) after
//! some text, makes that text's shape (digit runs and inner space runs collapsed, so dates match) a
//! candidate. The lines after it are held (bounded) until it is confirmed: by a second anchored line with
//! the same shape, or by the lines around the anchor carrying it too (the line just before and the
//! lines right after, `SURROUND` of them; at the end of the log, fewer do, when none after it lacks it),
//! so a one-step build with a prefix on every line is read. Then the held lines are replayed with the
//! prefix removed. A candidate that is not confirmed in time releases its lines unchanged. Lines
//! without a learned prefix pass unchanged.
//! Known wrappers (`unwrap`) are removed before: a learned prefix is what follows them.

use memchr::memchr3_iter;
use serde::{Deserialize, Serialize};

use super::line::Line;
use super::{buildkit_plain, buildkit_tty, error_block, legacy, podman};

/// Longest prefix looked for before an anchor.
const MAX_PREFIX: usize = 96;
/// Anchored lines with the same prefix shape that make it learned.
const CONFIRM: u8 = 2;
/// Lines around the anchor (the one before, those after) that carry its prefix and confirm it.
const SURROUND: u8 = 3;
/// Most prefixes one channel learns (ssh's `out: ` and `err: `, a few compose services).
const MAX_LEARNED: usize = 8;
/// Bounds of the lines held while a candidate waits for its confirmation.
const MAX_HELD_LINES: usize = 256;
const MAX_HELD_BYTES: usize = 64 * 1024;

/// One element of a prefix's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Token {
    /// One or more ASCII digits.
    Digits,
    /// One or more spaces (inside the prefix; its trailing spaces are kept as bytes).
    Spaces,
    /// A log level in brackets (`[INFO]`, `[ERROR]`): a collector that tags each line tags the final
    /// error line with another level than the build's lines, so the level is any word.
    Level,
    Byte(u8),
}

type Shape = Vec<Token>;

/// A line held while a candidate waits (or a header while the demultiplexer waits for its digest),
/// owned (the raw line is gone by then).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Held {
    text: Vec<u8>,
    start: u64,
    end: u64,
    time: Option<Vec<u8>>,
    chatter: bool,
    truncated: bool,
}

impl Held {
    pub fn new(line: &Line<'_>) -> Held {
        Held {
            text: line.text.to_vec(),
            start: line.start,
            end: line.end,
            time: line.time.map(<[u8]>::to_vec),
            chatter: line.chatter,
            truncated: line.truncated,
        }
    }

    pub fn line(&self) -> Line<'_> {
        let time = self.time.as_deref();
        Line { text: &self.text, start: self.start, end: self.end, time, chatter: self.chatter, truncated: self.truncated }
    }

    fn size(&self) -> usize {
        self.text.len().saturating_add(self.time.as_ref().map_or(0, Vec::len))
    }
}

/// A prefix seen before one or more anchors, not yet confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Candidate {
    shape: Shape,
    hits: u8,
    /// The anchored line that made the candidate (already read unchanged), then every line after it.
    held: Vec<Held>,
    held_bytes: usize,
    /// Lines are being held (false once the hold overflowed: later hits still count).
    holding: bool,
    /// Lines around the anchor that carry the prefix: the one before it, and those after it until one
    /// does not (blank lines and act's chatter neither count nor break).
    #[serde(default)]
    around: u8,
    /// A line after the anchor lacked the prefix: only a second anchor confirms it now.
    #[serde(default)]
    broken: bool,
}

impl Candidate {
    /// Counts `line`, held after the anchor, for or against the prefix's surroundings.
    fn surround(&mut self, line: &Line<'_>) {
        if self.broken || line.chatter || line.text.is_empty() {
            return;
        }
        if match_len(&self.shape, line.text).is_some() {
            self.around = self.around.saturating_add(1);
        } else {
            self.broken = true;
        }
    }

    /// Enough lines around the anchor carry the prefix (`at_end`: the log ended, one is enough).
    fn surrounded(&self, at_end: bool) -> bool {
        !self.broken && self.around >= if at_end { 1 } else { SURROUND }
    }
}

/// What `hold` decided for the line it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Held; nothing to read yet.
    Kept,
    /// The candidate is learned: read the held lines again, with `strip`.
    Learned,
    /// Too much held: read the held lines (all but the first, already read) unchanged.
    Released,
}

/// The prefixes of one channel: learned ones, and the candidate being checked.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Prefixes {
    learned: Vec<Shape>,
    candidate: Option<Candidate>,
    /// The head (`MAX_PREFIX` bytes) of the line just before, when nobody used it: a buffer reused.
    #[serde(default)]
    before: Vec<u8>,
}

impl Prefixes {
    /// `line` without the first learned prefix it carries. Cheap: most lines fail on the first byte.
    pub fn strip<'a>(&self, line: &Line<'a>) -> Line<'a> {
        for shape in &self.learned {
            if let Some(n) = match_len(shape, line.text) {
                let text = line.text.get(n..).unwrap_or_default();
                return Line { text, ..*line };
            }
        }
        *line
    }

    /// No prefix learned and none being checked: `strip` and `hold` leave every line as it is.
    pub fn idle(&self) -> bool {
        self.learned.is_empty() && !self.holding()
    }

    /// Lines are being held for a candidate: the channel hands every line to `hold`.
    pub fn holding(&self) -> bool {
        self.candidate.as_ref().is_some_and(|c| c.holding)
    }

    /// Holds `line` for the candidate and says whether the held lines are to be read now.
    pub fn hold(&mut self, line: &Line<'_>) -> Hold {
        let Some(candidate) = &mut self.candidate else { return Hold::Released };
        let hit = !line.chatter && anchored_after(&candidate.shape, line.text);
        candidate.surround(line);
        let held = Held::new(line);
        candidate.held_bytes = candidate.held_bytes.saturating_add(held.size());
        candidate.held.push(held);
        if hit {
            candidate.hits = candidate.hits.saturating_add(1);
        }
        if candidate.hits >= CONFIRM || candidate.surrounded(false) {
            return self.learn();
        }
        if candidate.held.len() >= MAX_HELD_LINES || candidate.held_bytes >= MAX_HELD_BYTES {
            candidate.holding = false;
            return Hold::Released;
        }
        Hold::Kept
    }

    /// The log ended while lines are held: the candidate is learned when the lines around its anchor
    /// carry it (see `Candidate::surrounded`), else its lines are released.
    pub fn settle(&mut self) -> Hold {
        match &self.candidate {
            Some(c) if c.holding && c.surrounded(true) => self.learn(),
            _ => Hold::Released,
        }
    }

    /// A line a parser used: the next line's `before` is no prose.
    pub fn used(&mut self) {
        self.before.clear();
    }

    /// The held lines, taken out (after `hold` said `Learned` or `Released`, or at the end of the log).
    pub fn take_held(&mut self) -> Vec<Held> {
        let Some(candidate) = &mut self.candidate else { return Vec::new() };
        candidate.holding = false;
        candidate.held_bytes = 0;
        self.before.clear();
        std::mem::take(&mut candidate.held)
    }

    /// `line` without the text before its builder anchor, when some text comes before one (a candidate for
    /// `consider`).
    pub fn after_prefix<'a>(&self, line: &Line<'a>) -> Option<Line<'a>> {
        if line.chatter || self.learned.len() >= MAX_LEARNED || is_anchor(line.text) {
            return None;
        }
        let at = find_anchor(line.text)?;
        Some(Line { text: line.text.get(at..)?, ..*line })
    }

    /// A line no parser used: if an anchor follows some text in it, that text becomes (or confirms) the
    /// candidate. True when this line confirmed it: read it again, with `strip`.
    pub fn consider(&mut self, line: &Line<'_>) -> bool {
        if line.chatter || self.learned.len() >= MAX_LEARNED {
            return false;
        }
        let Some(at) = find_anchor(line.text) else {
            self.remember(line);
            return false;
        };
        let shape = shape_of(line.text.get(..at).unwrap_or_default());
        let around = u8::from(match_len(&shape, &self.before).is_some());
        self.remember(line);
        if self.learned.contains(&shape) {
            return false; // learned, yet not stripped: another learned prefix came first.
        }
        if let Some(candidate) = self.candidate.as_mut().filter(|c| c.shape == shape) {
            candidate.hits = candidate.hits.saturating_add(1);
            return candidate.hits >= CONFIRM && self.learn() == Hold::Learned;
        }
        let held = Held::new(line);
        let held_bytes = held.size();
        self.candidate = Some(Candidate { shape, hits: 1, held: vec![held], held_bytes, holding: true, around, broken: false });
        false
    }

    /// Keeps the head of `line` (nobody used it) as the line before the next one.
    fn remember(&mut self, line: &Line<'_>) {
        self.before.clear();
        self.before.extend_from_slice(line.text.get(..MAX_PREFIX).unwrap_or(line.text));
    }

    /// Learns the candidate whose lines were released: the channel found its anchor line continued.
    pub fn learn_released(&mut self) {
        self.learn();
    }

    fn learn(&mut self) -> Hold {
        let Some(candidate) = &mut self.candidate else { return Hold::Released };
        if self.learned.len() >= MAX_LEARNED {
            candidate.holding = false;
            return Hold::Released;
        }
        self.learned.push(candidate.shape.clone());
        Hold::Learned
    }
}

/// The shape of a prefix: digit runs and inner space runs collapsed, trailing spaces kept as bytes.
fn shape_of(prefix: &[u8]) -> Shape {
    let trailing = prefix.iter().rev().take_while(|&&b| b == b' ').count();
    let (inner, tail) = prefix.split_at(prefix.len().saturating_sub(trailing));
    let mut shape = Vec::new();
    let mut i = 0;
    while let Some(&b) = inner.get(i) {
        let level = level_len(inner.get(i..).unwrap_or_default());
        let token = match b {
            _ if level > 0 => Token::Level,
            b'0'..=b'9' => Token::Digits,
            b' ' => Token::Spaces,
            _ => Token::Byte(b),
        };
        if !(matches!(token, Token::Digits | Token::Spaces) && shape.last() == Some(&token)) {
            shape.push(token);
        }
        i += level.max(1);
    }
    shape.extend(tail.iter().map(|&b| Token::Byte(b)));
    shape
}

/// Length of the prefix of `text` that has `shape`, if it has.
fn match_len(shape: &[Token], text: &[u8]) -> Option<usize> {
    let mut i = 0usize;
    for token in shape {
        let rest = text.get(i..)?;
        let n = match token {
            Token::Digits => rest.iter().take_while(|b| b.is_ascii_digit()).count(),
            Token::Spaces => rest.iter().take_while(|&&b| b == b' ').count(),
            Token::Level => level_len(rest),
            Token::Byte(b) => usize::from(rest.first() == Some(b)),
        };
        if n == 0 {
            return None;
        }
        i = i.checked_add(n)?;
    }
    Some(i)
}

/// Length of a bracketed log level at the start of `text` (`[INFO]`: 3 to 8 capital letters), else 0.
fn level_len(text: &[u8]) -> usize {
    if text.first() != Some(&b'[') {
        return 0;
    }
    let letters = text.iter().skip(1).take(9).take_while(|b| b.is_ascii_uppercase()).count();
    if (3..=8).contains(&letters) && text.get(letters + 1) == Some(&b']') {
        letters + 2
    } else {
        0
    }
}

/// True when `text` carries `shape` and a builder anchor right after it.
fn anchored_after(shape: &[Token], text: &[u8]) -> bool {
    match_len(shape, text).and_then(|n| text.get(n..)).is_some_and(is_anchor)
}

/// True when a builder anchor follows some text in `text` (what `after_prefix` looks for).
pub fn has_inner_anchor(text: &[u8]) -> bool {
    find_anchor(text).is_some()
}

/// Where the first builder anchor in `text` starts, when some text comes before it.
fn find_anchor(text: &[u8]) -> Option<usize> {
    let head = text.get(..text.len().min(MAX_PREFIX + 1)).unwrap_or_default();
    let anchored = |&at: &usize| {
        // An anchor starts a word: `err: #3`, `11 Step`, `] [2/2] STEP`, never `RUN_Step` or `x#3`.
        let before = head.get(at.wrapping_sub(1)).copied().unwrap_or(b' ');
        at > 0 && !before.is_ascii_alphanumeric() && before != b'_' && text.get(at..).is_some_and(is_anchor)
    };
    let header = if head.len() < super::unwrap::SHORT {
        (1..head.len()).filter(|&at| matches!(head.get(at), Some(b'#' | b'S' | b'['))).find(anchored)
    } else {
        memchr3_iter(b'#', b'S', b'[', head).find(anchored)
    };
    header.or_else(|| cache_hit_at(text))
}

/// Where a classic builder's ` ---> Using cache` or podman's `--> Using cache ` starts in `head`, after
/// some text: a cache hit decides a step's status, so a prefix before it counts like one before a header.
fn cache_hit_at(text: &[u8]) -> Option<usize> {
    // Both end the line at a known distance from their start: no scan of output lines.
    const PODMAN: usize = b"--> Using cache ".len() + 64;
    const LEGACY: &[u8] = b" ---> Using cache";
    let start = if text.ends_with(LEGACY) { text.len() - LEGACY.len() } else { text.len().checked_sub(PODMAN)? };
    (start > 0 && start <= MAX_PREFIX && is_cache_hit(text.get(start..)?)).then_some(start)
}

/// A classic builder's or podman's cache hit line: `--> Using cache <id>`, ` ---> Using cache`.
pub fn is_cache_hit(text: &[u8]) -> bool {
    text.starts_with(b"--> Using cache ") || text.starts_with(b" ---> Using cache") || text.starts_with(b"---> Using cache")
}

/// A line start that only a builder writes: a BuildKit vertex header or status (not its output lines,
/// which quote anything), a classic-builder or podman step header, a tty frame header.
fn is_anchor(text: &[u8]) -> bool {
    let line = Line::synthetic(text, 0, 0);
    match text.first() {
        Some(b'#') => {
            let output = buildkit_plain::split_vertex(text).is_some_and(|(_, rest)| error_block::seconds_end(rest).is_some());
            !output && buildkit_plain::Parser::starts(&line)
        }
        Some(b'S') => legacy::Parser::starts(&line) || podman::Parser::starts(&line),
        Some(b'[') => podman::Parser::starts(&line) || buildkit_tty::Parser::starts(&line),
        Some(b'-' | b' ') => is_cache_hit(text),
        _ => false,
    }
}

#[cfg(test)]
#[path = "prefix_tests.rs"]
mod tests;

//! Parser for BuildKit `--progress=tty`: frames of ` => [CACHED |ERROR |CANCELED ]name   0.3s` rows under
//! `[+] Building 4.6s (14/14) FINISHED`, redrawn in place; the last state of each row wins.
//!
//! Format: `../shared/docs/log-formats.md` §6 and §10.9. `unwrap` has removed the cursor codes, so every
//! frame's rows arrive one after another; names are cut to the terminal width (matched by prefix) and
//! colours (the only running/done distinction) are gone: rows count as done once a frame says
//! FINISHED, all vertexes completed, or the build failed. The failure report is read by `error_block`.

use serde::{Deserialize, Serialize};

use super::buildkit_plain::{close, image_status, parse_duration};
use super::checks;
use super::error_block::{self, ErrorBlock, Event};
use super::line::{End, Fed, Line};
use super::model::{Build, Format, Step, StepStatus};
use super::output::{text, StepOutput};
use super::step_name;

/// Steps kept per build (a tty build shows one row per vertex).
const MAX_STEPS: usize = 4096;
/// A truncated row name is matched by prefix only when at least this long (short names are whole).
const MIN_PREFIX: usize = 30;
/// Build-check warnings kept per step (as the plain parser).
const MAX_WARNINGS: usize = 20;
/// Longest row held back for its rest (`cut_row`).
const MAX_CUT_ROW: usize = 1024;

/// State of one build being read; serialisable so a growing log resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parser {
    build: Build,
    outputs: Vec<StepOutput>,
    /// Frame in which each step's excerpt was last reset (its ` => => # ` lines are redrawn per frame).
    shown_in: Vec<u32>,
    frame: u32,
    /// Elapsed time of the last header, in tenths of a second: a smaller one starts another build.
    elapsed: u64,
    /// The last frame said FINISHED, or counted every vertex completed.
    complete: bool,
    /// The row the next ` => => ` lines belong to.
    row: Option<usize>,
    errors: ErrorBlock,
    block_step: Option<usize>,
    snippet: Option<[u32; 2]>,
    ended: bool,
    /// A row without its time column, held for one line: a writer that prefixes each chunk it writes
    /// (VS Code's devcontainer log, `[2022-10-11T21:52:36.840Z] `) breaks a row where a chunk ends, and
    /// the rest, behind the prefix, is the next line. Rows have a time column, so this is rare.
    #[serde(default)]
    cut_row: Option<Vec<u8>>,
}

/// A parsed ` => ` row.
struct Row<'a> {
    status: Option<StepStatus>,
    name: &'a [u8],
    duration_ms: Option<u64>,
    /// The name reaches the time column (or there is none): it may be cut at the terminal width.
    full: bool,
}

impl Parser {
    /// True when `line` starts (or unmistakably belongs to) a build in this format.
    pub fn starts(line: &Line<'_>) -> bool {
        !line.chatter
            && (header(line.text).is_some() || row(line.text).is_some_and(|r| r.duration_ms.is_some() && r.name.first() == Some(&b'[')))
    }

    /// A parser for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Parser {
        Parser {
            build: Build::new(Format::BuildkitTty, line.start),
            outputs: Vec::new(),
            shown_in: Vec::new(),
            frame: 0,
            elapsed: 0,
            complete: false,
            row: None,
            errors: ErrorBlock::default(),
            block_step: None,
            snippet: None,
            ended: false,
            cut_row: None,
        }
    }

    pub fn feed(&mut self, line: &Line<'_>) -> Fed {
        if line.chatter {
            return Fed::Ignored;
        }
        let fed = self.line(line);
        if fed == Fed::Taken {
            self.build.span[1] = line.end;
        }
        fed
    }

    fn line(&mut self, line: &Line<'_>) -> Fed {
        let t = line.text;
        if let Some(cut) = self.cut_row.take() {
            if self.rejoined(&cut, t) {
                return Fed::Taken;
            }
            if let Some(r) = row(&cut) {
                self.row(r);
            }
        }
        if !self.errors.open() {
            if let Some((elapsed, finished)) = header(t) {
                return self.frame(elapsed, finished);
            }
            if let Some(sub) = t.strip_prefix(b" => => ").or_else(|| t.strip_prefix(b"=> => ")) {
                self.sub_row(sub, line);
                return Fed::Taken;
            }
            if let Some(r) = row(t) {
                if self.ended {
                    return Fed::NewBuild;
                }
                if r.duration_ms.is_none() && t.len() <= MAX_CUT_ROW {
                    self.cut_row = Some(t.to_vec());
                } else {
                    self.row(r);
                }
                return Fed::Taken;
            }
        }
        let failed = error_block::may_be_final(t) && self.build.steps.iter().any(|s| s.status == StepStatus::Error);
        if let Some(event) = self.errors.feed(t, failed) {
            self.error_event(event, line);
            return Fed::Taken;
        }
        if t.trim_ascii().is_empty() && !self.ended {
            return Fed::Taken;
        }
        if let Some(w) = checks::listed_warning(t) {
            checks::add(&mut self.build, w);
            return Fed::Taken;
        }
        Fed::Ignored
    }

    /// The build as it stands (open steps `running`).
    pub fn snapshot(&self) -> Build {
        if self.cut_row.is_some() {
            let mut settled = self.clone();
            settled.settle();
            return settled.snapshot();
        }
        self.close(self.build.clone(), self.ended || self.complete)
    }

    pub fn finish(mut self, _end: End) -> Build {
        self.settle();
        let build = self.build.clone();
        self.close(build, true)
    }

    /// A held row is read as it is.
    fn settle(&mut self) {
        if let Some(r) = self.cut_row.take().as_deref().and_then(row) {
            self.row(r);
        }
    }

    /// Whether `t` is the rest of the held row `cut` (no row, header or blank of its own, and the two
    /// together a row with its time column); if so, that row is read.
    fn rejoined(&mut self, cut: &[u8], t: &[u8]) -> bool {
        if t.is_empty() || t.first() == Some(&b' ') || row(t).is_some() || header(t).is_some() {
            return false;
        }
        let mut whole = Vec::with_capacity(cut.len() + t.len());
        whole.extend_from_slice(cut);
        whole.extend_from_slice(t);
        match row(&whole).filter(|r| r.duration_ms.is_some()) {
            Some(r) => {
                self.row(r);
                true
            }
            None => false,
        }
    }

    fn close(&self, mut build: Build, ended: bool) -> Build {
        let failed = self.ended || self.errors.seen || build.steps.iter().any(|s| s.status == StepStatus::Error);
        if self.complete || failed {
            // Without colours a done row looks like a running one; a finished or failed build has none
            // running (running siblings of a failure are printed CANCELED).
            for step in build.steps.iter_mut().filter(|s| s.status == StepStatus::Running) {
                step.status = StepStatus::Executed;
            }
        }
        close(build, &self.outputs, self.snippet, ended)
    }

    fn frame(&mut self, elapsed: u64, finished: bool) -> Fed {
        if !self.build.steps.is_empty() && (self.ended || elapsed < self.elapsed) {
            return Fed::NewBuild;
        }
        self.elapsed = elapsed;
        self.frame = self.frame.saturating_add(1);
        self.complete = finished;
        self.row = None;
        Fed::Taken
    }

    fn row(&mut self, r: Row<'_>) {
        if let Some(warning) = r.name.strip_prefix(b"WARN: ") {
            self.warning(warning);
            return;
        }
        let name = text(r.name);
        let Some(i) = self.step(&name, r.full) else { return };
        self.row = Some(i);
        if let Some(step) = self.build.steps.get_mut(i) {
            step.status = r.status.unwrap_or(StepStatus::Running);
            step.duration_ms = r.duration_ms.or(step.duration_ms);
        }
    }

    /// A build check's ` => WARN: <Rule>: … (line N)` row: a warning of the vertex drawn above it (the
    /// Dockerfile's load), as plain's `#1 WARN: …`, never a step. Every frame redraws it: kept once (the
    /// longest sighting, a narrower frame may have cut it).
    fn warning(&mut self, warning: &[u8]) {
        let Some(step) = self.row.or(self.build.steps.len().checked_sub(1)).and_then(|i| self.build.steps.get_mut(i)) else {
            return;
        };
        let warning = text(warning);
        if let Some(seen) = step.warnings.iter_mut().find(|w| w.starts_with(&warning) || warning.starts_with(w.as_str())) {
            if warning.len() > seen.len() {
                *seen = warning;
            }
        } else if step.warnings.len() < MAX_WARNINGS {
            step.warnings.push(warning);
        }
    }

    /// The step a (possibly truncated) row name belongs to, created on first sight; a longer sighting
    /// of the name replaces a shorter one. `full`: this sighting may be cut (a row that reached the time
    /// column); one sighting of the whole name shows it is not.
    fn step(&mut self, name: &str, full: bool) -> Option<usize> {
        let found = self
            .build
            .steps
            .iter()
            .position(|s| s.name == name)
            .or_else(|| self.build.steps.iter().position(|s| same_vertex(&s.name, name)));
        if let Some(i) = found {
            if let Some(step) = self.build.steps.get_mut(i) {
                if name.len() > step.name.len() {
                    step.name = name.to_string();
                    step_name::apply(step);
                    step.clipped = full;
                } else if name.len() == step.name.len() {
                    step.clipped &= full;
                }
            }
            return Some(i);
        }
        if self.build.steps.len() >= MAX_STEPS {
            return None;
        }
        let mut step = Step::named(name);
        step_name::apply(&mut step);
        step.clipped = full;
        if self.build.dockerfile.is_none() {
            self.build.dockerfile = name.split_once("] load build definition from ").map(|(_, f)| f.trim().to_string());
        }
        self.build.steps.push(step);
        self.outputs.push(StepOutput::default());
        self.shown_in.push(0);
        Some(self.build.steps.len() - 1)
    }

    /// ` => => # log line` (output of the row above) or ` => => status 0.1s`.
    fn sub_row(&mut self, sub: &[u8], line: &Line<'_>) {
        let Some(log) = sub.strip_prefix(b"# ").or_else(|| (sub == b"#").then_some(&b""[..])) else {
            image_status(&mut self.build, sub);
            return;
        };
        let Some(i) = self.row else { return };
        let frame = self.frame;
        if let (Some(out), Some(shown)) = (self.outputs.get_mut(i), self.shown_in.get_mut(i)) {
            if *shown != frame {
                // The frame redraws the last lines: forget the previous frame's copy of them.
                *shown = frame;
                reset(out);
            }
            out.push(log.trim_ascii_end(), line.start, line.end);
        }
    }

    fn error_event(&mut self, event: Event, line: &Line<'_>) {
        match event {
            Event::Taken => {}
            Event::Vertex(name) => {
                let i = self.step(&name, false);
                self.block_step = i;
                if let Some(i) = i {
                    if let Some(step) = self.build.steps.get_mut(i) {
                        step.status = StepStatus::Error;
                    }
                    if let Some(out) = self.outputs.get_mut(i) {
                        reset(out); // the block holds all of the vertex's output (§2.2, tty)
                    }
                }
            }
            Event::BodyLine(at) => {
                if let Some(out) = self.block_step.and_then(|i| self.outputs.get_mut(i)) {
                    out.push(line.text.get(at..).unwrap_or_default(), line.start, line.end);
                }
            }
            Event::Snippet(range) => self.snippet = Some(range),
            Event::Final(message) => {
                error_block::apply_final(&mut self.build, &message);
                self.ended = true;
            }
        }
    }
}

/// Forgets a step's shown lines: the range then covers the latest copy of them.
fn reset(out: &mut StepOutput) {
    out.clear_excerpt();
    out.range.lines = 0;
}

/// Two names of one vertex: equal, or one the truncation of the other (same `[stage k/n]` prefix).
fn same_vertex(known: &str, seen: &str) -> bool {
    let (short, long) = if known.len() <= seen.len() { (known, seen) } else { (seen, known) };
    short.len() >= MIN_PREFIX && long.starts_with(short)
}

/// Blanks between a name cut at the terminal width and its time (two, plus a blank the cut left).
const CUT_GAP: usize = 3;

/// Length of the last word of a row (its time).
fn duration_len(trimmed: &[u8]) -> usize {
    trimmed.iter().rev().position(|&b| b == b' ').unwrap_or(trimmed.len())
}

/// `[+] Building 4.6s (14/14) FINISHED   docker:default` → (46 tenths, finished).
fn header(t: &[u8]) -> Option<(u64, bool)> {
    let rest = t.strip_prefix(b"[+] Building ")?;
    let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    let ms = parse_duration(rest.get(..end)?)?;
    let finished = rest.get(end..).is_some_and(|r| r.windows(8).any(|w| w == b"FINISHED"));
    Some((ms / 100, finished))
}

/// ` => [CACHED |ERROR |CANCELED ]name   0.3s`; padding and the duration are removed.
fn row(t: &[u8]) -> Option<Row<'_>> {
    let rest = t.strip_prefix(b" => ").or_else(|| t.strip_prefix(b"=> "))?;
    if rest.starts_with(b"=> ") || rest.is_empty() {
        return None;
    }
    let (status, rest) = match rest {
        _ if rest.starts_with(b"CACHED ") => (Some(StepStatus::Cached), &rest[7..]),
        _ if rest.starts_with(b"ERROR ") => (Some(StepStatus::Error), &rest[6..]),
        _ if rest.starts_with(b"CANCELED ") => (Some(StepStatus::Canceled), &rest[9..]),
        _ => (None, rest),
    };
    let trimmed = rest.trim_ascii_end();
    let (name, duration_ms) = match trimmed.iter().rposition(|&b| b == b' ') {
        Some(sp) => match parse_duration(&trimmed[sp + 1..]) {
            Some(ms) => (trimmed[..sp].trim_ascii_end(), Some(ms)),
            None => (trimmed, None),
        },
        None => (trimmed, None),
    };
    // A row is padded to the width before its time (`align`); a cut name ends two columns before the time
    // (three when the cut left a blank at its end).
    let blanks = trimmed.len().saturating_sub(name.len()).saturating_sub(duration_len(trimmed));
    let full = duration_ms.is_none() || blanks <= CUT_GAP;
    (!name.is_empty()).then_some(Row { status, name, duration_ms, full })
}

#[cfg(test)]
#[path = "buildkit_tty_tests.rs"]
mod tests;

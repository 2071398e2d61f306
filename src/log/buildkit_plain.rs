//! Parser for BuildKit `--progress=plain`: `#n <vertex name>` headers, `#n <sec> <text>` output,
//! `#n DONE 1.2s` / `CACHED` / `ERROR: …` / `CANCELED`, then the failure report (`error_block`).
//!
//! Format: `../shared/docs/log-formats.md` §2 (grammar, v0.8 digests and glued DONE), §3 (names), §4
//! (failures), §10 (hazards). Invariant: an output line costs a `#`, a number, a `Vec` lookup and
//! `StepOutput::push`; nothing else runs for it (the benchmark is a 1 GB log of such lines).

use memchr::memchr_iter;
use serde::{Deserialize, Serialize};

use super::cache_hit::CacheHits;
use super::error_block::{self, ErrorBlock};
use super::line::{End, Fed, Line};
use super::model::{Build, Format, ImageRef, Problem, Step, StepStatus};
use super::output::{text, StepOutput};
use super::run::Run;
use super::step_name;

/// Highest vertex number kept; the printer numbers vertexes 1, 2, … so real builds stay far below.
pub const MAX_VERTEX: usize = 1 << 16;
/// Problems kept per build.
const MAX_PROBLEMS: usize = 50;
/// Warnings kept per step.
const MAX_WARNINGS: usize = 20;
/// Tags kept per image.
const MAX_TAGS: usize = 32;
/// Longest step name kept when rejoining wrapped header lines.
const MAX_NAME: usize = 4096;

/// State of one build being read; serialisable so a growing log resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parser {
    build: Build,
    /// Output of `build.steps[i]`.
    outputs: Vec<StepOutput>,
    /// Vertex number → index in `build.steps` + 1 (0: not seen).
    index: Vec<u32>,
    /// Highest vertex number seen.
    max_n: u32,
    errors: ErrorBlock,
    /// The step whose summary block is being read, and whether its lines are new output.
    block_step: Option<(usize, bool)>,
    /// The last `>>>` range of a source snippet; placed on a step once the final line is known.
    snippet: Option<[u32; 2]>,
    /// The final error line was read: the build is over.
    ended: bool,
    /// An `exporting to …` vertex completed.
    exported: bool,
    wrap: Wrap,
    /// The longest line read so far: a console that hard-wraps makes it its width.
    #[serde(default)]
    widest: u32,
    /// The log shows v0.8's `#n sha256:<digest>` lines. Only v0.8 glues a state to an unterminated output
    /// line, so only then is every output line searched for one (a full extra pass on the hot path).
    #[serde(default)]
    v08: bool,
    /// The step of the last `#n` line + 1 (0: none yet): where `#0 <sec> text` output belongs.
    #[serde(default)]
    current: u32,
    /// The last `#n` line had a masked number (`#***`): its next lines are that step's (see `unnumbered`).
    #[serde(default)]
    current_masked: bool,
    /// Steps printed `CACHED`: a later `DONE` with no new output is a re-opened cache hit (`cache_hit`).
    #[serde(default)]
    cache_hits: CacheHits,
    /// What the demultiplexer asks about all steps, counted once it reads another build beside this one.
    #[serde(skip)]
    steps_index: StepsIndex,
}

impl Parser {
    /// True when `line` starts (or unmistakably belongs to) a build in this format.
    pub fn starts(line: &Line<'_>) -> bool {
        if line.chatter {
            return false;
        }
        let Some((n, rest)) = split_vertex(line.text) else {
            return unnumbered::split_masked(line.text).is_some_and(unnumbered::is_header);
        };
        if n == 0 {
            return rest.starts_with(b"building with ");
        }
        rest.first() == Some(&b'[') && rest.contains(&b']')
            || error_block::seconds_end(rest).is_some()
            || matches!(rest, b"CACHED" | b"CANCELED")
            || rest.starts_with(b"DONE ") && parse_duration(&rest[5..]).is_some()
            || rest.starts_with(b"ERROR: ")
            || is_digest(rest)
            || rest.starts_with(b"FROM ")
            || rest.starts_with(b"exporting to ")
    }

    /// A parser for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Parser {
        let mut build = Build::new(Format::BuildkitPlain, line.start);
        build.started = line.time_str().map(rfc3339);
        Parser {
            build,
            outputs: Vec::new(),
            index: Vec::new(),
            max_n: 0,
            errors: ErrorBlock::default(),
            block_step: None,
            snippet: None,
            ended: false,
            exported: false,
            wrap: Wrap::No,
            widest: 0,
            v08: false,
            current: 0,
            current_masked: false,
            cache_hits: CacheHits::default(),
            steps_index: StepsIndex::default(),
        }
    }

    pub fn feed(&mut self, line: &Line<'_>) -> Fed {
        if line.chatter {
            return Fed::Ignored;
        }
        self.widest = self.widest.max(u32::try_from(line.text.len()).unwrap_or(u32::MAX));
        let open = self.errors.open();
        let vertex = if open { None } else { split_vertex(line.text) };
        let fed = match vertex {
            Some((n, rest)) => self.vertex_line(n, rest, line),
            None => match unnumbered::split_masked(line.text).filter(|_| !open) {
                Some(rest) => self.masked_line(rest, line),
                None => self.other_line(line),
            },
        };
        if fed == Fed::Taken {
            self.build.span[1] = line.end;
        }
        fed
    }

    /// The build as it stands (open steps `running`).
    pub fn snapshot(&self) -> Build {
        let ended = self.ended || self.exported;
        close(self.build.clone(), &self.outputs, self.snippet, ended)
    }

    pub fn finish(self, _end: End) -> Build {
        close(self.build, &self.outputs, self.snippet, true)
    }

    /// A `#n …` line.
    fn vertex_line(&mut self, n: u32, rest: &[u8], line: &Line<'_>) -> Fed {
        if let Some(skip) = error_block::seconds_end(rest) {
            if self.ended && Self::starts(line) {
                return Fed::NewBuild;
            }
            let out = rest.get(skip..).unwrap_or_default();
            if n == 0 {
                return self.zero_output(out, line);
            }
            return self.output(n, out, line);
        }
        self.wrap = Wrap::No;
        if self.restarts(n, rest, line) {
            return Fed::NewBuild;
        }
        if n == 0 {
            return self.zero_line(rest, line); // `#0 building with "default" instance using docker driver`
        }
        if let Some(time) = line.time_str() {
            self.build.finished = Some(rfc3339(time));
        }
        let Some(i) = self.step_for(n, rest, line) else {
            return Fed::Taken;
        };
        self.set_current(i, false);
        self.status(i, rest, line);
        if self.may_wrap(line.text) {
            self.wrap = match self.build.steps.get(i) {
                Some(s) if s.name.as_bytes() == rest => Wrap::Header(i),
                Some(s) if s.status == StepStatus::Error && rest.starts_with(b"ERROR") => Wrap::Error(i),
                _ => Wrap::Other,
            };
        }
        Fed::Taken
    }

    /// The hot path: one output line of vertex `n`.
    fn output(&mut self, n: u32, out: &[u8], line: &Line<'_>) -> Fed {
        let slot = self.index.get(n as usize).copied().unwrap_or(0) as usize;
        let i = match slot.checked_sub(1) {
            Some(i) => i,
            None => match self.unnamed_step(n, line) {
                Some(i) => i,
                None => return Fed::Taken,
            },
        };
        self.set_current(i, false);
        if self.v08 && memchr::memchr(b'#', out).is_some() {
            if let Some(at) = glued_status(out) {
                self.push_output(i, out.get(..at).unwrap_or_default(), line);
                let glued = out.get(at..).unwrap_or_default();
                if let Some((m, rest)) = split_vertex(glued) {
                    return self.vertex_line(m, rest, line);
                }
            }
        }
        self.push_output(i, out, line);
        Fed::Taken
    }

    /// A run of output lines of one vertex (`run`), read as `feed` would read each of them; false (and
    /// nothing read) when a line of it could mean more here: the failure report is open, the build
    /// ended, v0.8 may glue a state to a line, `#0` output, or a vertex without a header.
    pub(super) fn output_run(&mut self, run: &Run<'_>) -> bool {
        if self.ended || self.v08 || run.n == 0 || self.errors.open() {
            return false;
        }
        let Some(i) = self.index.get(run.n as usize).and_then(|&s| (s as usize).checked_sub(1)) else {
            return false;
        };
        let Some(output) = self.outputs.get_mut(i) else {
            return false;
        };
        run.fill(output);
        self.widest = self.widest.max(u32::try_from(run.widest).unwrap_or(u32::MAX));
        self.set_current(i, false);
        self.wrap = if run.last_len >= WRAP_MIN { Wrap::Output(i) } else { Wrap::No };
        self.build.span[1] = run.end;
        true
    }

    fn set_current(&mut self, i: usize, masked: bool) {
        self.current = u32::try_from(i + 1).unwrap_or(0);
        self.current_masked = masked;
    }

    fn push_output(&mut self, i: usize, out: &[u8], line: &Line<'_>) {
        if let Some(o) = self.outputs.get_mut(i) {
            o.push(out, line.start, line.end);
        }
        self.wrap = if line.text.len() >= WRAP_MIN { Wrap::Output(i) } else { Wrap::No };
    }

    /// Whether `#n rest` starts another build: numbering restarts at `#0`/`#1` (§3, §10.3), or a
    /// vertex line follows the final error.
    fn restarts(&self, n: u32, rest: &[u8], line: &Line<'_>) -> bool {
        if self.build.steps.is_empty() {
            return false;
        }
        if self.ended {
            return Self::starts(line);
        }
        if n == 0 {
            return rest.starts_with(b"building with ") || rest.first() == Some(&b'[');
        }
        if n != 1 || rest.first() != Some(&b'[') {
            return false;
        }
        let Some(first) = self.index.get(1).and_then(|&s| (s as usize).checked_sub(1)).and_then(|i| self.build.steps.get(i)) else {
            return false;
        };
        let renamed = !first.name.as_bytes().starts_with(rest);
        renamed || (self.max_n > 1 && first.status != StepStatus::Running)
    }

    /// The step of vertex `n`, created at its first line (a header, or a status of a vertex whose
    /// header is not in the log).
    fn step_for(&mut self, n: u32, rest: &[u8], line: &Line<'_>) -> Option<usize> {
        if let Some(i) = self.index.get(n as usize).and_then(|&s| (s as usize).checked_sub(1)) {
            return Some(i);
        }
        if is_status_keyword(rest) {
            return self.unnamed_step(n, line);
        }
        self.new_step(n, text(rest), line)
    }

    fn unnamed_step(&mut self, n: u32, line: &Line<'_>) -> Option<usize> {
        let i = self.new_step(n, format!("#{n}"), line)?;
        self.problem(line.start, format!("step #{n} has no header line in the log"));
        Some(i)
    }

    fn new_step(&mut self, n: u32, name: String, line: &Line<'_>) -> Option<usize> {
        let slot = n as usize;
        if slot >= MAX_VERTEX {
            self.problem(line.start, format!("vertex number #{n} is too high to track"));
            return None;
        }
        if self.index.len() <= slot {
            self.index.resize(slot + 1, 0);
        }
        let i = self.push_step(name, line);
        self.index[slot] = u32::try_from(i + 1).unwrap_or(0);
        self.max_n = self.max_n.max(n);
        Some(i)
    }

    /// Appends a step named `name`; its index.
    fn push_step(&mut self, name: String, line: &Line<'_>) -> usize {
        let mut step = Step::named(name);
        step_name::apply(&mut step);
        step.clipped = step_name::cut_by_plain_printer(&step.name);
        step.started = line.time_str().map(rfc3339);
        self.note_dockerfile(&step.name);
        self.build.steps.push(step);
        self.outputs.push(StepOutput::default());
        self.build.steps.len() - 1
    }

    /// The first `load build definition from X` names the Dockerfile; its header rejoined after a
    /// console wrapped it names it whole.
    pub(super) fn note_dockerfile(&mut self, name: &str) {
        if let Some((_, file)) = name.split_once("] load build definition from ") {
            let file = file.trim();
            if self.build.dockerfile.as_deref().is_none_or(|known| file.len() > known.len() && file.starts_with(known)) {
                self.build.dockerfile = Some(file.to_string());
            }
        }
    }

    /// A non-output line of step `i`: a state, a warning, a digest, a status row or its header again.
    fn status(&mut self, i: usize, rest: &[u8], line: &Line<'_>) {
        let time = line.time_str().map(rfc3339);
        let Some(step) = self.build.steps.get_mut(i) else {
            return;
        };
        let lines = self.outputs.get(i).map_or(0, |o| o.range.lines);
        let finished = match rest {
            b"CACHED" => {
                self.cache_hits.note(i, lines);
                set(step, StepStatus::Cached)
            }
            b"CANCELED" => set(step, StepStatus::Canceled),
            b"..." => false,
            _ if rest.starts_with(b"DONE ") && step.status == StepStatus::Cached && self.cache_hits.reopened(i, lines) => false,
            _ if rest.starts_with(b"DONE ") => {
                step.duration_ms = parse_duration(&rest[5..]).or(step.duration_ms);
                self.exported |= step.name.starts_with("exporting to") || step.name.contains("] exporting to");
                set(step, StepStatus::Executed)
            }
            _ if rest.starts_with(b"ERROR") => {
                let msg = rest.strip_prefix(b"ERROR: ").or_else(|| rest.strip_prefix(b"ERROR:")).unwrap_or_default();
                error_block::fail_step(step, text(msg));
                true
            }
            _ if rest.starts_with(b"WARN: ") => {
                if step.warnings.len() < MAX_WARNINGS {
                    step.warnings.push(text(&rest[6..]));
                }
                false
            }
            _ if is_digest(rest) => {
                step.digest.get_or_insert_with(|| text(rest));
                self.v08 = true;
                false
            }
            _ if step.name.as_bytes() == rest => {
                if step.status != StepStatus::Cached {
                    step.status = StepStatus::Running; // printed again: the vertex runs again (§2.1)
                }
                false
            }
            _ => {
                image_status(&mut self.build, rest);
                false
            }
        };
        if finished {
            if let Some(step) = self.build.steps.get_mut(i) {
                step.finished = time;
            }
        }
    }

    fn problem(&mut self, offset: u64, message: String) {
        if self.build.problems.len() < MAX_PROBLEMS {
            self.build.problems.push(Problem::at(offset, message));
        }
    }
}

/// `writing image sha256:… done`, `naming to docker.io/library/x:1 done`, `pushing manifest for
/// <ref>@sha256:…` → `Build.image`.
pub(super) fn image_status(build: &mut Build, rest: &[u8]) {
    if let Some(id) = rest.strip_prefix(b"writing image ") {
        let id = id.split(|&b| b == b' ').next().unwrap_or_default();
        build.image.get_or_insert_with(ImageRef::default).id = Some(text(id));
    } else if let Some(tag) = rest.strip_prefix(b"naming to ").or_else(|| rest.strip_prefix(b"pushing manifest for ")) {
        let tag = tag.split(|&b| b == b' ').next().unwrap_or_default();
        let tag = text(tag.split(|&b| b == b'@').next().unwrap_or_default());
        let image = build.image.get_or_insert_with(ImageRef::default);
        if !image.tags.contains(&tag) && image.tags.len() < MAX_TAGS {
            image.tags.push(tag);
        }
    }
}

/// Sets a terminal state; true (the step finished).
fn set(step: &mut Step, status: StepStatus) -> bool {
    step.status = status;
    true
}

/// `#12 rest` → (12, rest); `#12` alone → (12, ""). At most 9 digits (no overflow).
pub fn split_vertex(text: &[u8]) -> Option<(u32, &[u8])> {
    let digits = text.get(1..)?.iter().take_while(|b| b.is_ascii_digit()).count();
    if text.first() != Some(&b'#') || digits == 0 || digits > 9 {
        return None;
    }
    let n = text[1..=digits].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    match text.get(digits + 1) {
        None => Some((n, &[])),
        Some(b' ') => Some((n, &text[digits + 2..])),
        Some(_) => None,
    }
}

fn is_status_keyword(rest: &[u8]) -> bool {
    matches!(rest, b"CACHED" | b"CANCELED" | b"...")
        || rest.starts_with(b"DONE ")
        || rest.starts_with(b"ERROR")
        || rest.starts_with(b"WARN: ")
}

/// v0.8 glues a state to an unterminated output line: `last line#4 DONE 0.0s` (§2.1).
fn glued_status(out: &[u8]) -> Option<usize> {
    memchr_iter(b'#', out).find(|&at| {
        at > 0
            && out.get(at..).and_then(split_vertex).is_some_and(|(_, rest)| {
                matches!(rest, b"CACHED" | b"CANCELED")
                    || rest.starts_with(b"ERROR: ")
                    || rest.starts_with(b"DONE ") && parse_duration(&rest[5..]).is_some()
            })
    })
}

/// `sha256:<64 hex>` alone: the v0.8 vertex digest line (not a layer status row, which goes on).
fn is_digest(rest: &[u8]) -> bool {
    rest.len() == 71 && rest.starts_with(b"sha256:") && rest[7..].iter().all(u8::is_ascii_hexdigit)
}

/// `0.1s` / `12.34s` / `4s` → milliseconds, without floats.
pub fn parse_duration(s: &[u8]) -> Option<u64> {
    let s = s.strip_suffix(b"s")?;
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, &b""[..]),
    };
    if int.is_empty() || int.len() > 12 || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let whole = int.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    let mut ms = 0u64;
    for (k, &d) in frac.iter().take(3).enumerate() {
        ms += u64::from(d - b'0') * [100, 10, 1][k];
    }
    whole.checked_mul(1000)?.checked_add(ms)
}

/// Lines a client prints after the progress that belong to the build (§4.5, §4.6).
fn is_trailer(line: &[u8]) -> bool {
    line.starts_with(b"View build details: ") || line.starts_with(b" - ") || (line.starts_with(b" ") && line.ends_with(b"to expand):"))
}

/// CI timestamps as RFC 3339 (`2024-02-16 02:29:15.118Z` → `2024-02-16T02:29:15.118Z`).
pub fn rfc3339(time: &str) -> String {
    time.replacen(' ', "T", 1)
}

#[path = "buildkit_plain_unnumbered.rs"]
mod unnumbered;

#[path = "buildkit_plain_wrap.rs"]
mod wrap;
use wrap::{Wrap, WRAP_MIN};

#[path = "buildkit_plain_view.rs"]
mod view;

#[path = "buildkit_plain_steps.rs"]
pub(super) mod steps;
use steps::StepsIndex;

#[path = "buildkit_plain_report.rs"]
mod report;
pub(super) use report::close;

#[cfg(test)]
#[path = "buildkit_plain_tests.rs"]
mod tests;

//! Builds whose steps run strictly one after another (classic builder, podman/buildah): the open
//! step, its output, and a daemon error that is only known to be one when nothing follows it.
//!
//! Both formats print a header per step, raw process output without any prefix, and an image-id line
//! when the step is committed (log-formats.md §7, §11). There is never more than one open step, so one
//! `StepOutput` is enough; closed steps keep their range and excerpt in `build.steps`. podman may
//! suspend a step while it builds the stage that step needs (`COPY --from` of a stage not built yet):
//! the suspended steps wait on a small stack, innermost last, with their output so far.

use serde::{Deserialize, Serialize};

use super::line::{End, Line};
use super::model::{Build, BuildResult, Format, Problem, Step, StepStatus};
use super::output::{self, StepOutput};
use super::run::Run;

/// Most steps one build keeps; a further header starts a new build (bounds memory on hostile input).
pub const MAX_STEPS: usize = 4096;
/// Most warnings kept per step.
const MAX_WARNINGS: usize = 32;
/// Most steps suspended at once (stages built inside stages); deeper nesting is not taken as nesting.
pub const MAX_SUSPENDED: usize = 64;

/// A build read step by step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sequence {
    pub build: Build,
    /// Output of the last step while it is open.
    out: StepOutput,
    /// The last step has not been committed, failed or cancelled yet.
    open: bool,
    /// The open step reported a cache hit.
    cached: bool,
    /// A line of the open step that reads like a daemon error: it is the step's error only if it
    /// stays the step's last line (process output can say the same words).
    pending: Option<Pending>,
    /// The build printed its result (success, failure or cancel); later lines are not its own.
    pub done: bool,
    /// A line has been read (the first one gives `build.started`).
    begun: bool,
    /// Steps suspended while another stage is built, innermost last.
    #[serde(default)]
    suspended: Vec<Suspended>,
    /// Index in `build.steps` of the open step (or of the last one that was); `None`: the last step.
    #[serde(default)]
    at: Option<usize>,
}

/// A step waiting for the stage it needs to be built.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Suspended {
    index: usize,
    out: StepOutput,
    cached: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    text: String,
    exit_code: Option<i32>,
}

impl Sequence {
    pub fn new(format: Format, start: u64) -> Sequence {
        Sequence {
            build: Build::new(format, start),
            out: StepOutput::default(),
            open: false,
            cached: false,
            pending: None,
            done: false,
            begun: false,
            suspended: Vec::new(),
            at: None,
        }
    }

    /// Extends the build over `line` (span, times).
    pub fn touch(&mut self, line: &Line<'_>) {
        if !self.begun {
            self.begun = true;
            self.build.started = rfc3339(line);
        }
        self.build.span[1] = self.build.span[1].max(line.end);
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// True when an error line now cannot be process output: the open step printed nothing yet (a
    /// process that never started: OCI runtime errors right after `Running in`), or its instruction
    /// runs no process of its own (COPY, ADD, WORKDIR …; FROM may run ONBUILD triggers).
    pub fn errors_are_daemons(&self) -> bool {
        let instruction = self.current().and_then(|s| s.instruction.as_deref());
        self.out.range.lines == 0 || !matches!(instruction.and_then(|i| keyword(i.as_bytes())), Some("RUN" | "FROM"))
    }

    pub fn steps(&self) -> &[Step] {
        &self.build.steps
    }

    fn at(&self) -> usize {
        self.at.unwrap_or(self.build.steps.len().saturating_sub(1))
    }

    /// The open step, else the last one that was (a resumed step may precede the steps of the stage
    /// built while it waited).
    pub fn current(&self) -> Option<&Step> {
        self.build.steps.get(self.at())
    }

    /// The open step, else the last one that was.
    pub fn last_mut(&mut self) -> Option<&mut Step> {
        let at = self.at();
        self.build.steps.get_mut(at)
    }

    /// The steps suspended while another stage is built, innermost last.
    pub fn suspended(&self) -> impl Iterator<Item = &Step> + '_ {
        self.suspended.iter().filter_map(|s| self.build.steps.get(s.index))
    }

    /// Sets the open step aside while the stage it needs is built; false when none is open or the
    /// stack is full.
    pub fn suspend(&mut self) -> bool {
        if !self.open || self.suspended.len() >= MAX_SUSPENDED {
            return false;
        }
        let out = std::mem::take(&mut self.out);
        self.suspended.push(Suspended { index: self.at(), out, cached: self.cached });
        self.open = false;
        self.pending = None;
        true
    }

    /// Takes the innermost suspended step up again as the open one (closing the open step first, as a
    /// header does); false when none waits.
    pub fn resume(&mut self, line: &Line<'_>) -> bool {
        let Some(waiting) = self.suspended.pop() else {
            return false;
        };
        self.close(None, line);
        self.at = Some(waiting.index);
        self.out = waiting.out;
        self.cached = waiting.cached;
        self.open = true;
        self.pending = None;
        true
    }

    /// Ends every suspended step with `status` (the build ended while they waited).
    fn end_suspended(&mut self, status: StepStatus, line: &Line<'_>) {
        while let Some(waiting) = self.suspended.pop() {
            if let Some(step) = self.build.steps.get_mut(waiting.index) {
                fill_output(step, &waiting.out);
                step.status = if status == StepStatus::Executed && waiting.cached { StepStatus::Cached } else { status };
                step.finished = rfc3339(line);
            }
        }
    }

    /// Starts `step` (closing the open one first: its header came without a commit line).
    pub fn open_step(&mut self, mut step: Step, line: &Line<'_>) {
        self.close(None, line);
        step.started = rfc3339(line);
        step.status = StepStatus::Running;
        self.build.steps.push(step);
        self.at = None;
        self.out = StepOutput::default();
        self.open = true;
        self.cached = false;
        self.pending = None;
        self.touch(line);
    }

    /// The open step reported a cache hit.
    pub fn mark_cached(&mut self) {
        if self.open {
            self.cached = true;
        }
    }

    /// Commits the open step (executed, or cached after a cache hit), with the image id printed.
    pub fn close(&mut self, image_id: Option<String>, line: &Line<'_>) {
        if !self.open {
            return;
        }
        let status = if self.cached { StepStatus::Cached } else { StepStatus::Executed };
        self.end_step(status, line);
        if let (Some(id), Some(step)) = (image_id, self.last_mut()) {
            step.image_id = Some(id);
        }
    }

    fn end_step(&mut self, status: StepStatus, line: &Line<'_>) {
        self.open = false;
        self.pending = None;
        let out = std::mem::take(&mut self.out);
        if let Some(step) = self.last_mut() {
            fill_output(step, &out);
            step.status = status;
            step.finished = rfc3339(line);
        }
    }

    /// One line of the open step's process output. `suspect` = it reads like a daemon error.
    pub fn output(&mut self, line: &Line<'_>, suspect: Option<Option<i32>>) {
        self.out.push(shown(line.text), line.start, line.end);
        self.pending = suspect.map(|exit_code| Pending { text: output::text(line.text), exit_code });
        self.touch(line);
    }

    /// A run of plain output lines of the open step, as `output(line, None)` of each; false (nothing read)
    /// before the build's first line was read.
    pub fn output_run(&mut self, run: &Run<'_>) -> bool {
        if !self.begun {
            return false;
        }
        // The classic builder and podman show a line's text after its last `\r` (progress rewrites).
        run.fill_shown(&mut self.out, shown);
        self.pending = None;
        self.build.span[1] = self.build.span[1].max(run.end);
        true
    }

    /// The build failed with `error`; the open step (if any) is the failed one.
    pub fn fail(&mut self, error: String, exit_code: Option<i32>, line: &Line<'_>) {
        if self.open {
            self.end_step(StepStatus::Error, line);
            if let Some(step) = self.last_mut() {
                step.error = Some(error.clone());
                step.exit_code = exit_code;
            }
        }
        self.end_suspended(StepStatus::Canceled, line);
        self.build.error = Some(error);
        self.end_build(BuildResult::Failed, line);
    }

    /// The build was cancelled; the open step (if any) with it.
    pub fn cancel(&mut self, message: String, line: &Line<'_>) {
        if self.open {
            self.end_step(StepStatus::Canceled, line);
        }
        self.end_suspended(StepStatus::Canceled, line);
        self.build.error = Some(message);
        self.end_build(BuildResult::Canceled, line);
    }

    /// The build printed its success line.
    pub fn succeed(&mut self, line: &Line<'_>) {
        self.close(None, line);
        self.end_suspended(StepStatus::Executed, line);
        self.end_build(BuildResult::Success, line);
    }

    fn end_build(&mut self, result: BuildResult, line: &Line<'_>) {
        self.build.result = result;
        self.build.finished = rfc3339(line);
        self.done = true;
        self.touch(line);
    }

    /// A builder warning for the open step, else the last one (warnings printed after a step's commit
    /// line are about that step or the whole build, which has no field of its own).
    pub fn warn(&mut self, text: &[u8]) {
        if let Some(step) = self.last_mut() {
            if step.warnings.len() < MAX_WARNINGS {
                step.warnings.push(output::text(text));
            }
        }
    }

    /// The build as it stands: the open step `running` with its output so far.
    pub fn snapshot(&self) -> Build {
        let mut build = self.build.clone();
        if self.open {
            if let Some(step) = build.steps.get_mut(self.at()) {
                fill_output(step, &self.out);
            }
        }
        for waiting in &self.suspended {
            if let Some(step) = build.steps.get_mut(waiting.index) {
                fill_output(step, &waiting.out);
            }
        }
        build
    }

    /// Closes the build: a suspected daemon error that stayed the open step's last line becomes its
    /// error; a step left open by another build starting is taken as cancelled.
    pub fn finish(mut self, end: End) -> Build {
        let at = Line::synthetic(b"", self.build.span[1], self.build.span[1]);
        if let Some(p) = self.pending.take().filter(|_| self.open && !self.done) {
            self.fail(p.text, p.exit_code, &at);
            self.build.finished = None;
        }
        if end == End::NextBuild && !self.done && !self.build.steps.is_empty() {
            // The builder never prints a result when its client goes away (Ctrl-C, CI timeout).
            let message = if self.open || !self.suspended.is_empty() {
                "another build starts while this one's step is running"
            } else {
                "no result line before the next build starts"
            };
            self.build.problems.push(Problem::at(self.build.span[1], message));
            if self.open || !self.suspended.is_empty() {
                if self.open {
                    self.end_step(StepStatus::Canceled, &at);
                }
                self.end_suspended(StepStatus::Canceled, &at);
                self.build.result = BuildResult::Canceled;
            }
        }
        if self.open {
            let out = std::mem::take(&mut self.out);
            if let Some(step) = self.last_mut() {
                fill_output(step, &out);
            }
        }
        for waiting in &self.suspended {
            if let Some(step) = self.build.steps.get_mut(waiting.index) {
                fill_output(step, &waiting.out);
            }
        }
        self.build
    }
}

fn fill_output(step: &mut Step, out: &StepOutput) {
    out.fill(step);
}

/// What a terminal would show of an output line: the part after its last `\r` (progress bars).
pub fn shown(text: &[u8]) -> &[u8] {
    match memchr::memrchr(b'\r', text) {
        Some(i) if i + 1 < text.len() => text.get(i + 1..).unwrap_or(text),
        _ => text,
    }
}

/// The line's wrapper timestamp as RFC 3339 (the devcontainer form has a space for the `T`).
pub fn rfc3339(line: &Line<'_>) -> Option<String> {
    let t = line.time_str()?;
    Some(if t.as_bytes().get(10) == Some(&b' ') { format!("{}T{}", t.get(..10)?, t.get(11..)?) } else { t.to_string() })
}

/// Parses a run of ASCII digits at the start of `s` (at most 9, so it fits `u32`).
pub fn number(s: &[u8]) -> Option<(u32, &[u8])> {
    let len = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 9 {
        return None;
    }
    let (digits, rest) = s.split_at(len);
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((n, rest))
}

/// Dockerfile instruction keywords (any case), to tell a step header from prose.
const KEYWORDS: [&str; 18] = [
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// The instruction keyword `text` starts with, upper-cased.
pub fn keyword(text: &[u8]) -> Option<&'static str> {
    let end = text.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(text.len());
    let word = text.get(..end)?;
    KEYWORDS.iter().copied().find(|k| k.as_bytes().eq_ignore_ascii_case(word))
}

/// True for image ids as printed: short or full hex, optionally `sha256:`.
pub fn is_image_id(s: &[u8]) -> bool {
    let hex = s.strip_prefix(b"sha256:").unwrap_or(s);
    (10..=64).contains(&hex.len()) && hex.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// The exit code at the end of `text` after `marker` (`… exit status 3`, `… non-zero code: 3`).
pub fn trailing_code(text: &[u8], marker: &[u8]) -> Option<i32> {
    let at = memchr::memmem::rfind(text, marker)?;
    let digits = text.get(at + marker.len()..)?;
    let (n, rest) = number(digits)?;
    if !rest.is_empty() {
        return None;
    }
    i32::try_from(n).ok()
}

#[cfg(test)]
#[path = "sequential_tests.rs"]
mod tests;
#[cfg(test)]
pub use tests::summary;

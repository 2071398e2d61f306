//! One stream of lines (a whole log, or one act job's lines): decides per line which format parser
//! reads it and splits the stream into builds.
//!
//! Formats are detected per line, not per file (prose, shell prompts and other tools' output are mixed
//! in): the active parser sees a line first; a line it ignores may start a build of another format.

use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::{Build, BuildResult, Problem, StepStatus};
use super::prefix::{self, Held, Hold, Prefixes};
use super::run::{Kind, Run};
use super::{buildkit_plain, buildkit_tty, demux, engine_api, legacy, podman, rawjson};

/// The parser of the build being read (plain: of the builds printed side by side).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Active {
    Plain(demux::Demux),
    Tty(buildkit_tty::Parser),
    RawJson(rawjson::Parser),
    Engine(engine_api::Parser),
    Legacy(legacy::Parser),
    Podman(podman::Parser),
}

/// The first bytes a line that starts a build can have: `{` (rawjson, Engine API JSON), `[` (tty's
/// `[+] Building`, podman's `[k/n] STEP`), ` ` and `=` (tty rows ` => `), `#` (plain), `S` (`STEP`,
/// `Step`, `Sending build context`), `D` (the classic builder's DEPRECATED banner). Each parser's `starts`
/// tests a fixed prefix; looking the first byte up first makes a line of output or prose outside a build
/// (most of a log that is no build, `yes` output, a CI job's other steps) cost one lookup here instead of
/// six prefix tests. `tests::every_start_is_let_through` holds this to every fixture log.
static STARTS_WITH: [bool; 256] = {
    let mut table = [false; 256];
    let bytes = b"{[ =#SD";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
};

/// `$one` for the single-build parsers, `$plain` for the plain router.
macro_rules! each_active {
    ($value:expr, $p:ident => $one:expr, $plain:expr) => {
        match $value {
            Active::Plain($p) => $plain,
            Active::Tty($p) => $one,
            Active::RawJson($p) => $one,
            Active::Engine($p) => $one,
            Active::Legacy($p) => $one,
            Active::Podman($p) => $one,
        }
    };
}

impl Active {
    /// A parser for the format whose build `line` starts, if any. Order matters: the most specific
    /// signatures first.
    fn start(line: &Line<'_>) -> Option<Active> {
        if line.chatter || !line.text.first().is_some_and(|&b| STARTS_WITH[usize::from(b)]) {
            return None;
        }
        if rawjson::Parser::starts(line) {
            return Some(Active::RawJson(rawjson::Parser::new(line)));
        }
        if engine_api::Parser::starts(line) {
            return Some(Active::Engine(engine_api::Parser::new(line)));
        }
        if buildkit_tty::Parser::starts(line) {
            return Some(Active::Tty(buildkit_tty::Parser::new(line)));
        }
        if buildkit_plain::Parser::starts(line) {
            return Some(Active::Plain(demux::Demux::new(line)));
        }
        if podman::Parser::starts(line) {
            return Some(Active::Podman(podman::Parser::new(line)));
        }
        if legacy::Parser::starts(line) {
            return Some(Active::Legacy(legacy::Parser::new(line)));
        }
        None
    }

    fn feed(&mut self, line: &Line<'_>) -> Fed {
        each_active!(self, p => p.feed(line), p.feed(line))
    }

    fn snapshot(&self) -> Vec<Build> {
        each_active!(self, p => vec![p.snapshot()], p.snapshot())
    }

    fn finish(self, end: End) -> Vec<Build> {
        each_active!(self, p => vec![p.finish(end)], p.finish(end))
    }
}

/// The lines of one job (or of the whole log when it has no job prefixes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Channel {
    pub job: Option<String>,
    active: Option<Active>,
    done: Vec<Build>,
    /// Prefixes learned on this channel's lines (absent in checkpoints of older versions).
    #[serde(default)]
    prefixes: Prefixes,
    /// The last failed build closed here (`echo`): a re-print of it is not another build.
    #[serde(default)]
    last_failed: Option<u64>,
    /// When that build finished (its last line's stamp), if the log stamps lines.
    #[serde(default)]
    last_failed_end: Option<String>,
}

impl Channel {
    pub fn new(job: Option<String>) -> Channel {
        Channel { job, active: None, done: Vec::new(), prefixes: Prefixes::default(), last_failed: None, last_failed_end: None }
    }

    pub fn line(&mut self, line: &Line<'_>) {
        if line.chatter {
            if let Some(failed) = act_verdict(line.text) {
                self.settle();
                self.act_ended(failed, line);
                return;
            }
        }
        let line = self.prefixes.strip(line);
        if self.prefixes.holding() {
            match self.prefixes.hold(&line) {
                Hold::Kept => {}
                Hold::Learned => self.replay(0),
                Hold::Released => self.replay_released(),
            }
            return;
        }
        if self.continued_behind_a_prefix(&line) {
            // The classic builder and podman take any line as the open step's output, so a prefixed
            // `Step N/M` would never reach `consider` (it is read as output too until the prefix is learned).
            if self.prefixes.consider(&line) {
                let stripped = self.prefixes.strip(&line);
                self.read(&stripped);
            } else if let Some(hit) = self.prefixes.after_prefix(&line).filter(|s| prefix::is_cache_hit(s.text)) {
                // A cache hit is builder text whatever comes before it: read it as one at once.
                self.read(&hit);
            } else {
                self.read(&line);
            }
            return;
        }
        if self.read(&line) {
            self.prefixes.used();
        } else if self.prefixes.consider(&line) {
            let stripped = self.prefixes.strip(&line);
            self.read(&stripped);
        }
    }

    /// A run of plain output lines (`run`), read at once when no prefix is learned or being checked and a
    /// plain build is open to take it; false (nothing read) otherwise.
    pub fn output_run(&mut self, run: &Run<'_>) -> bool {
        if !self.prefixes.idle() {
            return false;
        }
        let read = match (&mut self.active, run.kind) {
            (Some(Active::Plain(demux)), Kind::Plain) => demux.output_run(run),
            (Some(Active::Legacy(parser)), Kind::Legacy) => parser.output_run(run),
            _ => false,
        };
        if read {
            self.prefixes.used();
        }
        read
    }

    /// The kind of run the open build may take (a plain or a classic build is being read).
    pub fn run_kind(&self) -> Option<Kind> {
        match self.active {
            Some(Active::Plain(_)) => Some(Kind::Plain),
            Some(Active::Legacy(_)) => Some(Kind::Legacy),
            _ => None,
        }
    }

    /// Whether `line` is a step header of the open classic or podman build behind some text: those
    /// parsers read any line as output of the open step. Only a header that continues the open build counts
    /// (a quoted `out: Step 1/2` in a step's output starts no step of it); a rare line, so probing a copy
    /// of the parser costs nothing that matters.
    fn continued_behind_a_prefix(&self, line: &Line<'_>) -> bool {
        let Some(active @ (Active::Legacy(_) | Active::Podman(_))) = &self.active else { return false };
        let Some(stripped) = self.prefixes.after_prefix(line) else { return false };
        let steps = |a: &Active| a.snapshot().iter().map(|b| b.steps.len()).sum::<usize>();
        let mut probe = active.clone();
        let before = steps(&probe);
        // A dated header adds a step; a dated cache hit (`--> Using cache`) marks the open one.
        probe.feed(&stripped) == Fed::Taken && (steps(&probe) > before || prefix::is_cache_hit(stripped.text))
    }

    /// The log ended (or a snapshot reads it as if): the held lines are read, without the candidate's
    /// prefix when the lines around its anchor carry it.
    fn settle(&mut self) {
        if !self.prefixes.holding() {
            return;
        }
        match self.prefixes.settle() {
            Hold::Learned => self.replay(0),
            Hold::Kept | Hold::Released => self.replay_released(),
        }
    }

    /// The lines after a candidate did not confirm it. Its own line is still read as the builder line
    /// behind the text, and its prefix learned, when the next held builder line continues the build it
    /// starts (a Go date on the first header only, `STEP 1/2` then a bare `STEP 2/2`); prose that quotes a
    /// builder line starts no build that its next lines continue.
    fn replay_released(&mut self) {
        let held = self.prefixes.take_held();
        if let Some(stripped) = held.first().and_then(|h| self.continued_after(&h.line(), &held[1..])) {
            // A prefix after all (a Go date on the first line of each chunk): stripped from every line
            // that carries it from now on, status lines too (`--> Using cache`).
            self.prefixes.learn_released();
            self.read(&stripped);
        }
        for h in held.iter().skip(1) {
            let line = self.prefixes.strip(&h.line());
            self.read(&line);
        }
    }

    /// `line` without its text before a builder anchor, when reading it so starts a numbered step and `rest`
    /// then numbers another step after it in the same build (same `n`, higher `k`), with no new build between
    /// (probed on a copy of the parser: a rare path).
    fn continued_after<'a>(&self, line: &Line<'a>, rest: &[Held]) -> Option<Line<'a>> {
        let stripped = self.prefixes.after_prefix(line)?;
        let mut probe = match &self.active {
            Some(active) => active.clone(),
            None => Active::start(&stripped)?,
        };
        if self.active.is_some() && probe.feed(&stripped) != Fed::Taken {
            return None;
        } else if self.active.is_none() {
            probe.feed(&stripped);
        }
        let last_step = |a: &Active| a.snapshot().last().and_then(|b| b.steps.last().map(|s| (s.name.clone(), s.k, s.n)));
        let (name, Some(k0), n0) = last_step(&probe)? else { return None };
        let continues =
            |b: &Build| b.steps.iter().any(|s| s.name == name) && b.steps.iter().any(|s| s.n == n0 && s.k.is_some_and(|k| k > k0));
        for h in rest {
            if probe.feed(&h.line()) == Fed::NewBuild {
                return None;
            }
            let later = probe.snapshot().iter().any(continues);
            if later {
                return Some(stripped);
            }
        }
        None
    }

    /// Reads the held lines from `from` on (the first was read when it made the candidate), each without
    /// the prefixes learned by now.
    fn replay(&mut self, from: usize) {
        let held = self.prefixes.take_held();
        for h in held.iter().skip(from) {
            let line = self.prefixes.strip(&h.line());
            self.read(&line);
        }
    }

    /// Gives `line` to the active parser, or starts a build with it. False when nobody used it.
    fn read(&mut self, line: &Line<'_>) -> bool {
        if let Some(active) = &mut self.active {
            match active.feed(line) {
                Fed::Taken => return true,
                Fed::NewBuild => {
                    self.close(End::NextBuild);
                    self.begin(line);
                    return true;
                }
                Fed::Ignored => {}
            }
        }
        let Some(next) = Active::start(line) else { return false };
        self.close(End::NextBuild);
        self.active = Some(next);
        self.feed_first(line);
        true
    }

    /// act said the step (or job) ended: the open build ends with it. act cuts a failing step's last
    /// lines, so when it failed while a step still runs, that step failed (the build's error lines are lost).
    fn act_ended(&mut self, failed: bool, line: &Line<'_>) {
        let Some(active) = self.active.take() else { return };
        let mut builds = active.finish(End::Eof);
        // Builds printed side by side: the failure is the last one's that still runs a step.
        let running = builds.iter().rposition(|b| b.steps.iter().any(|s| s.status == StepStatus::Running));
        if let Some(build) = running.and_then(|i| builds.get_mut(i)).filter(|b| failed && b.result != BuildResult::Failed) {
            act_failed(build, line);
        }
        for build in builds {
            self.push(build);
        }
    }

    fn begin(&mut self, line: &Line<'_>) {
        self.active = Active::start(line);
        self.feed_first(line);
    }

    fn feed_first(&mut self, line: &Line<'_>) {
        if let Some(active) = &mut self.active {
            active.feed(line);
        }
    }

    fn close(&mut self, end: End) {
        if let Some(active) = self.active.take() {
            for build in active.finish(end) {
                self.push(build);
            }
        }
    }

    fn push(&mut self, mut build: Build) {
        build.job = self.job.clone();
        normalize(&mut build);
        let failed = super::echo::fingerprint(&build);
        if failed.is_some() && failed == self.last_failed && super::echo::printed_at_once(self.last_failed_end.as_deref(), &build) {
            return;
        }
        self.last_failed = failed;
        self.last_failed_end = build.finished.clone();
        self.done.push(build);
    }

    /// Builds so far, the open one included as it stands (lines held for a prefix candidate read as
    /// they are).
    pub fn snapshot(&self) -> Vec<Build> {
        if self.prefixes.holding() {
            let mut settled = self.clone();
            settled.settle();
            return settled.snapshot();
        }
        let mut builds = self.done.clone();
        if let Some(active) = &self.active {
            for mut build in active.snapshot() {
                build.job = self.job.clone();
                normalize(&mut build);
                builds.push(build);
            }
        }
        builds
    }

    /// The builds closed so far, taken out of the channel (in log order), for a caller that hands them on
    /// as the log is read (`stream`); none while lines are held for a prefix candidate.
    pub fn take_done(&mut self) -> Vec<Build> {
        if self.prefixes.holding() {
            return Vec::new();
        }
        let mut done = std::mem::take(&mut self.done);
        done.sort_by_key(|b| b.span[0]);
        done
    }

    /// All builds; the open one is closed as the log ended (lines still held are read as they are).
    pub fn finish(mut self) -> Vec<Build> {
        self.settle();
        self.close(End::Eof);
        self.done
    }
}

/// act reported a failure while `build` still ran a step: that step failed (act cut the error lines).
fn act_failed(build: &mut Build, line: &Line<'_>) {
    let Some(step) = build.steps.iter_mut().rev().find(|s| s.status == StepStatus::Running) else { return };
    let said = String::from_utf8_lossy(line.text).into_owned();
    step.status = StepStatus::Error;
    step.error.get_or_insert_with(|| said.clone());
    let cut = format!("log cut: act reported failure (`{said}`) while step `{}` was running", step.name);
    build.result = BuildResult::Failed;
    build.error.get_or_insert(said);
    build.problems.push(Problem::at(line.start, cut));
}

/// act's verdict on a step or job (`❌  Failure - Main build [1.2s]`, `✅  Success - Main build`,
/// `🏁  Job failed`, `🏁  Job succeeded`): true when it failed.
fn act_verdict(text: &[u8]) -> Option<bool> {
    let said = |emoji: &str, word: &str| {
        text.strip_prefix(emoji.as_bytes()).is_some_and(|rest| rest.trim_ascii_start().starts_with(word.as_bytes()))
    };
    if said("❌", "Failure") || said("🏁", "Job failed") {
        Some(true)
    } else if said("✅", "Success") || said("🏁", "Job succeeded") {
        Some(false)
    } else {
        None
    }
}

/// Whether `build` is a build of a Dockerfile: it has a step of one (`[k/n]`, `Step N/M`, `STEP N/M`), a
/// failed step, or an error (a build that failed before its first step is still a build). Not so:
/// setup-buildx-action's `#1 [internal] booting buildkit`, the classic client's DEPRECATED banner and
/// `Sending build context` in front of a podman build. `LogParser` leaves such builds out of a log
/// that has a build of a Dockerfile; alone they stay, as all the log holds.
pub fn builds_a_dockerfile(build: &Build) -> bool {
    build.error.is_some()
        || build.steps.iter().any(|s| s.k.is_some() || s.dockerfile_lines.is_some() || s.status == super::model::StepStatus::Error)
}

/// Rules every format's output keeps. A failed build's error names its Dockerfile line where it says one;
/// a step's warning that names a line (`#1 WARN: FromAsCasing: … (line 3)`, rawjson's and the Engine
/// API's vertex warnings) is a warning of the build on that line.
/// A cached step did not run, so it has no duration (plain logs can
/// print `DONE 0.0s` and later `CACHED` for the same vertex; tty rows print `0.0s`).
fn normalize(build: &mut Build) {
    if build.result == super::model::BuildResult::Failed {
        super::checks::fill_error_lines(build);
    }
    super::checks::from_steps(build);
    for step in &mut build.steps {
        if step.status == super::model::StepStatus::Cached {
            step.duration_ms = None;
        }
        // Only a failure has a cause; a passing step's output may well mention errors.
        if step.status != super::model::StepStatus::Error {
            step.cause = None;
        }
    }
}

#[cfg(test)]
#[path = "channel_tests.rs"]
mod tests;

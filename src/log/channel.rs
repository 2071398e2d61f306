//! One stream of lines (a whole log, or one act job's lines): decides per line which format parser
//! reads it and splits the stream into builds.
//!
//! Formats are detected per line, not per file (prose, shell prompts and other tools' output are mixed
//! in): the active parser sees a line first; a line it ignores may start a build of another format.

use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::{Build, BuildResult, Problem, StepStatus};
use super::prefix::{self, Held, Hold, Prefixes};
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
}

impl Channel {
    pub fn new(job: Option<String>) -> Channel {
        Channel { job, active: None, done: Vec::new(), prefixes: Prefixes::default(), last_failed: None }
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
        if failed.is_some() && failed == self.last_failed {
            return;
        }
        self.last_failed = failed;
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
mod tests {
    use crate::log::{parse_bytes, BuildResult, Format, StepStatus};

    /// Every line of every fixture log that one of the parsers would start a build with has a first byte
    /// `STARTS_WITH` lets through (a new format signature must be added there).
    #[test]
    fn every_start_is_let_through() {
        use super::{buildkit_plain, buildkit_tty, engine_api, legacy, podman, rawjson, Active, Line};
        let ungated = |line: &Line<'_>| {
            rawjson::Parser::starts(line)
                || engine_api::Parser::starts(line)
                || buildkit_tty::Parser::starts(line)
                || buildkit_plain::Parser::starts(line)
                || podman::Parser::starts(line)
                || legacy::Parser::starts(line)
        };
        let mut files = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/logs"))];
        let (mut lines, mut starts) = (0, 0);
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let mut scratch = Vec::new();
            for raw in bytes.split(|&b| b == b'\n') {
                let u = crate::log::unwrap::unwrap(raw, &mut scratch);
                let line = Line { text: u.text, start: 0, end: 0, time: u.time, chatter: u.chatter, truncated: false };
                lines += 1;
                if ungated(&line) {
                    starts += 1;
                    assert!(Active::start(&line).is_some(), "{}: {:?}", path.display(), String::from_utf8_lossy(line.text));
                }
            }
        }
        assert!(lines > 10_000 && starts > 100, "{lines} lines, {starts} starts");
    }

    /// `format result steps` per build.
    fn builds(log: &str) -> Vec<(Format, BuildResult, usize)> {
        parse_bytes(log.as_bytes()).builds.iter().map(|b| (b.format, b.result, b.steps.len())).collect()
    }

    const BOOT: &str = "#1 [internal] booting buildkit\n#1 pulling image moby/buildkit:buildx-stable-1\n#1 pulling image moby/buildkit:buildx-stable-1 2.1s done\n#1 creating container buildx_buildkit_builder0\n#1 creating container buildx_buildkit_builder0 0.9s done\n#1 DONE 3.0s\n";
    const BANNER: &str = "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\nSending build context to Docker daemon  3.072kB\n";

    #[test]
    fn setup_buildx_boot_is_no_build() {
        let build = "#0 building with \"builder-1\" instance using docker-container driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/1] FROM docker.io/library/alpine:3.19\n#2 DONE 0.4s\n";
        assert_eq!(builds(&format!("{BOOT}\n{build}")), vec![(Format::BuildkitPlain, BuildResult::Success, 2)]);
        // Also with the boot last, or twice (two setup steps), or behind CI timestamps.
        assert_eq!(builds(&format!("{build}{BOOT}")).len(), 1);
        assert_eq!(builds(&format!("{BOOT}{BOOT}{build}")), vec![(Format::BuildkitPlain, BuildResult::Success, 2)]);
        let stamped: String = format!("{BOOT}{build}").lines().map(|l| format!("2025-06-24T07:32:05.3395638Z {l}\n")).collect();
        assert_eq!(builds(&stamped), vec![(Format::BuildkitPlain, BuildResult::Success, 2)]);
    }

    #[test]
    fn legacy_preamble_before_a_podman_build_is_no_build() {
        let podman =
            "STEP 1/2: FROM alpine:3.19\nSTEP 2/2: RUN echo hi\nhi\nCOMMIT x\n--> abcdef123456\nSuccessfully tagged localhost/x:latest\n";
        assert_eq!(builds(&format!("{BANNER}{podman}")), vec![(Format::Podman, BuildResult::Success, 2)]);
        let staged = "[1/2] STEP 1/1: FROM alpine AS a\n--> 111111111111\n[2/2] STEP 1/1: FROM alpine\n[2/2] COMMIT x\n--> 222222222222\n";
        assert_eq!(builds(&format!("{BANNER}{staged}")), vec![(Format::Podman, BuildResult::Success, 2)]);
    }

    #[test]
    fn a_build_that_fails_before_any_step_is_kept() {
        let failed = "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 2B done\n#1 DONE 0.0s\nERROR: failed to build: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory\n";
        assert_eq!(builds(&format!("{BOOT}{failed}")), vec![(Format::BuildkitPlain, BuildResult::Failed, 1)]);
        let legacy = format!("{BANNER}unable to prepare context: path \"nope\" not found\n");
        assert_eq!(builds(&format!("{legacy}{BOOT}")), vec![(Format::Legacy, BuildResult::Failed, 0)]);
    }

    #[test]
    fn alone_it_stays() {
        assert_eq!(builds(BOOT), vec![(Format::BuildkitPlain, BuildResult::Success, 1)]);
        assert_eq!(builds(BANNER), vec![(Format::Legacy, BuildResult::Running, 0)]);
    }

    /// `lines` as act prints a step's output, then act's own closing lines.
    fn act(lines: &str, closing: &[&str]) -> String {
        let mut log = String::from("[CI/build] ⭐ Run Main docker build\n");
        log.extend(lines.lines().map(|l| format!("[CI/build]   | {l}\n")));
        log.extend(closing.iter().map(|c| format!("[CI/build]   {c}\n")));
        log
    }

    const PLAIN_CUT: &str = "#0 building with \"default\" instance using docker driver\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#2 [1/2] FROM docker.io/library/alpine:3.19\n#2 DONE 0.4s\n#3 [2/2] RUN false\n#3 0.101 boom\n";
    const LEGACY_CUT: &str = "Sending build context to Docker daemon  2.048kB\nStep 1/2 : FROM alpine:3.19\n ---> 05455a08881e\nStep 2/2 : RUN false\n ---> Running in 1a2b3c4d5e6f\nboom\n";

    #[test]
    fn act_failure_ends_a_cut_build_as_failed() {
        for (what, cut) in [("plain", PLAIN_CUT), ("legacy", LEGACY_CUT)] {
            for closing in [&["❌  Failure - Main docker build [2.1s]", "🏁  Job failed"][..], &["🏁  Job failed"]] {
                let parsed = parse_bytes(act(cut, closing).as_bytes());
                assert_eq!(parsed.builds.len(), 1, "{what}");
                let build = &parsed.builds[0];
                assert_eq!(build.result, BuildResult::Failed, "{what} {closing:?}");
                let last = build.steps.last().expect("a step");
                assert!(last.name.ends_with("RUN false"), "{what}: {}", last.name);
                assert_eq!(last.status, StepStatus::Error, "{what}");
                assert!(build.steps.iter().all(|s| s.status != StepStatus::Running), "{what}");
                assert!(build.problems.iter().any(|p| p.message.contains("act reported failure")), "{what}: {:?}", build.problems);
            }
            // Without act's verdict the step still runs (the log may be growing).
            let open = parse_bytes(act(cut, &[]).as_bytes());
            assert_eq!(open.builds[0].steps.last().map(|s| s.status), Some(StepStatus::Running), "{what}");
        }
    }

    #[test]
    fn act_success_ends_the_open_build() {
        // The build printed its steps' ends: they stay; a later build in the job is a build of its own.
        let done = "#1 [1/1] FROM docker.io/library/alpine:3.19\n#1 DONE 0.4s\n";
        let two =
            format!("{}{}", act(done, &["✅  Success - Main docker build [1.0s]"]), act(done, &["✅  Success - Main docker build [1.0s]"]));
        let parsed = parse_bytes(two.as_bytes());
        assert_eq!(parsed.builds.len(), 2, "{parsed:?}");
        assert!(parsed.builds.iter().all(|b| b.steps[0].status == StepStatus::Executed));
        // A step whose end the build did not print stays as it is, and no failure is made up.
        let parsed = parse_bytes(act(PLAIN_CUT, &["✅  Success - Main docker build [2.1s]", "🏁  Job succeeded"]).as_bytes());
        assert_eq!(parsed.builds.len(), 1);
        assert_ne!(parsed.builds[0].result, BuildResult::Failed);
        assert_eq!(parsed.builds[0].steps.last().map(|s| s.status), Some(StepStatus::Running));
    }

    #[test]
    fn a_failure_after_a_finished_build_changes_nothing() {
        // act's failure of a later command (a push) in the same step: the build had ended well.
        let done = "#1 [1/1] FROM docker.io/library/alpine:3.19\n#1 DONE 0.4s\n#2 exporting to image\n#2 DONE 0.1s\n";
        let parsed = parse_bytes(act(done, &["❌  Failure - Main docker build [2.1s]"]).as_bytes());
        assert_eq!(parsed.builds[0].steps[0].status, StepStatus::Executed);
        assert!(parsed.builds[0].problems.iter().all(|p| !p.message.contains("act reported")));
    }
}

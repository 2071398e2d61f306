//! One stream of lines (a whole log, or one act job's lines): decides per line which format parser
//! reads it and splits the stream into builds.
//!
//! Formats are detected per line, not per file (prose, shell prompts and other tools' output are mixed
//! in): the active parser sees a line first; a line it ignores may start a build of another format.

use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::Build;
use super::{buildkit_plain, buildkit_tty, engine_api, legacy, podman, rawjson};

/// The parser of the build being read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Active {
    Plain(buildkit_plain::Parser),
    Tty(buildkit_tty::Parser),
    RawJson(rawjson::Parser),
    Engine(engine_api::Parser),
    Legacy(legacy::Parser),
    Podman(podman::Parser),
}

macro_rules! each_active {
    ($value:expr, $p:ident => $body:expr) => {
        match $value {
            Active::Plain($p) => $body,
            Active::Tty($p) => $body,
            Active::RawJson($p) => $body,
            Active::Engine($p) => $body,
            Active::Legacy($p) => $body,
            Active::Podman($p) => $body,
        }
    };
}

impl Active {
    /// A parser for the format whose build `line` starts, if any. Order matters: the most specific
    /// signatures first.
    fn start(line: &Line<'_>) -> Option<Active> {
        if line.chatter {
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
            return Some(Active::Plain(buildkit_plain::Parser::new(line)));
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
        each_active!(self, p => p.feed(line))
    }

    fn snapshot(&self) -> Build {
        each_active!(self, p => p.snapshot())
    }

    fn finish(self, end: End) -> Build {
        each_active!(self, p => p.finish(end))
    }
}

/// The lines of one job (or of the whole log when it has no job prefixes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Channel {
    pub job: Option<String>,
    active: Option<Active>,
    done: Vec<Build>,
}

impl Channel {
    pub fn new(job: Option<String>) -> Channel {
        Channel { job, active: None, done: Vec::new() }
    }

    pub fn line(&mut self, line: &Line<'_>) {
        if let Some(active) = &mut self.active {
            match active.feed(line) {
                Fed::Taken => return,
                Fed::NewBuild => {
                    self.close(End::NextBuild);
                    self.begin(line);
                    return;
                }
                Fed::Ignored => {}
            }
        }
        if let Some(next) = Active::start(line) {
            self.close(End::NextBuild);
            self.active = Some(next);
            self.feed_first(line);
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
            let build = active.finish(end);
            self.push(build);
        }
    }

    fn push(&mut self, mut build: Build) {
        build.job = self.job.clone();
        normalize(&mut build);
        self.done.push(build);
    }

    /// Builds so far, the open one included as it stands.
    pub fn snapshot(&self) -> Vec<Build> {
        let mut builds = self.done.clone();
        if let Some(active) = &self.active {
            let mut build = active.snapshot();
            build.job = self.job.clone();
            normalize(&mut build);
            builds.push(build);
        }
        builds
    }

    /// All builds; the open one is closed as the log ended.
    pub fn finish(mut self) -> Vec<Build> {
        self.close(End::Eof);
        self.done
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

/// Rules every format's output keeps. A cached step did not run, so it has no duration (plain logs can
/// print `DONE 0.0s` and later `CACHED` for the same vertex; tty rows print `0.0s`).
fn normalize(build: &mut Build) {
    for step in &mut build.steps {
        if step.status == super::model::StepStatus::Cached {
            step.duration_ms = None;
        }
    }
}

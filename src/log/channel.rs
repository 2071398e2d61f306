//! One stream of lines (a whole log, or one act job's lines): decides per line which format parser
//! reads it and splits the stream into builds.
//!
//! Formats are detected per line, not per file (prose, shell prompts and other tools' output are mixed
//! in): the active parser sees a line first; a line it ignores may start a build of another format.

use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::Build;
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
            for build in active.finish(end) {
                self.push(build);
            }
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
            for mut build in active.snapshot() {
                build.job = self.job.clone();
                normalize(&mut build);
                builds.push(build);
            }
        }
        builds
    }

    /// All builds; the open one is closed as the log ended.
    pub fn finish(mut self) -> Vec<Build> {
        self.close(End::Eof);
        self.done
    }
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

//! One recorded build as a timeline of today's instructions: a bar per instruction a step mapped to, in
//! its stage's lane, from start to end, with the critical path and each bar's slack (`critical_path`).
//!
//! The graph is the cache's own: a step waits for the step before it in its stage, the first step of a
//! `FROM <stage>` stage for that stage's last step, `COPY --from=<stage>` and `RUN --mount=…,from=<stage>`
//! for that stage's last step. Times come from the steps' `started`/`finished` where the log has them
//! (rawjson, Engine API, timestamped lines), else from durations laid along the graph.

use serde::Serialize;

use super::critical_path::{self, Task};
use super::shapes::{self, MappingCache};
use super::{built, severity, RecordedBuild};
use crate::dockerfile::{self, Base, Dockerfile};
use crate::log::{BuildResult, Step, StepStatus};

/// One instruction's bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bar {
    /// 1-based first and last line of today's instruction.
    pub line: u32,
    pub end_line: u32,
    /// The lane: index into `Timeline::lanes`.
    pub lane: usize,
    pub keyword: String,
    /// The instruction as the builder printed it (untrusted log text), else as written today.
    pub text: String,
    pub status: StepStatus,
    /// Milliseconds from the build's first start.
    pub start_ms: u64,
    pub end_ms: u64,
    pub slack_ms: u64,
    pub critical: bool,
    /// The start is the log's, not laid out from durations.
    pub measured: bool,
    /// Of a failed step, its headline (untrusted log text): the output line that reads like the cause,
    /// else the builder's error.
    pub failure: Option<String>,
}

impl Bar {
    pub fn length_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// A build's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub build: String,
    pub result: BuildResult,
    /// Stage names, one lane each, in Dockerfile order (only stages with a bar).
    pub lanes: Vec<String>,
    /// In Dockerfile order.
    pub bars: Vec<Bar>,
    /// Indexes into `bars`, first to last.
    pub path: Vec<usize>,
    pub total_ms: u64,
}

impl Timeline {
    /// The bar of the instruction starting at 1-based `line`.
    pub fn at_line(&self, line: u32) -> Option<&Bar> {
        self.bars.iter().find(|b| b.line == line)
    }

    /// The wall time the critical path's steps take themselves (their bars, not the waits between).
    pub fn path_ms(&self) -> u64 {
        self.path.iter().filter_map(|&i| self.bars.get(i)).map(Bar::length_ms).fold(0, u64::saturating_add)
    }
}

/// The timeline of `rb` mapped onto `dockerfile_text`.
pub fn of_build(dockerfile_text: &str, rb: &RecordedBuild, cache: &mut MappingCache) -> Timeline {
    let df = dockerfile::parse(dockerfile_text);
    let mapping = built::map(&df, shapes::df_print(&df), &rb.build.steps, rb.built_dockerfile.as_deref(), cache);
    let mut runs: Vec<Option<Run>> = vec![None; df.instructions.len()];
    for (step, m) in rb.build.steps.iter().zip(&mapping.steps) {
        if let Some(slot) = m.as_ref().and_then(|m| runs.get_mut(m.instruction)) {
            let run = Run::of(step);
            *slot = Some(slot.take().map_or(run.clone(), |had| had.merge(run)));
        }
    }
    let nodes: Vec<(usize, Run)> = runs.into_iter().enumerate().filter_map(|(i, r)| r.map(|r| (i, r))).collect();
    let tasks = graph(&df, &nodes);
    let schedule = critical_path::schedule(&tasks);
    let mut lanes: Vec<(usize, String)> = Vec::new();
    let mut bars = Vec::with_capacity(nodes.len());
    for ((i, run), placed) in nodes.into_iter().zip(&schedule.tasks) {
        let Some(ins) = df.instructions.get(i) else { continue };
        let stage = ins.stage.unwrap_or(0);
        let lane = match lanes.iter().position(|(s, _)| *s == stage) {
            Some(l) => l,
            None => {
                lanes.push((stage, df.stages.get(stage).map_or_else(|| "stage-0".to_string(), |s| s.buildkit_name())));
                lanes.len() - 1
            }
        };
        bars.push(Bar {
            line: ins.line,
            end_line: ins.end_line,
            lane,
            keyword: ins.keyword.clone(),
            text: run.text.unwrap_or_else(|| ins.joined.clone()),
            status: run.status,
            start_ms: placed.start_ms,
            end_ms: placed.end_ms,
            slack_ms: placed.slack_ms,
            critical: placed.critical,
            measured: placed.measured,
            failure: run.failure,
        });
    }
    let result = if rb.live { BuildResult::Running } else { rb.build.result };
    let lanes = lanes.into_iter().map(|(_, name)| name).collect();
    Timeline { build: rb.id.clone(), result, lanes, bars, path: schedule.path, total_ms: schedule.total_ms }
}

/// What the steps of one instruction did (several with a multi-platform build: merged).
#[derive(Debug, Clone)]
struct Run {
    text: Option<String>,
    status: StepStatus,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    duration_ms: Option<u64>,
    failure: Option<String>,
}

impl Run {
    fn of(step: &Step) -> Run {
        Run {
            text: step.instruction.clone(),
            status: step.status,
            start_ms: step.started.as_deref().and_then(unix_ms),
            end_ms: step.finished.as_deref().and_then(unix_ms),
            duration_ms: step.duration_ms,
            failure: (step.status == StepStatus::Error)
                .then(|| step.cause.as_ref().map(|c| c.text.clone()).or_else(|| step.error.clone()))
                .flatten(),
        }
    }

    /// The span of both, the worse status, the longer duration.
    fn merge(self, other: Run) -> Run {
        let earliest = |a: Option<u64>, b: Option<u64>| a.into_iter().chain(b).min();
        let latest = |a: Option<u64>, b: Option<u64>| a.into_iter().chain(b).max();
        Run {
            status: if severity(other.status) > severity(self.status) { other.status } else { self.status },
            start_ms: earliest(self.start_ms, other.start_ms),
            end_ms: latest(self.end_ms, other.end_ms),
            duration_ms: latest(self.duration_ms, other.duration_ms),
            text: self.text.or(other.text),
            failure: self.failure.or(other.failure),
        }
    }
}

/// Unix milliseconds of an RFC 3339 time (none before 1970).
fn unix_ms(rfc3339: &str) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    u64::try_from(t.timestamp_millis()).ok()
}

/// The tasks of `nodes` (instruction index, run; in instruction order) with the stage graph's edges.
fn graph(df: &Dockerfile, nodes: &[(usize, Run)]) -> Vec<Task> {
    let node_of = |ins: usize| nodes.binary_search_by_key(&ins, |(i, _)| *i).ok();
    let mut tasks: Vec<Task> = Vec::with_capacity(nodes.len());
    for (n, (i, run)) in nodes.iter().enumerate() {
        let stage = df.instructions.get(*i).and_then(|x| x.stage);
        let mut deps = Vec::new();
        let before = (0..n).rev().find(|&m| nodes.get(m).and_then(|(j, _)| df.instructions.get(*j)).and_then(|x| x.stage) == stage);
        match (before, stage) {
            (Some(m), _) => deps.push(m),
            (None, Some(s)) => deps.extend(df.stages.get(s).and_then(|st| stage_source(&st.base)).and_then(|b| tail(df, b, n, &node_of))),
            (None, None) => {}
        }
        for source in sources(df, *i) {
            deps.extend(tail(df, source, n, &node_of));
        }
        tasks.push(Task { deps, start_ms: run.start_ms, end_ms: run.end_ms, duration_ms: run.duration_ms });
    }
    tasks
}

fn stage_source(base: &Base) -> Option<usize> {
    match base {
        Base::Stage(s) => Some(*s),
        _ => None,
    }
}

/// The last node (below `below`) of stage `stage`, else of the stage it is built on, and so on.
fn tail(df: &Dockerfile, mut stage: usize, below: usize, node_of: &dyn Fn(usize) -> Option<usize>) -> Option<usize> {
    for _ in 0..=df.stages.len() {
        let st = df.stages.get(stage)?;
        let last = (st.from..=st.last).rev().filter_map(node_of).find(|&n| n < below);
        if last.is_some() {
            return last;
        }
        stage = stage_source(&st.base)?;
    }
    None
}

/// The stages instruction `i` reads from: `COPY/ADD --from=<stage>`, `RUN --mount=…,from=<stage>`.
fn sources(df: &Dockerfile, i: usize) -> Vec<usize> {
    let Some(ins) = df.instructions.get(i) else { return Vec::new() };
    let stage = ins.stage.and_then(|s| df.stages.get(s));
    let mut out: Vec<usize> =
        stage.into_iter().flat_map(|s| &s.copies_from).filter(|c| c.instruction == i).filter_map(|c| stage_source(&c.source)).collect();
    if ins.effective_keyword() == "RUN" {
        let current = ins.stage.unwrap_or(0);
        for mount in ins.flags.iter().filter(|f| f.name == "mount").filter_map(|f| f.value.as_deref()) {
            let from = mount.split(',').find_map(|kv| kv.strip_prefix("from="));
            let resolved = from.and_then(|f| df.stage_named(f).or_else(|| f.parse::<usize>().ok())).filter(|&s| s < current);
            out.extend(resolved);
        }
    }
    out
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;

//! `buildlens debug`: which failed step to step into (this file) and the docker commands that prepare
//! the state just before it (`plan`). Pure: recorded builds, their mapping and today's Dockerfile in, a
//! choice or a clear error out; the CLI (`cli::debug_cmd`) does the I/O and runs the commands.

pub mod failure;
pub mod plan;

use crate::analysis::RecordedBuild;
use crate::dockerfile::Dockerfile;
use crate::log::{BuildResult, StepStatus};
use crate::mapping;

/// The failed step chosen: indexes into the builds, the build's steps and the Dockerfile's instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    pub build: usize,
    pub step: usize,
    pub instruction: usize,
    /// The instruction's text changed since that build (what is rebuilt is today's text).
    pub changed: bool,
}

/// Why there is nothing to step into; the text says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DebugError {
    #[error("no recorded build of this Dockerfile in the store: record one with `buildlens record -- docker build …`")]
    NoRecord,
    #[error("line {0} is not inside an instruction of the Dockerfile")]
    NoInstruction(u32),
    #[error(
        "the last recorded build ({build}) {how}: nothing failed to step into; give the line of a step that failed in an earlier build"
    )]
    LastDidNotFail { build: String, how: &'static str },
    #[error("the last recorded build ({0}) failed, but no failed step maps to a line of today's Dockerfile (see `buildlens report`)")]
    Unmapped(String),
    #[error("the step at line {line} never failed in the {builds} recorded build(s){}", failed_elsewhere(.failed))]
    NeverFailed { line: u32, builds: usize, failed: Vec<u32> },
    #[error("the failed step at line {0} is a FROM (the base image or its ONBUILD triggers): there is no state before it to step into")]
    FromFailed(u32),
    #[error("the failed step at line {line} is step {k} of a classic-builder log, and the log has no image id ` ---> <id>` for step {prev}: the state before it is unknown; run the build again with `buildlens record`")]
    NoImageId { line: u32, k: u32, prev: u32 },
    #[error("{0} records are not supported by `buildlens debug` yet (docker build with BuildKit or the classic builder are)")]
    Unsupported(&'static str),
    #[error("the record does not say which build context it used (an imported log, or a build run by a script): record it with `buildlens record -- docker build …` to debug it")]
    NoContext,
}

/// The failed step to debug: at `line` (the latest build where the instruction there failed), else the
/// failed step of the last build. `builds` are oldest first.
pub fn choose(df: &Dockerfile, builds: &[RecordedBuild], line: Option<u32>) -> Result<Failed, DebugError> {
    let last = builds.len().checked_sub(1).ok_or(DebugError::NoRecord)?;
    let Some(line) = line else { return failed_in_last(df, builds, last) };
    let instruction = df.instructions.iter().position(|i| i.line <= line && line <= i.end_line).ok_or(DebugError::NoInstruction(line))?;
    for b in (0..builds.len()).rev() {
        if let Some(f) = failures(df, builds, b).into_iter().find(|f| f.instruction == instruction) {
            return Ok(f);
        }
    }
    let first_line = df.instructions.get(instruction).map_or(line, |i| i.line);
    let failed = failures(df, builds, last).iter().filter_map(|f| df.instructions.get(f.instruction)).map(|i| i.line).collect();
    Err(DebugError::NeverFailed { line: first_line, builds: builds.len(), failed })
}

/// `; the last build failed at line 3, 7`, or nothing.
fn failed_elsewhere(lines: &[u32]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = lines.iter().map(u32::to_string).collect();
    format!("; the last build failed at line {}", lines.join(", "))
}

impl DebugError {
    /// The line worth trying instead, if the error knows one (`buildlens debug <path>:<line>`).
    pub fn suggested_line(&self) -> Option<u32> {
        match self {
            DebugError::NeverFailed { failed, .. } => failed.first().copied(),
            _ => None,
        }
    }
}

fn failed_in_last(df: &Dockerfile, builds: &[RecordedBuild], last: usize) -> Result<Failed, DebugError> {
    let rb = &builds[last];
    if let Some(f) = failures(df, builds, last).into_iter().next() {
        return Ok(f);
    }
    let how = match rb.build.result {
        BuildResult::Failed => return Err(DebugError::Unmapped(rb.id.clone())),
        BuildResult::Success => "succeeded",
        BuildResult::Canceled => "was canceled",
        BuildResult::Running => "had not finished",
    };
    Err(DebugError::LastDidNotFail { build: rb.id.clone(), how })
}

/// The failed steps of build `b` that map to an instruction, in log order.
fn failures(df: &Dockerfile, builds: &[RecordedBuild], b: usize) -> Vec<Failed> {
    let Some(rb) = builds.get(b) else { return Vec::new() };
    let m = mapping::map_build(df, &rb.build);
    let failed = rb.build.steps.iter().zip(&m.steps).enumerate().filter(|(_, (s, _))| s.status == StepStatus::Error);
    failed
        .filter_map(|(i, (_, m))| m.as_ref().map(|m| Failed { build: b, step: i, instruction: m.instruction, changed: m.changed }))
        .collect()
}

/// `path/Dockerfile:16` → (`path/Dockerfile`, Some(16)); `path/Dockerfile` → (it, None).
pub fn split_target(arg: &str) -> (&str, Option<u32>) {
    match arg.rsplit_once(':') {
        Some((path, line)) if !path.is_empty() => match line.parse::<u32>() {
            Ok(n) if n > 0 => (path, Some(n)),
            _ => (arg, None),
        },
        _ => (arg, None),
    }
}

#[cfg(test)]
mod tests;

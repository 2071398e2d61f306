//! Terminal rendering of parsed logs: one block per build, one row per step.

use std::io::{self, Write};

use crate::log::{Build, ParsedLog, Step, StepStatus};
use crate::present;

/// Prints every build of a parsed log; internal steps only with `all`.
pub fn parsed_log(out: &mut impl Write, parsed: &ParsedLog, all: bool) -> io::Result<()> {
    let count = parsed.builds.len();
    for (i, build) in parsed.builds.iter().enumerate() {
        build_block(out, build, i + 1, Some(count), all)?;
    }
    for p in &parsed.problems {
        writeln!(out, "{}", p.message)?;
    }
    Ok(())
}

/// One build: `build i/N: ...` (`build i: ...` when the count is not known yet), its steps, errors, problems.
pub fn build_block(out: &mut impl Write, build: &Build, i: usize, count: Option<usize>, all: bool) -> io::Result<()> {
    let steps = build.steps.iter().filter(|s| all || s.is_instruction());
    let total = build.steps.iter().filter(|s| s.is_instruction()).count();
    let cached = build.steps.iter().filter(|s| s.is_instruction() && s.status == StepStatus::Cached).count();
    match count {
        Some(count) => write!(out, "build {i}/{count}: ")?,
        None => write!(out, "build {i}: ")?,
    }
    write!(out, "{}, {}", build.format.as_str(), result_word(build))?;
    write!(out, ", {total} steps ({cached} cached), bytes {}-{}", build.span[0], build.span[1])?;
    if let Some(job) = &build.job {
        write!(out, ", job {job}")?;
    }
    if let Some(df) = &build.dockerfile {
        write!(out, ", from {df}")?;
    }
    writeln!(out)?;
    for step in steps {
        step_row(out, step)?;
    }
    if let Some(e) = &build.error {
        writeln!(out, "  error: {e}")?;
    }
    for p in &build.problems {
        writeln!(out, "  problem: {}", p.message)?;
    }
    writeln!(out)
}

fn result_word(build: &Build) -> &'static str {
    match build.result {
        crate::log::BuildResult::Success => "succeeded",
        crate::log::BuildResult::Failed => "failed",
        crate::log::BuildResult::Canceled => "canceled",
        crate::log::BuildResult::Running => "running when the log ended",
    }
}

fn step_row(out: &mut impl Write, step: &Step) -> io::Result<()> {
    let status = match step.status {
        StepStatus::Executed => "executed",
        StepStatus::Cached => "cached",
        StepStatus::Error => "ERROR",
        StepStatus::Canceled => "canceled",
        StepStatus::Running => "running",
    };
    let time = step.duration_ms.map(present::duration_ms).unwrap_or_else(|| "-".into());
    write!(out, "  {status:<8} {time:>7}  {}", step.name)?;
    if step.output.lines > 0 {
        write!(out, "  ({} lines at {}-{})", step.output.lines, step.output.start, step.output.end)?;
    }
    writeln!(out)?;
    if let Some(e) = &step.error {
        writeln!(out, "  {:17}{e}", "")?;
    }
    if let Some([a, b]) = step.dockerfile_lines {
        writeln!(out, "  {:17}Dockerfile lines {a}-{b}", "")?;
    }
    Ok(())
}

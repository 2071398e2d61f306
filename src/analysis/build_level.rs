//! What a build says of a Dockerfile line without a step there: a failure before any step ran (a base
//! image that could not be resolved, a parse error: the error block's `Dockerfile:N` / `>>>` lines or the
//! error's `line N`), and build checks' warnings (`LegacyKeyValueFormat … (line 12)`), which sit on
//! instructions that make no step at all (ENV, CMD).

use super::{run_of, CheckWarning, InstructionView, RecordedBuild, StepRun};
use crate::dockerfile::Dockerfile;
use crate::log::{error_block, BuildResult, OutputRange, Step, StepStatus};
use crate::mapping::Mapping;

/// Puts a failed build's error on the instruction its error lines name, unless a failed step of the
/// build already landed on an instruction (then the error is there, maybe moved by edits since).
pub(super) fn place_error(df: &Dockerfile, rb: &RecordedBuild, mapping: &Mapping, views: &mut [InstructionView]) {
    let build = &rb.build;
    let Some([first, _]) = build.error_lines.filter(|_| build.result == BuildResult::Failed && belongs(rb, mapping)) else {
        return;
    };
    let failed = |(s, m): &(&Step, &Option<crate::mapping::StepMapping>)| s.status == StepStatus::Error && m.is_some();
    if build.steps.iter().zip(&mapping.steps).any(|p| failed(&p)) {
        return;
    }
    let Some(view) = df.instruction_at_line(first).and_then(|i| views.get_mut(i)) else {
        return;
    };
    let run = error_run(rb);
    match view.history.last_mut() {
        Some(prev) if prev.build == rb.id => {
            prev.status = StepStatus::Error;
            prev.error = prev.error.take().or(run.error);
            prev.exit_code = prev.exit_code.or(run.exit_code);
        }
        _ => view.history.push(run),
    }
}

/// False for a build whose steps did not match this Dockerfile (the mapping gate dropped them all): its
/// line numbers are another file's.
fn belongs(rb: &RecordedBuild, mapping: &Mapping) -> bool {
    !rb.build.steps.iter().any(Step::is_instruction) || mapping.steps.iter().any(Option::is_some)
}

/// The run a build-level failure shows: the failed (unmapped) step's error and output when there is
/// one (`[internal] load metadata for …`), else the build's final error line.
fn error_run(rb: &RecordedBuild) -> StepRun {
    let build = &rb.build;
    if let Some(step) = build.steps.iter().rev().find(|s| s.status == StepStatus::Error) {
        let mut run = run_of(rb, step, false);
        run.error = run.error.or_else(|| build.error.as_deref().map(final_text));
        return run;
    }
    let mut step = Step::named(String::new());
    step.status = StepStatus::Error;
    step.error = build.error.as_deref().map(final_text);
    step.exit_code = build.error.as_deref().and_then(error_block::exit_code);
    step.output = OutputRange { start: build.span[1], end: build.span[1], lines: 0 };
    run_of(rb, &step, false)
}

/// `ERROR: failed to build: failed to solve: dockerfile parse error on line 3: …` → from `dockerfile
/// parse error…`: the wrappers say nothing a user needs on the line.
fn final_text(message: &str) -> String {
    let mut s = error_block::strip_annotation(message);
    for prefix in ["ERROR: ", "error: ", "failed to build: ", "failed to solve: ", "failed to solve with frontend dockerfile.v0: "] {
        s = s.strip_prefix(prefix).unwrap_or(s);
    }
    s.to_string()
}

/// The latest build's check warnings, each on the instruction whose lines hold it.
pub(super) fn place_warnings(df: &Dockerfile, latest: &RecordedBuild, mapping: &Mapping, views: &mut [InstructionView]) {
    if !belongs(latest, mapping) {
        return;
    }
    for w in &latest.build.warnings {
        let Some(view) = df.instruction_at_line(w.line).and_then(|i| views.get_mut(i)) else {
            continue;
        };
        let check = CheckWarning { build: latest.id.clone(), line: w.line, code: w.code.clone(), message: w.message.clone() };
        if !view.checks.contains(&check) {
            view.checks.push(check);
        }
    }
}

#[cfg(test)]
#[path = "build_level_tests.rs"]
mod tests;

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
    let mapped = mapping.steps.iter().any(Option::is_some);
    (!rb.build.steps.iter().any(Step::is_instruction) || mapped) && !failed_in_another_service(rb, mapping)
}

/// A compose or bake build that failed in a service (target) none of whose steps landed on this
/// Dockerfile while another service's did: the error's line numbers count that service's file. The
/// service is `mapping::failed_service`'s, the one `mapping::keep_services` drops the same facts for.
fn failed_in_another_service(rb: &RecordedBuild, mapping: &Mapping) -> bool {
    let Some(service) = crate::mapping::failed_service(&rb.build) else {
        return false;
    };
    let mut landed = rb.build.steps.iter().zip(&mapping.steps).filter(|(_, m)| m.is_some()).map(|(s, _)| s.service.as_deref());
    landed.clone().any(|s| s.is_some()) && !landed.any(|s| s == Some(service.as_str()))
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

/// The latest build's check warnings, each on the instruction whose lines hold it. The line is the
/// Dockerfile's as it was built: moved by the shift the nearest error-block anchor shows (a failed step's
/// `>>>` line against where its text is today), and kept only when the instruction there is the one the
/// warning names (`"ENV key=value" should be used…` needs an ENV).
pub(super) fn place_warnings(df: &Dockerfile, latest: &RecordedBuild, mapping: &Mapping, views: &mut [InstructionView]) {
    if !belongs(latest, mapping) {
        return;
    }
    let anchors = anchors(&latest.build.steps, mapping);
    for w in &latest.build.warnings {
        let shift = anchors.iter().min_by_key(|(old, _)| old.abs_diff(w.line)).map_or(0, |(_, d)| *d);
        let Some(line) = u32::try_from(i64::from(w.line) + shift).ok() else { continue };
        let Some(i) = df.instruction_at_line(line) else { continue };
        let named = named_keyword(&w.message);
        let fits = df.instructions.get(i).is_some_and(|ins| named.is_none_or(|k| ins.keyword.eq_ignore_ascii_case(k)));
        let Some(view) = views.get_mut(i).filter(|_| fits) else { continue };
        let check = CheckWarning { build: latest.id.clone(), line, code: w.code.clone(), message: w.message.clone() };
        if !view.checks.contains(&check) {
            view.checks.push(check);
        }
    }
}

/// (line in the built file, today's line minus it) for each mapped step whose error block named its line.
fn anchors(steps: &[Step], mapping: &Mapping) -> Vec<(u32, i64)> {
    let pair = |(s, m): (&Step, &Option<crate::mapping::StepMapping>)| {
        let [old, _] = s.dockerfile_lines?;
        Some((old, i64::from(m.as_ref()?.line) - i64::from(old)))
    };
    steps.iter().zip(&mapping.steps).filter_map(pair).collect()
}

/// The first upper-case Dockerfile keyword the message names as a word (`'as' and 'FROM' keywords'`,
/// `"ENV key=value"`, `recommended for CMD`).
fn named_keyword(message: &str) -> Option<&'static str> {
    message.split(|c: char| !c.is_ascii_alphanumeric()).find_map(|word| crate::dockerfile::KEYWORDS.iter().find(|k| **k == word).copied())
}

#[cfg(test)]
#[path = "build_level_tests.rs"]
mod tests;

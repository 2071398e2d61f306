//! Checking a parse against what the generator wrote: a wrong result posts no figure.

use anyhow::{bail, Result};
use buildlens::log::{BuildResult, ParsedLog, Step, StepStatus};

use crate::text::{RUN_NAME, RUN_PROCESS};
use crate::{Generated, LogFormat};

/// The parse found what the generator wrote; else what is wrong.
pub fn check(parsed: &ParsedLog, generated: &Generated) -> Result<()> {
    if parsed.bytes != generated.bytes {
        bail!("read {} bytes of {}", parsed.bytes, generated.bytes);
    }
    let step = failing_step(parsed)?;
    check_step(step, generated)?;
    let failed = parsed.builds.iter().any(|b| b.result == BuildResult::Failed);
    if !failed {
        bail!("no build has result `failed`");
    }
    Ok(())
}

pub fn failing_step(parsed: &ParsedLog) -> Result<&Step> {
    let mut errors = parsed.builds.iter().flat_map(|b| &b.steps).filter(|s| s.status == StepStatus::Error);
    match (errors.next(), errors.next()) {
        (Some(step), None) => Ok(step),
        (Some(a), Some(b)) => bail!("two failing steps: {:?} and {:?}", a.name, b.name),
        (None, _) => {
            let problems: Vec<&str> = parsed.problems.iter().map(|p| p.message.as_str()).take(3).collect();
            bail!("failing step not found: {} builds, problems: {problems:?}", parsed.builds.len())
        }
    }
}

pub fn check_step(step: &Step, generated: &Generated) -> Result<()> {
    let want_position = (Some(5), Some(9));
    if (step.k, step.n) != want_position || !step.instruction.as_deref().unwrap_or("").contains("make -j2 toolchain/install") {
        bail!("the failing step is {:?} (k/n {:?}/{:?}), not step 5/9 `RUN make -j2 toolchain/install`", step.name, step.k, step.n);
    }
    if step.output.lines != generated.output_lines {
        bail!("the failing step has {} output lines, the log has {}", step.output.lines, generated.output_lines);
    }
    if step.exit_code != Some(2) || step.error.is_none() {
        bail!("the failing step's error is {:?} (exit code {:?}), want exit code 2", step.error, step.exit_code);
    }
    if generated.format == LogFormat::Plain {
        check_plain_step(step)?;
    }
    Ok(())
}

pub fn check_plain_step(step: &Step) -> Result<()> {
    if step.name != RUN_NAME || step.error.as_deref() != Some(RUN_PROCESS) {
        bail!("the failing step is {:?} with error {:?}", step.name, step.error);
    }
    if step.dockerfile_lines != Some([42, 42]) {
        bail!("the failing step's Dockerfile lines are {:?}, want 42-42", step.dockerfile_lines);
    }
    Ok(())
}

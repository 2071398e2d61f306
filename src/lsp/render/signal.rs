//! One signal per line (issue 14): whether an instruction shows as a code lens (loud: something to act
//! on or to notice) or as a short inlay hint (quiet), never both with the same words. Pure; `lenses`,
//! `hints` and `rebuild` all ask this module, so the two forms cannot drift apart.
//!
//! Loud: failed, running, slow (at least `explain.expensiveSeconds`), rebuilt with a cause, will rebuild.
//! Quiet: cached, quick, canceled, a first build's steps. With `buildlens.lenses: "all"` every last run is
//! a lens and no last-run hint is given. Every text starts with the symbol of its status, so a client
//! without colours still tells them apart: `✗` failed, `⏵` running, `↻` will rebuild, `⏱` ran, `✓`
//! cached, `⊘` canceled.

use std::collections::BTreeSet;

use crate::analysis::explain::{CauseKind, Explained, StepCause};
use crate::analysis::predict::Prediction;
use crate::analysis::{InstructionView, StepRun};
use crate::log::StepStatus;
use crate::lsp::config::{LensMode, Settings};

pub const FAILED: char = '✗';
pub const RUNNING: char = '⏵';
pub const WILL_REBUILD: char = '↻';
pub const RAN: char = '⏱';
pub const CACHED: char = '✓';
pub const CANCELED: char = '⊘';

/// What decides the form of each line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub mode: LensMode,
    /// An executed step at least this long is slow (loud).
    pub slow_ms: u64,
    /// 1-based lines of the instructions the buffer's edits (or changed files) will rebuild.
    pub will_rebuild: BTreeSet<u32>,
}

impl Policy {
    pub fn new(settings: &Settings, prediction: &Prediction) -> Policy {
        Policy {
            mode: settings.lenses,
            slow_ms: settings.explain.expensive_seconds.saturating_mul(1000),
            will_rebuild: prediction.rebuilds.iter().map(|r| r.line).collect(),
        }
    }

    /// Whether the last run of `view` is shown as a lens (else, when quiet, as a hint). A line that will
    /// rebuild shows that instead (its lens opens the last run's log), so neither form repeats it.
    pub fn last_run_lens(&self, view: &InstructionView, explained: Option<&Explained>) -> bool {
        let Some(run) = &view.last else { return false };
        !self.will_rebuild.contains(&view.line) && (self.mode == LensMode::All || loud(run, cause_of(view, explained), self.slow_ms))
    }

    /// Whether the last run of `view` is shown as a quiet hint.
    pub fn last_run_hint(&self, view: &InstructionView, explained: Option<&Explained>) -> bool {
        view.last.is_some() && !self.will_rebuild.contains(&view.line) && !self.last_run_lens(view, explained)
    }
}

/// The cause of the last run of `view`, when the explanation is of that run's build.
pub fn cause_of<'a>(view: &InstructionView, explained: Option<&'a Explained>) -> Option<&'a StepCause> {
    let run = view.last.as_ref()?;
    explained.filter(|e| e.to == run.build).and_then(|e| e.at_line(view.line))
}

/// A rebuild with a cause worth saying (a first build's steps ran because nothing came before).
pub fn rebuilt<'a>(run: &StepRun, cause: Option<&'a StepCause>) -> Option<&'a StepCause> {
    cause.filter(|c| run.status == StepStatus::Executed && c.cause.kind != CauseKind::NoEarlierBuild)
}

/// Something to act on or to notice.
pub fn loud(run: &StepRun, cause: Option<&StepCause>, slow_ms: u64) -> bool {
    match run.status {
        StepStatus::Error | StepStatus::Running => true,
        StepStatus::Cached | StepStatus::Canceled => false,
        StepStatus::Executed => {
            let slowest = run.platforms.iter().filter_map(|p| p.duration_ms).chain(run.duration_ms).max();
            rebuilt(run, cause).is_some() || slowest.is_some_and(|ms| ms >= slow_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::explain::Cause;
    use crate::workspace::words::fixtures::{line_view, run};

    fn cause(line: u32, kind: CauseKind) -> StepCause {
        StepCause {
            line,
            end_line: line,
            keyword: "RUN".into(),
            instruction: "RUN make".into(),
            status: StepStatus::Executed,
            duration_ms: Some(400),
            cause: Cause { kind, root_line: line, detail: String::new() },
            root_kind: kind,
            root_keyword: "RUN".into(),
        }
    }

    #[test]
    fn loud_is_failed_running_slow_or_rebuilt_with_a_cause() {
        let slow = 60_000;
        assert!(loud(&run(StepStatus::Error, None), None, slow));
        assert!(loud(&run(StepStatus::Running, None), None, slow));
        assert!(!loud(&run(StepStatus::Cached, None), None, slow));
        assert!(!loud(&run(StepStatus::Canceled, None), None, slow));
        assert!(!loud(&run(StepStatus::Executed, Some(59_999)), None, slow), "quick");
        assert!(loud(&run(StepStatus::Executed, Some(60_000)), None, slow), "slow");
        let quick = run(StepStatus::Executed, Some(400));
        assert!(loud(&quick, Some(&cause(3, CauseKind::InputsChanged)), slow), "rebuilt: changed inputs");
        assert!(!loud(&quick, Some(&cause(3, CauseKind::NoEarlierBuild)), slow), "a first build is no rebuild");
        let arm = crate::workspace::words::fixtures::platforms(
            run(StepStatus::Executed, None),
            &[("linux/amd64", StepStatus::Executed, Some(1_000)), ("linux/arm64", StepStatus::Executed, Some(90_000))],
        );
        assert!(loud(&arm, None, slow), "the slowest platform counts");
    }

    #[test]
    fn each_line_takes_one_form() {
        let explained = Explained {
            from: Some("b0".into()),
            to: "20261101T100000.000Z-0001".into(),
            steps: vec![cause(4, CauseKind::InputsChanged)],
            advice: vec![],
        };
        let (cached, failed, rebuilt) = (
            line_view(2, run(StepStatus::Cached, None)),
            line_view(3, run(StepStatus::Error, None)),
            line_view(4, run(StepStatus::Executed, Some(400))),
        );
        let auto = Policy { mode: LensMode::Auto, slow_ms: 60_000, will_rebuild: BTreeSet::new() };
        let forms = |p: &Policy, v: &InstructionView| (p.last_run_lens(v, Some(&explained)), p.last_run_hint(v, Some(&explained)));
        assert_eq!(forms(&auto, &cached), (false, true), "cached: a quiet hint");
        assert_eq!(forms(&auto, &failed), (true, false), "failed: a lens");
        assert_eq!(forms(&auto, &rebuilt), (true, false), "rebuilt with a cause: a lens");
        let other = Explained { to: "another".into(), ..explained.clone() };
        assert_eq!((auto.last_run_lens(&rebuilt, Some(&other)), auto.last_run_hint(&rebuilt, Some(&other))), (false, true));
        let all = Policy { mode: LensMode::All, ..auto.clone() };
        assert_eq!(forms(&all, &cached), (true, false), "all: every run a lens, no hint");
        let editing = Policy { will_rebuild: [2, 3].into(), ..auto };
        assert_eq!(forms(&editing, &cached), (false, false), "will rebuild says it instead");
        assert_eq!(forms(&editing, &failed), (false, false));
        assert_eq!(forms(&editing, &rebuilt), (true, false));
    }
}

//! Code lenses: what the last recorded build did at an instruction with something to act on or to notice
//! (`signal::Policy` decides which; quiet lines get an inlay hint instead), clickable to open the log at
//! that step (`buildlens.openLog`). Pure: the snapshot's `Annotated` + policy + clock in, LSP values out
//! (`code_lens::document`: every lens of a snapshot).

use chrono::{DateTime, Utc};
use serde_json::json;
use tower_lsp_server::ls_types::{CodeLens, Command, Position, Range};

use crate::analysis::explain::{CauseKind, Explained, StepCause};
use crate::analysis::{Annotated, InstructionView, StepRun};
use crate::log::StepStatus;
use crate::lsp::render::signal::{self, Policy};
use crate::present;
use crate::workspace::words as view;

/// The command a lens runs: arguments `[{"path": <log>, "offset": <byte>}]`.
pub const OPEN_LOG: &str = "buildlens.openLog";

/// Arguments of `buildlens.openLog`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenLog {
    pub path: std::path::PathBuf,
    /// Byte offset of the step's output in the log.
    pub offset: u64,
    /// 1-based line in the log, when the sender knew it (the server works it out otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// The last-run lenses of a document (the will-rebuild ones are `rebuild::lenses`).
pub fn lenses(annotated: &Annotated, policy: &Policy, now: DateTime<Utc>) -> Vec<CodeLens> {
    annotated.instructions.iter().flat_map(|view| instruction_lenses(view, annotated.explain.as_ref(), policy, now)).collect()
}

fn instruction_lenses(view: &InstructionView, explained: Option<&Explained>, policy: &Policy, now: DateTime<Utc>) -> Vec<CodeLens> {
    let line = view.line.saturating_sub(1);
    let range = Range::new(Position::new(line, 0), Position::new(line, 0));
    let mut out = Vec::new();
    if let Some(run) = view.last.as_ref().filter(|_| policy.last_run_lens(view, explained)) {
        let cause = signal::cause_of(view, explained);
        out.push(CodeLens { range, command: Some(open_log(title_with_cause(run, cause, now), run)), data: None });
    }
    // Changed text the prediction did not turn into a rebuild still deserves a word.
    if view.changed_since_build && !policy.will_rebuild.contains(&view.line) {
        let command = Command { title: "↻ changed since build".into(), command: String::new(), arguments: None };
        out.push(CodeLens { range, command: Some(command), data: None });
    }
    out
}

/// `⏱ 47m12s · executed · 1.2 GB · 2h ago` (the layer size when a snapshot knows it), `✓ cached`, `✗ failed after 3m04s (exit 2): <error line>`,
/// `⏵ running 3m12s…`, `⊘ canceled`.
/// A multi-platform build gives each platform's time: `⏱ amd64 2m10s · arm64 19m32s · executed`.
pub fn title(run: &StepRun, now: DateTime<Utc>) -> String {
    let dur = view::elapsed_ms(run, now).map(present::duration_ms);
    let platforms = view::platforms(run);
    match (run.status, platforms) {
        (StepStatus::Cached, _) => "✓ cached".to_string(),
        (StepStatus::Executed, _) | (StepStatus::Error, None) | (_, None) => single_title(run, dur, now),
        (StepStatus::Error, Some(p)) => {
            let why = view::headline(run).map(|h| format!(": {h}")).unwrap_or_default();
            format!("✗ failed · {p}{}{why}", view::exit_suffix(run))
        }
        (_, Some(p)) => format!("{} · {p}", single_title(run, dur, now)),
    }
}

fn single_title(run: &StepRun, dur: Option<String>, now: DateTime<Utc>) -> String {
    match run.status {
        StepStatus::Executed => {
            let time = view::platforms(run).or(dur);
            let mut parts = vec![format!("⏱ {}", time.as_deref().unwrap_or("?")), "executed".to_string()];
            parts.extend(view::layer_size(run));
            parts.extend(view::ago(run, now));
            parts.join(" · ")
        }
        StepStatus::Cached => "✓ cached".to_string(),
        StepStatus::Error => {
            let after = dur.map(|d| format!(" after {d}")).unwrap_or_default();
            let why = view::headline(run).map(|h| format!(": {h}")).unwrap_or_default();
            format!("✗ failed{after}{}{why}", view::exit_suffix(run))
        }
        StepStatus::Canceled => "⊘ canceled".to_string(),
        StepStatus::Running => match dur {
            Some(d) => format!("⏵ running {d}…"),
            None => "⏵ running…".to_string(),
        },
    }
}

/// The title with the cause of a rebuilt step in place of `executed`: `⏱ 6.1s · rebuilt: line 8 COPY
/// changed inputs`, `⏱ 0.1s · rebuilt: changed inputs` (the root itself). A first build is no rebuild:
/// its steps keep `executed`.
pub fn title_with_cause(run: &StepRun, cause: Option<&StepCause>, now: DateTime<Utc>) -> String {
    let plain = title(run, now);
    let Some(cause) = signal::rebuilt(run, cause) else {
        return plain;
    };
    let why = match cause.cause.kind {
        CauseKind::ParentRebuilt => format!("rebuilt: line {} {} {}", cause.cause.root_line, cause.root_keyword, cause.root_kind.short()),
        kind => format!("rebuilt: {}", kind.short()),
    };
    plain.replacen(" · executed", &format!(" · {why}"), 1)
}

/// A command that opens the log of `run` at its step, titled `title`.
pub fn open_log(title: String, run: &StepRun) -> Command {
    // The title quotes the log (the failure's line, platform names): hidden characters shown, no icons.
    let title = present::no_icons(&present::visible(&title)).into_owned();
    let args = OpenLog { path: run.log_path.clone(), offset: run.output.start, line: None };
    Command { title, command: OPEN_LOG.to_string(), arguments: Some(vec![json!(args)]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::words::fixtures::{line_view, now, run};

    fn check(mut r: StepRun, edit: impl FnOnce(&mut StepRun), expect: &str) {
        edit(&mut r);
        assert_eq!(title(&r, now()), expect);
    }

    #[test]
    fn titles() {
        check(run(StepStatus::Executed, Some(2_832_000)), |_| {}, "⏱ 47m12s · executed · 2h ago");
        check(run(StepStatus::Executed, Some(400)), |r| r.started = None, "⏱ 0.4s · executed");
        check(run(StepStatus::Executed, Some(2_832_000)), |r| r.size_bytes = Some(1_200_000_000), "⏱ 47m12s · executed · 1.2 GB · 2h ago");
        check(run(StepStatus::Executed, Some(400)), |r| (r.started, r.size_bytes) = (None, Some(0)), "⏱ 0.4s · executed");
        check(run(StepStatus::Cached, None), |_| {}, "✓ cached");
        check(
            run(StepStatus::Error, Some(184_000)),
            |r| {
                r.exit_code = Some(2);
                r.error = Some("process \"/bin/sh -c make\" did not complete successfully: exit code: 2".into());
                r.excerpt = vec!["hello.c:12:5: error: no member".into(), "make[3]: *** [Makefile:1234: all] Error 2".into()];
                r.cause = Some(crate::log::CauseLine { text: r.excerpt[0].clone(), offset: 0 });
            },
            "✗ failed after 3m04s (exit 2): hello.c:12:5: error: no member",
        );
        check(
            run(StepStatus::Error, Some(184_000)),
            |r| {
                r.exit_code = Some(2);
                r.error = Some("process \"/bin/sh -c make\" did not complete successfully: exit code: 2".into());
                r.excerpt = vec!["make[3]: *** [Makefile:1234: all] Error 2".into()];
            },
            "✗ failed after 3m04s (exit 2): process \"/bin/sh -c make\" did not complete successfully: exit code: 2",
        );
        check(run(StepStatus::Error, None), |_| {}, "✗ failed");
        check(run(StepStatus::Running, None), |r| r.started = Some("2026-11-01T12:01:48Z".into()), "⏵ running 3m12s…");
        check(run(StepStatus::Running, None), |r| r.started = None, "⏵ running…");
        check(run(StepStatus::Canceled, None), |_| {}, "⊘ canceled");
    }

    #[test]
    fn multi_platform_titles_give_each_platform() {
        use crate::workspace::words::fixtures::platforms;
        let (amd, arm) = ("linux/amd64", "linux/arm64");
        let mut r = platforms(
            run(StepStatus::Executed, Some(1_172_400)),
            &[(amd, StepStatus::Executed, Some(130_000)), (arm, StepStatus::Executed, Some(1_172_400))],
        );
        r.started = None;
        assert_eq!(title(&r, now()), "⏱ amd64 2m10s · arm64 19m32s · executed");
        let r = platforms(r, &[(amd, StepStatus::Cached, None), (arm, StepStatus::Executed, Some(9_000))]);
        assert_eq!(title(&r, now()), "⏱ amd64 cached · arm64 9.0s · executed");
        let mut failed = platforms(
            run(StepStatus::Error, Some(184_000)),
            &[(amd, StepStatus::Executed, Some(2_000)), ("linux/arm/v7", StepStatus::Error, Some(184_000))],
        );
        failed.exit_code = Some(2);
        assert_eq!(title(&failed, now()), "✗ failed · amd64 2.0s · arm/v7 failed 3m04s (exit 2)");
        let both = platforms(run(StepStatus::Error, None), &[(amd, StepStatus::Error, None), (arm, StepStatus::Error, None)]);
        assert_eq!(title(&both, now()), "✗ failed", "alike platforms without times say nothing more");
        let one = platforms(run(StepStatus::Executed, Some(400)), &[(arm, StepStatus::Executed, Some(400))]);
        assert_eq!(title(&one, now()), "⏱ 0.4s · executed · 2h ago");
    }

    #[test]
    fn rebuilt_steps_say_why_with_the_root_line() {
        use crate::analysis::explain::Cause;
        let cause = |kind, root_line, root_kind, root_keyword: &str| StepCause {
            line: 9,
            end_line: 13,
            keyword: "RUN".into(),
            instruction: "RUN make".into(),
            status: StepStatus::Executed,
            duration_ms: Some(6_100),
            cause: Cause { kind, root_line, detail: String::new() },
            root_kind,
            root_keyword: root_keyword.into(),
        };
        let mut r = run(StepStatus::Executed, Some(6_100));
        r.started = None;
        let c = cause(CauseKind::ParentRebuilt, 8, CauseKind::InputsChanged, "COPY");
        assert_eq!(title_with_cause(&r, Some(&c), now()), "⏱ 6.1s · rebuilt: line 8 COPY changed inputs");
        let c = cause(CauseKind::BuildArgChanged, 9, CauseKind::BuildArgChanged, "RUN");
        assert_eq!(title_with_cause(&r, Some(&c), now()), "⏱ 6.1s · rebuilt: build arg changed");
        assert_eq!(title_with_cause(&r, None, now()), "⏱ 6.1s · executed");
        let first = cause(CauseKind::NoEarlierBuild, 9, CauseKind::NoEarlierBuild, "RUN");
        assert_eq!(title_with_cause(&r, Some(&first), now()), "⏱ 6.1s · executed", "a first build is no rebuild");
        let view = InstructionView {
            line: 9,
            end_line: 13,
            keyword: "RUN".into(),
            stage: None,
            last: Some(r.clone()),
            history: vec![],
            changed_since_build: false,
            checks: Vec::new(),
        };
        let explained = Explained { from: Some("b0".into()), to: r.build.clone(), steps: vec![c.clone()], advice: vec![] };
        let ls = lenses(
            &Annotated { instructions: vec![view.clone()], problems: vec![], explain: Some(explained.clone()), builds: vec![] },
            &quiet(),
            now(),
        );
        assert_eq!(ls[0].command.as_ref().unwrap().title, "⏱ 6.1s · rebuilt: build arg changed");
        let other = Explained { to: "another build".into(), ..explained };
        let ann = Annotated { instructions: vec![view], problems: vec![], explain: Some(other), builds: vec![] };
        assert!(lenses(&ann, &quiet(), now()).is_empty(), "a cause of another build is not this run's: a quick step is quiet");
        let ls = lenses(&ann, &verbose(), now());
        assert_eq!(ls[0].command.as_ref().unwrap().title, "⏱ 6.1s · executed");
    }

    fn quiet() -> Policy {
        Policy { mode: crate::lsp::config::LensMode::Auto, slow_ms: 60_000, will_rebuild: Default::default() }
    }

    fn verbose() -> Policy {
        Policy { mode: crate::lsp::config::LensMode::All, ..quiet() }
    }

    #[test]
    fn only_loud_lines_get_a_lens_unless_all() {
        let ann = Annotated {
            instructions: vec![
                line_view(1, run(StepStatus::Cached, None)),
                line_view(2, run(StepStatus::Executed, Some(400))),
                line_view(3, run(StepStatus::Executed, Some(61_000))),
                line_view(4, run(StepStatus::Error, None)),
                line_view(5, run(StepStatus::Running, None)),
                line_view(6, run(StepStatus::Canceled, None)),
            ],
            ..Annotated::default()
        };
        let lines = |p: &Policy| lenses(&ann, p, now()).iter().map(|l| l.range.start.line + 1).collect::<Vec<_>>();
        assert_eq!(lines(&quiet()), [3, 4, 5], "slow, failed, running");
        assert_eq!(lines(&verbose()), [1, 2, 3, 4, 5, 6]);
        let editing = Policy { will_rebuild: [4].into(), ..verbose() };
        assert_eq!(lines(&editing), [1, 2, 3, 5, 6], "a will-rebuild lens replaces the last run's");
    }

    #[test]
    fn lens_opens_the_log_at_the_step_and_flags_changes() {
        let view = InstructionView {
            line: 5,
            end_line: 7,
            keyword: "RUN".into(),
            stage: None,
            last: Some(run(StepStatus::Cached, None)),
            history: vec![],
            changed_since_build: true,
            checks: Vec::new(),
        };
        let ann = Annotated { instructions: vec![view], problems: vec![], explain: None, builds: vec![] };
        assert_eq!(lenses(&ann, &quiet(), now()).len(), 1, "cached is quiet; the change is not");
        let ls = lenses(&ann, &verbose(), now());
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[0].range.start, Position::new(4, 0));
        let cmd = ls[0].command.as_ref().unwrap();
        assert_eq!(cmd.command, OPEN_LOG);
        assert_eq!(cmd.arguments.as_ref().unwrap()[0], json!({"path": "/store/builds/b1/build.log", "offset": 1200}));
        assert_eq!(ls[1].command.as_ref().unwrap().title, "↻ changed since build");
        let predicted = Policy { will_rebuild: [5].into(), ..verbose() };
        assert!(lenses(&ann, &predicted, now()).is_empty(), "the will-rebuild lens says it");
    }
}

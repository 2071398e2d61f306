//! Hover on an instruction: its history across recorded builds as a Markdown table, then the failed
//! step's error and the last lines of its output in a fenced block. Everything from a log is escaped or
//! fenced (see `markdown`). Pure: the clock and the history depth are parameters.

use chrono::{DateTime, Utc};

use super::markdown::{code_block, escape};
use super::view;
use crate::analysis::{InstructionView, StepRun};
use crate::present;

/// The instruction whose lines contain 0-based `line`.
pub fn at_line(instructions: &[InstructionView], line: u32) -> Option<&InstructionView> {
    let line = line.saturating_add(1);
    instructions.iter().find(|v| v.line <= line && line <= v.end_line.max(v.line))
}

/// The hover Markdown, or `None` when no recorded build ran the instruction.
pub fn markdown(view: &InstructionView, now: DateTime<Utc>, depth: usize) -> Option<String> {
    let last = view.last.as_ref()?;
    let mut out = format!("**{}**", escape(&view.keyword));
    if let Some(stage) = &view.stage {
        out.push_str(&format!(" · stage {}", escape(stage)));
    }
    if view.changed_since_build {
        out.push_str(" · *changed since the last build that ran it*");
    }
    out.push_str("\n\n");
    out.push_str(&table(view, last, now, depth));
    if let Some(error) = &last.error {
        out.push_str("\n**Error**\n\n");
        out.push_str(&code_block(std::slice::from_ref(error)));
    }
    for warning in &last.warnings {
        out.push_str(&format!("\n⚠ {}\n", escape(warning)));
    }
    if !last.excerpt.is_empty() {
        out.push_str(&format!("\n**Last output** ({} lines in all)\n\n", last.output.lines));
        out.push_str(&code_block(&last.excerpt));
    }
    Some(out)
}

/// Most recent first, at most `depth` rows; the last run is always in it.
fn table(view: &InstructionView, last: &StepRun, now: DateTime<Utc>, depth: usize) -> String {
    let mut out = String::from("| when | status | duration | cached | exit |\n|---|---|---|---|---|\n");
    let history: Vec<&StepRun> = if view.history.is_empty() { vec![last] } else { view.history.iter().rev().collect() };
    for run in history.into_iter().take(depth.max(1)) {
        let when = view::ago(run, now).unwrap_or_else(|| "?".into());
        let dur = view::elapsed_ms(run, now).map(present::duration_ms).unwrap_or_else(|| "–".into());
        let cached = if run.cached { "yes" } else { "no" };
        let exit = run.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "–".into());
        out.push_str(&format!("| {when} | {} | {dur} | {cached} | {exit} |\n", view::status_word(run.status)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::StepStatus;
    use crate::lsp::view::fixtures::{now, run};

    fn failing_view() -> InstructionView {
        let ok = run(StepStatus::Executed, Some(2_000));
        let mut bad = run(StepStatus::Error, Some(184_000));
        bad.started = Some("2026-11-01T12:00:00Z".into());
        bad.exit_code = Some(2);
        bad.error = Some("process \"/bin/sh -c make\" did not complete successfully: exit code: 2".into());
        bad.excerpt = vec!["see [docs](command:workbench.action.terminal.new) <b>x</b>".into(), "``` fence".into()];
        InstructionView {
            line: 5,
            end_line: 7,
            keyword: "RUN".into(),
            stage: Some("build".into()),
            last: Some(bad.clone()),
            history: vec![ok, bad],
            changed_since_build: false,
        }
    }

    #[test]
    fn history_table_then_error_then_output() {
        let md = markdown(&failing_view(), now(), 10).unwrap();
        let expect = "**RUN** · stage build\n\n\
| when | status | duration | cached | exit |\n|---|---|---|---|---|\n\
| 5m ago | failed | 3m04s | no | 2 |\n\
| 2h ago | executed | 2.0s | no | – |\n\
\n**Error**\n\n```text\nprocess \"/bin/sh -c make\" did not complete successfully: exit code: 2\n```\n\
\n**Last output** (3 lines in all)\n\n\
````text\nsee [docs](command:workbench.action.terminal.new) <b>x</b>\n``` fence\n````\n";
        assert_eq!(md, expect);
    }

    #[test]
    fn depth_limits_rows_and_no_run_means_no_hover() {
        let md = markdown(&failing_view(), now(), 1).unwrap();
        assert!(md.contains("| 5m ago |") && !md.contains("| 2h ago |"));
        let mut v = failing_view();
        v.last = None;
        assert_eq!(markdown(&v, now(), 10), None);
    }

    #[test]
    fn cursor_line_finds_the_instruction_across_continuations() {
        let v = failing_view();
        let list = [v];
        assert!(at_line(&list, 4).is_some() && at_line(&list, 6).is_some());
        assert!(at_line(&list, 3).is_none() && at_line(&list, 7).is_none());
    }
}

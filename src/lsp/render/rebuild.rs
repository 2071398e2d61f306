//! What an unsaved edit (or a changed file) will rebuild (`analysis::predict`), on the lines: one lens per
//! instruction that will rebuild, `↻ this edit rebuilds 6 steps, about 47m (last times)` on the first and
//! `↻ will rebuild · last 8.2s` (its cost) on the others, opening the last run's log where there is one.
//! The line's last run is then not shown again (`signal::Policy`); its hover says why it will rebuild
//! (`hover_markdown`: the edit, the changed files, or the line it follows). Pure: prediction in, LSP
//! values out.

use tower_lsp_server::ls_types::{CodeLens, Command, Position, Range};

use crate::analysis::predict::{Prediction, Rebuild, Why};
use crate::analysis::Annotated;
use crate::lsp::render::lenses::open_log;
use crate::lsp::render::markdown::{code_block, code_span};
use crate::present;

/// The words every will-rebuild lens holds.
pub const WILL_REBUILD: &str = "will rebuild";

/// The will-rebuild lenses, in line order.
pub fn lenses(prediction: &Prediction, annotated: &Annotated) -> Vec<CodeLens> {
    let Some(summary) = prediction.summary() else { return Vec::new() };
    let first = prediction.first().map(|r| r.line);
    let mut out = Vec::new();
    for r in &prediction.rebuilds {
        let title = if Some(r.line) == first {
            format!("↻ {summary}")
        } else {
            let cost = r.last_ms.map(|ms| format!(" · last {}", present::duration_ms(ms))).unwrap_or_default();
            format!("↻ {WILL_REBUILD}{cost}")
        };
        let last = annotated.instructions.iter().find(|v| v.line == r.line).and_then(|v| v.last.as_ref());
        let command = match last {
            Some(run) => open_log(title, run),
            None => Command { title, command: String::new(), arguments: None },
        };
        let line = r.line.saturating_sub(1);
        out.push(CodeLens { range: Range::new(Position::new(line, 0), Position::new(line, 0)), command: Some(command), data: None });
    }
    out
}

/// The hover section of an instruction that will rebuild: why, against which build.
pub fn hover_markdown(r: &Rebuild, prediction: &Prediction, annotated: &Annotated) -> String {
    let against = annotated.latest().map(|b| format!(" (against build #{})", b.number)).unwrap_or_default();
    let mut out = format!("\n**↻ Will rebuild**{against}: {}", reason(r, prediction, annotated));
    if let Some(was) = r.was.as_deref().filter(|_| r.why == Why::Changed) {
        out.push_str(" It ran:\n\n");
        out.push_str(&code_block(&[present::one_line(was, 300)]));
    } else {
        out.push('\n');
    }
    out
}

fn reason(r: &Rebuild, prediction: &Prediction, annotated: &Annotated) -> String {
    match r.why {
        Why::Changed => "its text differs from what that build ran.".into(),
        Why::Inserted => "it is new since that build.".into(),
        Why::AfterDeleted => "the instruction before it in that build is gone.".into(),
        Why::InputsChanged => format!("files it copies changed since that build: {}.", files(r)),
        Why::Follows => {
            let root = prediction.rebuilds.iter().find(|x| x.line == r.root_line && x.why != Why::Follows);
            let keyword = annotated.instructions.iter().find(|v| v.line == r.root_line).map(|v| format!(" ({})", code_span(&v.keyword)));
            let what = match root.map(|x| x.why) {
                Some(Why::InputsChanged) => format!(", whose files changed: {}", root.map(files).unwrap_or_default()),
                Some(Why::Changed) => ", which was edited".into(),
                Some(Why::Inserted) => ", which is new".into(),
                Some(Why::AfterDeleted) => ", after a deleted instruction".into(),
                _ => String::new(),
            };
            format!("it builds on line {}{}{what} (the cache is a chain).", r.root_line, keyword.unwrap_or_default())
        }
    }
}

/// `` `a`, `b` and 3 more `` (file names from the context: code spans).
fn files(r: &Rebuild) -> String {
    let named: Vec<String> = r.files.iter().map(|f| code_span(&present::one_line(f, 120))).collect();
    match r.files_total.saturating_sub(r.files.len()) {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::predict::{Rebuild, Why};
    use crate::analysis::InstructionView;
    use crate::log::StepStatus;
    use crate::workspace::words::fixtures::run;

    fn rebuild(line: u32, why: Why, last_ms: Option<u64>) -> Rebuild {
        Rebuild { instruction: line as usize, line, end_line: line, why, last_ms, root_line: 3, was: None, files: vec![], files_total: 0 }
    }

    #[test]
    fn every_rebuilding_line_has_one_lens_the_first_with_the_estimate() {
        let p = Prediction {
            rebuilds: vec![rebuild(3, Why::Changed, Some(60_000)), rebuild(5, Why::Follows, Some(8_200)), rebuild(6, Why::Follows, None)],
        };
        let view = |line| InstructionView {
            line,
            end_line: line,
            keyword: "RUN".into(),
            stage: None,
            last: Some(run(StepStatus::Cached, None)),
            history: vec![],
            changed_since_build: false,
            checks: Vec::new(),
        };
        let annotated = Annotated { instructions: vec![view(3), view(5)], ..Annotated::default() };
        let ls = lenses(&p, &annotated);
        let shown: Vec<_> = ls.iter().map(|l| (l.range.start.line, l.command.as_ref().unwrap().title.as_str())).collect();
        assert_eq!(
            shown,
            [
                (2, "↻ this edit rebuilds 3 steps, about 1m (last times; 1 step unknown)"),
                (4, "↻ will rebuild · last 8.2s"),
                (5, "↻ will rebuild"),
            ]
        );
        assert_eq!(ls[1].command.as_ref().unwrap().command, crate::lsp::render::lenses::OPEN_LOG, "opens the last run's log");
        assert_eq!(ls[2].command.as_ref().unwrap().command, "", "no last run: nothing to open");
        assert!(lenses(&Prediction::default(), &annotated).is_empty());
    }
}

//! What an unsaved edit (or a changed file) will rebuild (`analysis::predict`), on the lines: one lens per
//! instruction that will rebuild, `↻ this edit rebuilds 6 steps, about 47m (last times)` on the first and
//! `↻ will rebuild · last 8.2s` (its cost) on the others, opening the last run's log where there is one.
//! The line's last run is then not shown again (`signal::Policy`). Pure: prediction in, LSP values out.

use tower_lsp_server::ls_types::{CodeLens, Command, Position, Range};

use super::lenses::open_log;
use crate::analysis::predict::Prediction;
use crate::analysis::Annotated;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::predict::{Rebuild, Why};
    use crate::analysis::InstructionView;
    use crate::log::StepStatus;
    use crate::lsp::view::fixtures::run;

    fn rebuild(line: u32, why: Why, last_ms: Option<u64>) -> Rebuild {
        Rebuild { instruction: line as usize, line, end_line: line, why, last_ms }
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
        assert_eq!(ls[1].command.as_ref().unwrap().command, crate::lsp::lenses::OPEN_LOG, "opens the last run's log");
        assert_eq!(ls[2].command.as_ref().unwrap().command, "", "no last run: nothing to open");
        assert!(lenses(&Prediction::default(), &annotated).is_empty());
    }
}

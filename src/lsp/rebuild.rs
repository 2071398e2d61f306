//! What an unsaved edit will rebuild (`analysis::predict`), on the lines: a `will rebuild` inlay hint on
//! each instruction that will rebuild (after the last-run hint, at the end of the instruction's first
//! line), and a code lens with the estimate on the first changed one. Pure: prediction in, LSP values out.

use tower_lsp_server::ls_types::{CodeLens, Command, InlayHint, InlayHintLabel, InlayHintTooltip, Position, Range};

use super::documents::Document;
use super::encoding::Encoding;
use crate::analysis::predict::Prediction;

/// The hint's label.
pub const WILL_REBUILD: &str = "will rebuild";

/// The `will rebuild` hints of the instructions that start inside `range`.
pub fn hints(prediction: &Prediction, doc: &Document, enc: Encoding, range: Range) -> Vec<InlayHint> {
    let mut out = Vec::new();
    for r in &prediction.rebuilds {
        let Some(line) = r.line.checked_sub(1) else { continue };
        if line < range.start.line || line > range.end.line {
            continue;
        }
        // A prediction of another version may name a line the buffer no longer has: no hint then.
        let Some(text) = doc.line(line as usize) else { continue };
        out.push(InlayHint {
            position: Position::new(line, enc.len(text)),
            label: InlayHintLabel::String(WILL_REBUILD.into()),
            kind: None,
            text_edits: None,
            tooltip: Some(InlayHintTooltip::String(format!("Will rebuild: {}.", r.why.describe()))),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    out
}

/// `this edit rebuilds 6 steps, about 47m (last times)` on the first changed line (not clickable).
pub fn lens(prediction: &Prediction) -> Option<CodeLens> {
    let (first, title) = (prediction.first()?, prediction.summary()?);
    let line = first.line.saturating_sub(1);
    let range = Range::new(Position::new(line, 0), Position::new(line, 0));
    Some(CodeLens { range, command: Some(Command { title, command: String::new(), arguments: None }), data: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::predict::{Rebuild, Why};

    fn rebuild(line: u32, why: Why, last_ms: Option<u64>) -> Rebuild {
        Rebuild { instruction: line as usize, line, end_line: line, why, last_ms }
    }

    #[test]
    fn hints_follow_the_prediction_and_the_lens_sits_on_the_first_changed_line() {
        let doc = Document::new("FROM a\nCOPY . .\nRUN é \\\n  x\nRUN y\n".into(), 3);
        let p = Prediction { rebuilds: vec![rebuild(3, Why::Changed, Some(60_000)), rebuild(5, Why::Follows, None)] };
        let all = Range::new(Position::new(0, 0), Position::new(99, 0));
        let hs = hints(&p, &doc, Encoding::Utf16, all);
        assert_eq!(hs.iter().map(|h| h.position).collect::<Vec<_>>(), [Position::new(2, 7), Position::new(4, 5)]);
        assert_eq!(hints(&p, &doc, Encoding::Utf8, all)[0].position, Position::new(2, 8));
        assert!(matches!(&hs[0].label, InlayHintLabel::String(l) if l == "will rebuild"));
        let only_last = Range::new(Position::new(4, 0), Position::new(4, 0));
        assert_eq!(hints(&p, &doc, Encoding::Utf8, only_last).len(), 1);
        let l = lens(&p).unwrap();
        assert_eq!(l.range.start, Position::new(2, 0));
        assert_eq!(l.command.unwrap().title, "this edit rebuilds 2 steps, about 1m (last times; 1 step unknown)");
        assert!(lens(&Prediction::default()).is_none());
        let stale = Prediction { rebuilds: vec![rebuild(9, Why::Changed, None)] };
        assert!(hints(&stale, &doc, Encoding::Utf16, all).is_empty());
    }
}

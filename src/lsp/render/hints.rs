//! Inlay hints: the quiet lines' last run in a word (`✓ cached`, `0.4s`), at the end of the instruction's
//! first line, clickable to open the log at the step. A line with a lens has no hint (`signal::Policy`):
//! one signal per line. Pure; the column is in the negotiated encoding.

use chrono::{DateTime, Utc};
use tower_lsp_server::ls_types::{InlayHint, InlayHintLabel, InlayHintLabelPart, Position, Range};

use crate::analysis::{Annotated, StepRun};
use crate::log::StepStatus;
use crate::lsp::config::Settings;
use crate::lsp::protocol::encoding::Encoding;
use crate::lsp::render::lenses;
use crate::lsp::render::lines::Lines;
use crate::lsp::render::signal::Policy;
use crate::present;
use crate::workspace::words as view;
use crate::workspace::Snapshot;

/// The hints of the whole document: its policy from the editor's `settings` and the snapshot's prediction.
pub fn document(snapshot: &Snapshot, settings: &Settings, enc: Encoding, now: DateTime<Utc>) -> Vec<InlayHint> {
    let policy = Policy::new(settings, &snapshot.prediction());
    hints(&snapshot.annotated, &policy, snapshot, enc, crate::lsp::render::rendered::everything(), now)
}

/// The hints of the quiet instructions that start inside `range`.
pub fn hints(annotated: &Annotated, policy: &Policy, doc: &impl Lines, enc: Encoding, range: Range, now: DateTime<Utc>) -> Vec<InlayHint> {
    let mut out = Vec::new();
    for view in &annotated.instructions {
        let (Some(run), Some(line)) = (&view.last, view.line.checked_sub(1)) else { continue };
        if line < range.start.line || line > range.end.line || !policy.last_run_hint(view, annotated.explain.as_ref()) {
            continue;
        }
        // A stale analysis may name a line the buffer no longer has: no hint rather than a wrong one.
        let Some(text) = doc.line(line as usize) else { continue };
        out.push(InlayHint {
            position: Position::new(line, enc.len(text)),
            // One part carrying the open-log command: VS Code makes it clickable; Neovim's open-log key uses it.
            label: InlayHintLabel::LabelParts(vec![InlayHintLabelPart {
                value: crate::present::visible(&label(run, now)).into_owned(),
                tooltip: None,
                location: None,
                command: Some(lenses::open_log("Open the log at this step".into(), run)),
            }]),
            kind: None,
            text_edits: None,
            tooltip: None,
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    out
}

/// `47m12s`, `47m12s · 1.2 GB`, `executed · 1.2 GB` (no duration logged), `✓ cached`, `✗ failed 3m04s (exit 2)`,
/// `⏵ running 3m12s…`, `⊘ canceled`: a time alone is a step that ran; any other state starts with its symbol.
/// A multi-platform run gives each platform: `amd64 2m10s · arm64 19m32s`, `✗ failed · amd64 1.2s · arm64 failed 3m04s`.
pub fn label(run: &StepRun, now: DateTime<Utc>) -> String {
    match (run.status, view::platforms(run)) {
        (StepStatus::Executed, Some(p)) => return p,
        (StepStatus::Error, Some(p)) => return format!("✗ failed · {p}{}", view::exit_suffix(run)),
        _ => {}
    }
    let dur = view::elapsed_ms(run, now).map(present::duration_ms);
    match (run.status, dur) {
        (StepStatus::Executed, Some(d)) => match view::layer_size(run) {
            Some(size) => format!("{d} · {size}"),
            None => d,
        },
        // The classic builder logs no durations: the size alone still says what the step made.
        (StepStatus::Executed, None) => match view::layer_size(run) {
            Some(size) => format!("executed · {size}"),
            None => "executed".to_string(),
        },
        (StepStatus::Error, d) => format!("✗ failed{}{}", d.map(|d| format!(" {d}")).unwrap_or_default(), view::exit_suffix(run)),
        (StepStatus::Running, Some(d)) => format!("⏵ running {d}…"),
        (StepStatus::Running, None) => "⏵ running…".to_string(),
        (StepStatus::Cached, _) => "✓ cached".to_string(),
        (StepStatus::Canceled, _) => "⊘ canceled".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::documents::Document;
    use crate::workspace::words::fixtures::{line_view, now, run};

    #[test]
    fn labels() {
        assert_eq!(label(&run(StepStatus::Executed, Some(2_832_000)), now()), "47m12s");
        let mut sized = run(StepStatus::Executed, Some(2_832_000));
        sized.size_bytes = Some(1_200_000_000);
        assert_eq!(label(&sized, now()), "47m12s · 1.2 GB");
        assert_eq!(label(&run(StepStatus::Cached, None), now()), "✓ cached");
        let mut failed = run(StepStatus::Error, Some(184_000));
        failed.exit_code = Some(2);
        assert_eq!(label(&failed, now()), "✗ failed 3m04s (exit 2)");
        let mut running = run(StepStatus::Running, None);
        running.started = None;
        assert_eq!(label(&running, now()), "⏵ running…");
        assert_eq!(label(&run(StepStatus::Canceled, None), now()), "⊘ canceled");
        assert_eq!(label(&run(StepStatus::Executed, None), now()), "executed");
        let mut legacy = run(StepStatus::Executed, None);
        legacy.size_bytes = Some(2_097_152);
        assert_eq!(label(&legacy, now()), "executed · 2.1 MB");
    }

    #[test]
    fn multi_platform_labels() {
        use crate::workspace::words::fixtures::platforms;
        let each = [("linux/amd64", StepStatus::Executed, Some(130_000)), ("linux/arm64", StepStatus::Executed, Some(1_172_400))];
        assert_eq!(label(&platforms(run(StepStatus::Executed, Some(1_172_400)), &each), now()), "amd64 2m10s · arm64 19m32s");
        let each = [("linux/amd64", StepStatus::Executed, Some(1_000)), ("linux/arm64", StepStatus::Error, Some(3_000))];
        assert_eq!(label(&platforms(run(StepStatus::Error, Some(3_000)), &each), now()), "✗ failed · amd64 1.0s · arm64 failed 3.0s");
    }

    #[test]
    fn hint_sits_at_the_end_of_the_first_line_in_utf16_units() {
        let doc = Document::new("FROM a\nRUN echo é🐳 \\\n  && x\n".into(), 1);
        let ann = Annotated {
            instructions: vec![line_view(1, run(StepStatus::Cached, None)), line_view(2, run(StepStatus::Executed, Some(1000)))],
            problems: vec![],
            explain: None,
            builds: vec![],
        };
        let all = Range::new(Position::new(0, 0), Position::new(99, 0));
        let p = quiet();
        let hs = hints(&ann, &p, &doc, Encoding::Utf16, all, now());
        assert_eq!(hs.iter().map(|h| h.position).collect::<Vec<_>>(), vec![Position::new(0, 6), Position::new(1, 14)]);
        let hs = hints(&ann, &p, &doc, Encoding::Utf8, all, now());
        assert_eq!(hs[1].position, Position::new(1, 17));
        let only_second = Range::new(Position::new(1, 0), Position::new(1, 0));
        assert_eq!(hints(&ann, &p, &doc, Encoding::Utf16, only_second, now()).len(), 1);
        let past_end =
            Annotated { instructions: vec![line_view(9, run(StepStatus::Cached, None))], problems: vec![], explain: None, builds: vec![] };
        assert!(hints(&past_end, &p, &doc, Encoding::Utf16, all, now()).is_empty());
    }

    fn quiet() -> Policy {
        Policy { mode: crate::lsp::config::LensMode::Auto, slow_ms: 60_000, will_rebuild: Default::default() }
    }

    fn shown(hs: &[InlayHint]) -> Vec<(u32, String)> {
        let text = |h: &InlayHint| match &h.label {
            InlayHintLabel::String(s) => s.clone(),
            InlayHintLabel::LabelParts(parts) => parts.iter().map(|p| p.value.as_str()).collect(),
        };
        hs.iter().map(|h| (h.position.line + 1, text(h))).collect()
    }

    #[test]
    fn only_quiet_lines_get_a_hint_and_it_opens_the_log() {
        let doc = Document::new("FROM a\nRUN a\nRUN b\nRUN c\nRUN d\n".into(), 1);
        let ann = Annotated {
            instructions: vec![
                line_view(1, run(StepStatus::Cached, None)),
                line_view(2, run(StepStatus::Executed, Some(400))),
                line_view(3, run(StepStatus::Error, Some(400))),
                line_view(4, run(StepStatus::Executed, Some(60_000))),
                line_view(5, run(StepStatus::Running, None)),
            ],
            ..Annotated::default()
        };
        let all = Range::new(Position::new(0, 0), Position::new(99, 0));
        let hs = hints(&ann, &quiet(), &doc, Encoding::Utf16, all, now());
        assert_eq!(
            shown(&hs),
            [(1, "✓ cached".to_string()), (2, "0.4s".to_string())],
            "failed, slow and running lines have a lens instead"
        );
        let InlayHintLabel::LabelParts(parts) = &hs[0].label else { panic!("one part with the open-log command") };
        assert_eq!(parts[0].command.as_ref().map(|c| c.command.as_str()), Some(lenses::OPEN_LOG));
        let verbose = Policy { mode: crate::lsp::config::LensMode::All, ..quiet() };
        assert!(hints(&ann, &verbose, &doc, Encoding::Utf16, all, now()).is_empty(), "all: every run is a lens");
        let editing = Policy { will_rebuild: [1].into(), ..quiet() };
        assert_eq!(
            shown(&hints(&ann, &editing, &doc, Encoding::Utf16, all, now())),
            [(2, "0.4s".to_string())],
            "a will-rebuild lens says line 1"
        );
    }
}

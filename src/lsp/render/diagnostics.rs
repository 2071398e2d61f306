//! Diagnostics on a Dockerfile: an error on the lines of each instruction whose last recorded run failed
//! (the error line and exit code, related information pointing into the log), a warning for each builder
//! warning, and each build check's warning (its name as code) on the line it names. A later successful build of the step makes it the `last` run, which clears the error.

use std::path::Path;

use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range, Uri,
};

use crate::analysis::{Annotated, CheckWarning, InstructionView, StepRun};
use crate::log::StepStatus;
use crate::lsp::protocol::encoding::Encoding;
use crate::lsp::render::lines::Lines;
use crate::workspace::words as view;
use crate::workspace::Snapshot;

pub const SOURCE: &str = "buildlens";

/// Finds the 0-based line in a log file for a byte offset (the snapshot's; a test passes a closure).
pub type Locate<'a> = &'a dyn Fn(&Path, u64) -> Option<u32>;

/// The diagnostics of a snapshot's Dockerfile (a failure's log line from `Snapshot::log_line`).
pub fn of_snapshot(snapshot: &Snapshot, enc: Encoding) -> Vec<Diagnostic> {
    dockerfile(&snapshot.annotated, snapshot, enc, &|log, offset| snapshot.log_line(log, offset))
}

pub fn dockerfile(annotated: &Annotated, doc: &impl Lines, enc: Encoding, locate: Locate) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for view in &annotated.instructions {
        let range = instruction_range(view, doc, enc);
        let first_line = Range::new(range.start, Position::new(range.start.line, line_len(doc, range.start.line, enc)));
        out.extend(view.checks.iter().map(|c| check(c, doc, enc, first_line)));
        let Some(run) = &view.last else { continue };
        if run.status == StepStatus::Error {
            out.push(failure(run, range, locate));
        }
        for warning in &run.warnings {
            out.push(diagnostic(first_line, DiagnosticSeverity::WARNING, view::one_line(warning, 300), None));
        }
    }
    out.extend(advice(annotated, doc, enc));
    out
}

/// The advice of `explain` (an expensive step rebuilt because a COPY's files keep changing): information
/// on the COPY's lines.
fn advice(annotated: &Annotated, doc: &impl Lines, enc: Encoding) -> Vec<Diagnostic> {
    let Some(e) = &annotated.explain else { return Vec::new() };
    let on = |a: &crate::analysis::advice::Advice| {
        let last = a.end_line.max(a.line).saturating_sub(1);
        let range = Range::new(Position::new(a.line.saturating_sub(1), 0), Position::new(last, line_len(doc, last, enc)));
        diagnostic(range, DiagnosticSeverity::INFORMATION, a.message.clone(), None)
    };
    e.advice.iter().map(on).collect()
}

/// A build check's warning, on the line it names (inside the instruction), with the check's name as code.
fn check(c: &CheckWarning, doc: &impl Lines, enc: Encoding, first_line: Range) -> Diagnostic {
    let line = c.line.saturating_sub(1);
    let range = if line > first_line.start.line && doc.line(line as usize).is_some() {
        Range::new(Position::new(line, 0), Position::new(line, line_len(doc, line, enc)))
    } else {
        first_line
    };
    let mut d = diagnostic(range, DiagnosticSeverity::WARNING, view::one_line(&c.message, 300), None);
    d.code = c.code.clone().map(NumberOrString::String);
    d
}

fn failure(run: &StepRun, range: Range, locate: Locate) -> Diagnostic {
    let headline = view::headline(run).unwrap_or_else(|| "the step failed".into());
    let message = format!("{headline}{}", view::exit_suffix(run));
    let cause = crate::analysis::headline::of(run).and_then(|h| h.offset);
    let related = log_location(run, cause, locate).map(|location| {
        let message = match cause {
            Some(_) => format!("the cause in the build log of {}", crate::present::inline(&run.build)),
            None => format!("build log of {}", crate::present::inline(&run.build)),
        };
        vec![DiagnosticRelatedInformation { location, message }]
    });
    diagnostic(range, DiagnosticSeverity::ERROR, message, related)
}

/// The log line of the headline's cause (`cause`: its offset), else where the failed step's output ends
/// (the builder's error follows it).
fn log_location(run: &StepRun, cause: Option<u64>, locate: Locate) -> Option<Location> {
    let uri = Uri::from_file_path(&run.log_path)?;
    let line = locate(&run.log_path, cause.unwrap_or(run.output.end.max(run.output.start)))?;
    Some(Location { uri, range: Range::new(Position::new(line, 0), Position::new(line, 0)) })
}

pub fn diagnostic(
    range: Range,
    severity: DiagnosticSeverity,
    message: String,
    related: Option<Vec<DiagnosticRelatedInformation>>,
) -> Diagnostic {
    // Every diagnostic's text, whatever it quotes: hidden characters shown, no icon syntax.
    let message = crate::present::no_icons(&crate::present::visible(&message)).into_owned();
    Diagnostic {
        range,
        severity: Some(severity),
        source: Some(SOURCE.into()),
        message,
        related_information: related,
        ..Diagnostic::default()
    }
}

/// From the start of the instruction's first line to the end of its last (clamped to the buffer).
fn instruction_range(view: &InstructionView, doc: &impl Lines, enc: Encoding) -> Range {
    let first = view.line.saturating_sub(1);
    let last = view.end_line.max(view.line).saturating_sub(1);
    Range::new(Position::new(first, 0), Position::new(last, line_len(doc, last, enc)))
}

fn line_len(doc: &impl Lines, line: u32, enc: Encoding) -> u32 {
    doc.line(line as usize).map(|t| enc.len(t)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsp::documents::Document;
    use crate::workspace::words::fixtures::run;

    fn view(line: u32, end_line: u32, r: StepRun) -> InstructionView {
        InstructionView {
            line,
            end_line,
            keyword: "RUN".into(),
            stage: None,
            last: Some(r),
            history: vec![],
            changed_since_build: false,
            checks: vec![],
        }
    }

    #[test]
    fn failed_step_is_an_error_over_its_lines_pointing_into_the_log() {
        let doc = Document::new("FROM a\nRUN x && \\\n  é\n".into(), 3);
        let mut bad = run(StepStatus::Error, Some(1));
        bad.exit_code = Some(3);
        bad.error = Some("process \"/bin/sh -c x\" did not complete successfully: exit code: 3".into());
        bad.excerpt = vec!["error: something went wrong in step 3".into(), "make: *** [all] Error 3".into()];
        bad.cause = Some(crate::log::CauseLine { text: bad.excerpt[0].clone(), offset: 1_500 });
        let ann = |bad: StepRun| Annotated {
            instructions: vec![view(1, 1, run(StepStatus::Cached, None)), view(2, 3, bad)],
            ..Annotated::default()
        };
        let ds = dockerfile(&ann(bad.clone()), &doc, Encoding::Utf16, &|_, off| Some(off as u32 / 100));
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].range, Range::new(Position::new(1, 0), Position::new(2, 3)));
        assert_eq!(ds[0].severity, Some(DiagnosticSeverity::ERROR));
        assert_eq!(ds[0].message, "error: something went wrong in step 3 (exit 3)");
        let rel = &ds[0].related_information.as_ref().unwrap()[0];
        assert_eq!(rel.location.uri.as_str(), "file:///store/builds/b1/build.log");
        assert_eq!(rel.location.range.start.line, 15, "the cause's line");
        // No cause in the output: the builder's error, and the log where the step's output ends.
        bad.cause = None;
        let ds = dockerfile(&ann(bad), &doc, Encoding::Utf16, &|_, off| Some(off as u32 / 100));
        assert_eq!(ds[0].message, "process \"/bin/sh -c x\" did not complete successfully: exit code: 3 (exit 3)");
        assert_eq!(ds[0].related_information.as_ref().unwrap()[0].location.range.start.line, 19);
    }

    #[test]
    fn advice_is_information_on_the_copy() {
        use crate::analysis::advice::Advice;
        use crate::analysis::explain::Explained;
        let doc = Document::new("FROM a\nCOPY . .\nRUN make\n".into(), 1);
        let a = Advice { line: 2, end_line: 2, expensive_line: 3, builds: 3, of: 3, cost_ms: 1, message: "copy less".into() };
        let explain = Some(Explained { advice: vec![a], ..Explained::default() });
        let ds =
            dockerfile(&Annotated { instructions: vec![], problems: vec![], explain, builds: vec![] }, &doc, Encoding::Utf16, &|_, _| None);
        assert_eq!(ds.len(), 1);
        assert_eq!((ds[0].severity, ds[0].message.as_str()), (Some(DiagnosticSeverity::INFORMATION), "copy less"));
        assert_eq!(ds[0].range, Range::new(Position::new(1, 0), Position::new(1, 8)));
    }

    #[test]
    fn check_warnings_sit_on_their_line_with_the_check_as_code() {
        use crate::analysis::CheckWarning;
        let doc = Document::new("FROM a\nENV A 1\nRUN a \\\n $B\n".into(), 1);
        let check = |line: u32, code: &str| CheckWarning { build: "b".into(), line, code: Some(code.into()), message: "m".into() };
        let mut env = view(2, 2, run(StepStatus::Cached, None));
        env.last = None;
        env.checks = vec![check(2, "LegacyKeyValueFormat")];
        let mut run_view = view(3, 4, run(StepStatus::Executed, Some(1)));
        run_view.checks = vec![check(4, "UndefinedVar")];
        let ann = Annotated { instructions: vec![env, run_view], problems: vec![], explain: None, builds: vec![] };
        let ds = dockerfile(&ann, &doc, Encoding::Utf16, &|_, _| None);
        let got: Vec<_> = ds.iter().map(|d| (d.range, d.severity, d.code.clone())).collect();
        let code = |c: &str| Some(NumberOrString::String(c.into()));
        assert_eq!(
            got,
            vec![
                (Range::new(Position::new(1, 0), Position::new(1, 7)), Some(DiagnosticSeverity::WARNING), code("LegacyKeyValueFormat")),
                (Range::new(Position::new(3, 0), Position::new(3, 3)), Some(DiagnosticSeverity::WARNING), code("UndefinedVar")),
            ]
        );
    }

    #[test]
    fn warnings_sit_on_the_first_line() {
        let doc = Document::new("RUN a \\\n b\n".into(), 1);
        let mut r = run(StepStatus::Executed, Some(1));
        r.warnings = vec!["Empty continuation line".into()];
        let ds = dockerfile(
            &Annotated { instructions: vec![view(1, 2, r)], problems: vec![], explain: None, builds: vec![] },
            &doc,
            Encoding::Utf16,
            &|_, _| None,
        );
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].severity, Some(DiagnosticSeverity::WARNING));
        assert_eq!(ds[0].range, Range::new(Position::new(0, 0), Position::new(0, 7)));
    }
}

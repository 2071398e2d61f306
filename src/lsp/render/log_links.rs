//! An open build log as LSP values, from its `workspace::LogSnapshot`: the places that point at Dockerfile
//! lines become document links and go-to-definition targets, its error and warning lines diagnostics.
//! Pure: only ranges are converted (byte columns to the negotiated encoding).

use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, DocumentLink, Location, Position, Range, Uri};

use crate::lsp::protocol::encoding::Encoding;
use crate::lsp::render::diagnostics;
use crate::workspace::log_links::{LogProblem, LogRef};
use crate::workspace::LogSnapshot;

/// The links of a log and the Dockerfile they point into (`None`: no Dockerfile, or not readable).
fn linked(log: &LogSnapshot) -> Option<(Uri, &[LogRef])> {
    let refs = log.refs.as_deref()?;
    Some((Uri::from_file_path(log.dockerfile.as_deref()?)?, refs))
}

fn ref_range(log: &LogSnapshot, r: &LogRef, enc: Encoding) -> Range {
    let text = log.line(&r.span);
    let line = r.line as u32;
    Range::new(Position::new(line, enc.column(text, r.start)), Position::new(line, enc.column(text, r.end)))
}

pub fn document_links(log: &LogSnapshot, enc: Encoding) -> Option<Vec<DocumentLink>> {
    let (dockerfile, refs) = linked(log)?;
    let link = |r: &LogRef| {
        // `#L<n>` is the line fragment editors understand for file links.
        let target = format!("{}#L{}", dockerfile.as_str(), r.target).parse::<Uri>().ok();
        DocumentLink { range: ref_range(log, r, enc), target, tooltip: Some(format!("Dockerfile line {}", r.target)), data: None }
    };
    Some(refs.iter().map(link).collect())
}

/// The Dockerfile line the log line at 0-based `line` points at. Anywhere on the line, not only on the
/// link text: a log line holds at most one link, and a cursor on column 1 of `#7 [sdk 4/9] RUN …` means
/// that step (issue 14).
pub fn definition(log: &LogSnapshot, line: u32) -> Option<Location> {
    let (dockerfile, refs) = linked(log)?;
    let hit = refs.iter().find(|r| r.line as u32 == line)?;
    let pos = Position::new(hit.target.saturating_sub(1), 0);
    Some(Location { uri: dockerfile, range: Range::new(pos, pos) })
}

/// The error and warning lines of an open log. A log built from a Dockerfile of the workspace has its
/// failures on that Dockerfile's lines (with a link here): its own are hints, marked in the log but not
/// listed in Problems a second time.
pub fn diagnostics(log: &LogSnapshot, enc: Encoding) -> Vec<Diagnostic> {
    let linked = log.dockerfile.is_some();
    let to_diag = |p: &LogProblem| {
        let len = enc.len(log.line(&p.span));
        let line = p.line as u32;
        let range = Range::new(Position::new(line, 0), Position::new(line, len));
        let severity = match (linked, p.is_error) {
            (true, _) => DiagnosticSeverity::HINT,
            (false, true) => DiagnosticSeverity::ERROR,
            (false, false) => DiagnosticSeverity::WARNING,
        };
        diagnostics::diagnostic(range, severity, p.message.clone(), None)
    };
    log.problems.iter().map(to_diag).collect()
}

//! Pure renderers of a build's timeline (`analysis::timeline`) and the instructions' history: the CI
//! Markdown summary (`markdown`), the self-contained HTML page (`html`, its trend charts in `trend`), the
//! text timeline (`text`). No I/O: the CLI gathers the records and writes what these return.
//!
//! Log text is untrusted on every surface here: Markdown gets it in code spans (`md`), Mermaid only as
//! a whitelist of characters, HTML only escaped (`escape::esc`), and every kind through `present::inline`.

pub mod escape;
pub mod html;
pub mod markdown;
mod md;
pub mod text;
mod trend;

use crate::analysis::explain::Explained;
use crate::analysis::timeline::{Bar, Timeline};
use crate::analysis::Annotated;
use crate::log::{BuildResult, StepStatus};

/// What a picture shows: the latest build's timeline, the analysis of all recorded builds (histories),
/// and why the latest build missed the cache.
pub struct Picture<'a> {
    /// The Dockerfile as the user named it.
    pub dockerfile: &'a str,
    /// The Dockerfile's text (today's).
    pub source: &'a str,
    /// The latest build's timeline (`None`: no recorded build).
    pub timeline: Option<&'a Timeline>,
    pub annotated: &'a Annotated,
    pub explain: Option<&'a Explained>,
}

/// `succeeded`, `failed`, ...
pub fn result_word(result: BuildResult) -> &'static str {
    match result {
        BuildResult::Success => "succeeded",
        BuildResult::Failed => "failed",
        BuildResult::Canceled => "canceled",
        BuildResult::Running => "running",
    }
}

/// `cached`, `executed`, `failed`, `canceled`, `running`: also the HTML's class names.
pub fn status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Cached => "cached",
        StepStatus::Executed => "executed",
        StepStatus::Error => "failed",
        StepStatus::Canceled => "canceled",
        StepStatus::Running => "running",
    }
}

/// The bars of the critical path, first to last.
pub fn path_bars(t: &Timeline) -> impl Iterator<Item = &Bar> {
    t.path.iter().filter_map(|&i| t.bars.get(i))
}

/// The `n` longest bars, longest first (equal lengths in line order).
pub fn slowest(t: &Timeline, n: usize) -> Vec<&Bar> {
    let mut bars: Vec<&Bar> = t.bars.iter().filter(|b| b.length_ms() > 0).collect();
    bars.sort_by(|a, b| b.length_ms().cmp(&a.length_ms()).then(a.line.cmp(&b.line)));
    bars.truncate(n);
    bars
}

/// The note `report` and the editors give a bar: `◆ critical path: 3.0s of 3.7s` or `slack 2.1s`.
/// Shortest step the note speaks of: below it the duration prints as 0.0s (or was not in the log, as for
/// a failed step in plain output), and "0.0s of 11.5s" on every quick line is noise.
const NOTE_MIN_MS: u64 = 100;

/// The note of the instruction at `line` in timeline `t`: none for a step that came from the cache or took
/// no measurable time (on the path or not, it set nothing).
pub fn critical_note_at(t: &Timeline, line: u32) -> Option<String> {
    t.at_line(line).filter(|bar| bar.status != StepStatus::Cached && bar.length_ms() >= NOTE_MIN_MS).map(|bar| critical_note(t, bar))
}

/// Whether the build took measurable time at all: the classic builder and podman print no durations, so
/// their builds have no critical path or slack to state.
pub fn has_times(t: &Timeline) -> bool {
    t.total_ms >= NOTE_MIN_MS
}

pub fn critical_note(t: &Timeline, bar: &Bar) -> String {
    let of = crate::present::duration_ms(t.total_ms);
    if bar.critical {
        format!("◆ critical path: {} of {of}", crate::present::duration_ms(bar.length_ms()))
    } else {
        format!("ran in parallel, {} of slack", crate::present::duration_ms(bar.slack_ms))
    }
}

#[cfg(test)]
mod tests;

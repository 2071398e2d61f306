//! Advice where the records prove it: an expensive step that most recent builds rebuilt only because an
//! earlier COPY of the context missed (its inputs changed). The advice sits on that COPY, with the time it
//! cost, and suggests copying only what the expensive step needs before it. Pure; never without evidence:
//! at least two builds, and more than half of the recent builds that ran the step.

pub use super::explain::Advice;
use super::explain::{CauseKind, Explained};
use crate::present;

/// Default for `buildlens.explain.expensiveSeconds`.
pub const DEFAULT_EXPENSIVE_SECONDS: u64 = 60;
/// Recent builds looked at.
pub const RECENT_BUILDS: usize = 10;

/// The advice from `history`: the explanations of consecutive recent builds, oldest first.
pub fn advise(history: &[Explained], expensive_ms: u64) -> Vec<Advice> {
    let recent = history.get(history.len().saturating_sub(RECENT_BUILDS)..).unwrap_or(&[]);
    let mut out: Vec<Advice> = Vec::new();
    for line in expensive_lines(recent, expensive_ms) {
        if let Some(a) = advice_for(recent, line, expensive_ms) {
            if !out.iter().any(|o| o.line == a.line) {
                out.push(a);
            }
        }
    }
    out
}

/// Lines of steps that took at least `expensive_ms` in some recent build.
fn expensive_lines(recent: &[Explained], expensive_ms: u64) -> Vec<u32> {
    let mut lines: Vec<u32> =
        recent.iter().flat_map(|e| e.steps.iter()).filter(|s| s.duration_ms.unwrap_or(0) >= expensive_ms).map(|s| s.line).collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

fn advice_for(recent: &[Explained], line: u32, expensive_ms: u64) -> Option<Advice> {
    let compared: Vec<&Explained> = recent.iter().filter(|e| e.from.is_some() && e.at_line(line).is_some()).collect();
    let by_copy = |e: &Explained| {
        let s = e.at_line(line)?;
        (s.cause.kind == CauseKind::ParentRebuilt && s.root_kind == CauseKind::InputsChanged && s.root_keyword == "COPY")
            .then_some(s.cause.root_line)
    };
    let hits: Vec<(u32, &Explained)> = compared.iter().filter_map(|e| by_copy(e).map(|c| (c, *e))).collect();
    let copy = most_common(hits.iter().map(|(c, _)| *c))?;
    let builds: Vec<&Explained> = hits.iter().filter(|(c, _)| *c == copy).map(|(_, e)| *e).collect();
    if builds.len() < 2 || builds.len() * 2 <= compared.len() {
        return None;
    }
    let cost_ms: u64 = builds
        .iter()
        .flat_map(|e| e.steps.iter())
        .filter(|s| s.cause.root_line == copy)
        .filter_map(|s| s.duration_ms)
        .fold(0, u64::saturating_add);
    let end_line = builds.iter().find_map(|e| e.at_line(copy)).map_or(copy, |s| s.end_line);
    let step = builds.iter().find_map(|e| e.at_line(line))?;
    let message = format!(
        "line {line} ({}) takes over {} and was rebuilt in {} of the last {} builds only because this COPY's files changed: {} in all. \
         Copy only the files it needs before it, and the rest after it.",
        clip(&step.instruction, 40),
        present::duration_ms(expensive_ms),
        builds.len(),
        compared.len(),
        present::duration_ms(cost_ms)
    );
    Some(Advice { line: copy, end_line, expensive_line: line, builds: builds.len(), of: compared.len(), cost_ms, message })
}

fn most_common(lines: impl Iterator<Item = u32>) -> Option<u32> {
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for l in lines {
        match counts.iter_mut().find(|(x, _)| *x == l) {
            Some((_, n)) => *n += 1,
            None => counts.push((l, 1)),
        }
    }
    counts.into_iter().max_by_key(|(l, n)| (*n, std::cmp::Reverse(*l))).map(|(l, _)| l)
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

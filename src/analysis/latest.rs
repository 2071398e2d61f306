//! The latest build explained against the one before it, with the advice the recent builds prove
//! (`explain` for each pair of consecutive builds, `advice` over them).

use super::advice;
use super::explain::{explain_parsed, Caches, Explained, Side};
use super::shapes::MappingCache;

/// The latest of `sides` (oldest first) explained against the one before it, with the advice drawn from
/// each of the recent builds explained against its predecessor. `None` when there is no build of the
/// Dockerfile (see `explain_latest_with`).
pub fn explain_latest(dockerfile_text: &str, sides: &[Side<'_>], expensive_ms: u64) -> Option<Explained> {
    let (mut today, mut snapshots) = (MappingCache::default(), MappingCache::default());
    explain_latest_with(dockerfile_text, sides, expensive_ms, &mut Caches { today: &mut today, snapshots: &mut snapshots })
}

/// `explain_latest` through the caller's mapping caches.
/// Only builds of this Dockerfile count: a build none of whose steps maps onto it (another image of the same
/// job or record: `the build does not match this Dockerfile`) is neither explained nor compared with.
pub fn explain_latest_with(dockerfile_text: &str, sides: &[Side<'_>], expensive_ms: u64, caches: &mut Caches<'_>) -> Option<Explained> {
    // Parsed once for every pair (a 300-instruction Dockerfile is a millisecond or two).
    let df = crate::dockerfile::parse(dockerfile_text);
    let df_print = super::shapes::df_print(&df);
    let mine: Vec<Side<'_>> =
        sides.iter().copied().filter(|s| caches.today.map(&df, df_print, &s.build.build.steps).steps.iter().any(Option::is_some)).collect();
    let sides = mine.as_slice();
    let latest = *sides.last()?;
    let first = sides.len().saturating_sub(advice::RECENT_BUILDS + 1);
    let mut history: Vec<Explained> = Vec::new();
    for i in first.max(1)..sides.len() {
        history.push(explain_parsed(&df, df_print, sides.get(i - 1).copied(), *sides.get(i)?, caches));
    }
    let mut out = match history.pop() {
        Some(last) => last,
        None => explain_parsed(&df, df_print, None, latest, caches),
    };
    let advice_history: Vec<Explained> = history.into_iter().chain(std::iter::once(out.clone())).collect();
    out.advice = advice::advise(&advice_history, expensive_ms);
    Some(out)
}

//! Step-to-line mapping: which Dockerfile instruction each step of a recorded build ran.
//!
//! Architecture invariant: pure and infallible, like `log` and `dockerfile` (no I/O, no LSP types); a step
//! that cannot be placed with confidence maps to nothing and is listed in `problems` rather than guessed.
//!
//! Per group of steps that number together (`groups`), the recorded steps are aligned by text with
//! today's instructions of the matching stage (`align`), so mappings follow lines moved by edits and an
//! instruction edited since the build still maps, flagged `changed`. The error block's Dockerfile lines win
//! when the text there still matches. A build whose steps mostly match nothing maps nothing.

mod align;
mod groups;
mod memo;
mod resolve;
mod services;
mod shared;
mod text;

use serde::Serialize;

use crate::dockerfile::Dockerfile;
use crate::log::{Build, Step};
pub use memo::SimMemo;
pub use services::{failed_service, keep_services, services, services_matching_first, FAILED_ELSEWHERE};

/// Mappings with less confidence than this are dropped (and counted as problems).
pub const MIN_CONFIDENCE: f64 = 0.5;
/// Least share of a build's instruction steps whose text must match for the build to map at all.
pub const MIN_SCORE: f64 = 0.5;

/// Where one step's instruction is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepMapping {
    /// Index into `Dockerfile.instructions`.
    pub instruction: usize,
    /// The instruction's first and last line (1-based, today's file).
    pub line: u32,
    pub end_line: u32,
    /// 0..=1.
    pub confidence: f64,
    /// The instruction's text changed since the build: what the step says may be stale for this line.
    pub changed: bool,
    pub how: How,
}

/// What a mapping rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// Same text, at the recorded position.
    Text,
    /// Same text, at another position (lines inserted or removed since the build).
    Moved,
    /// The step's text is a clipped prefix of the instruction's (tty rows are cut at the terminal width).
    Clipped,
    /// Similar text or the same place between matched neighbours: edited since the build.
    Edited,
    /// The error block's `>>>` lines, with the text there still matching.
    ErrorLines,
    /// A BuildKit `ONBUILD …` trigger step: it runs because of the stage's FROM.
    Trigger,
    /// An un-numbered `FROM <image>` vertex of a `COPY --from=<image>`.
    CopyFromImage,
    /// A `FROM <image>` vertex BuildKit loaded once for several stages and named after a stage that does
    /// not load it (one that derives from it): the FROM that names the image.
    SharedImage,
}

/// Something that could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Index into `Build.steps`, when it is about one step.
    pub step: Option<usize>,
    pub message: String,
}

/// The mapping of one build onto one Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Mapping {
    /// One entry per `Build.steps` entry.
    pub steps: Vec<Option<StepMapping>>,
    pub problems: Vec<Problem>,
    /// Share of the build's instruction steps whose text matched (0 when it has none).
    pub score: f64,
}

/// Maps every step of `build` onto `df`.
pub fn map_build(df: &Dockerfile, build: &Build) -> Mapping {
    map_steps(df, &build.steps)
}

/// Maps steps (of one build) onto `df`.
pub fn map_steps(df: &Dockerfile, steps: &[Step]) -> Mapping {
    map_steps_of(df, steps, None)
}

/// Maps the steps of a build onto `df`; with `services`, only the steps of those compose services (and
/// the steps that name no service): the others are another Dockerfile's, left unmapped and unlisted.
/// The steps of each compose service are matched on their own: a service whose steps mostly match
/// nothing here maps nothing, whatever the other services do.
pub fn map_steps_of(df: &Dockerfile, steps: &[Step], services: Option<&[String]>) -> Mapping {
    map_steps_memo(df, steps, services, &mut SimMemo::default())
}

/// `map_steps_of` through a similarity memo kept by the caller between mappings of the same steps onto
/// edited texts (the result is the same as without it).
pub fn map_steps_memo(df: &Dockerfile, steps: &[Step], services: Option<&[String]>, memo: &mut SimMemo) -> Mapping {
    let in_scope = |s: &Step| services::in_scope(s, services);
    let mut out: Vec<Option<StepMapping>> = vec![None; steps.len()];
    let misnamed = shared::misnamed(df, steps, &in_scope);
    let is_misnamed = |s: &Step| misnamed.iter().any(|m| steps.get(m.step).is_some_and(|x| std::ptr::eq(x, s)));
    let (groups, triggers) = groups::group(steps, &|s| in_scope(s) && !is_misnamed(s));
    for g in &groups {
        resolve::group(df, g, &mut out, memo);
    }
    shared::place(df, &misnamed, &mut out);
    resolve::triggers(df, &triggers, &mut out);
    resolve::error_lines(df, steps, &mut out);
    resolve::copy_from_images(df, steps, &mut out);
    for (slot, step) in out.iter_mut().zip(steps) {
        if !in_scope(step) {
            *slot = None;
        }
    }
    let mut mapping = finish(steps, &groups, out);
    let unplaced = misnamed.iter().filter(|m| m.instruction.is_none() && mapping.score >= MIN_SCORE);
    mapping.problems.extend(unplaced.map(|m| {
        let name = steps.get(m.step).map_or("", |s| s.name.as_str());
        Problem { step: Some(m.step), message: format!("no FROM of this Dockerfile loads the image of step `{name}`") }
    }));
    mapping
}

/// Applies the build-level (per compose service) gate and the confidence threshold; lists what did not map.
fn finish(steps: &[Step], groups: &[groups::Group], mut out: Vec<Option<StepMapping>>) -> Mapping {
    let counted: Vec<usize> = groups.iter().flat_map(|g| g.steps.iter().map(|(i, _)| *i)).collect();
    let strong = counted.iter().filter(|&&i| out.get(i).and_then(|m| m.as_ref()).is_some_and(|m| !m.changed)).count();
    let score = if counted.is_empty() { 0.0 } else { strong as f64 / counted.len() as f64 };
    let mut problems = Vec::new();
    let left_out = services::gate(steps, groups, &mut out, &mut problems);
    if left_out.is_none() && !counted.is_empty() && score < MIN_SCORE {
        let message = format!("the build does not match this Dockerfile: {strong} of {} steps match", counted.len());
        problems.push(Problem { step: None, message });
        return Mapping { steps: vec![None; steps.len()], problems, score };
    }
    for (i, slot) in out.iter_mut().enumerate() {
        if slot.as_ref().is_some_and(|m| m.confidence < MIN_CONFIDENCE) {
            *slot = None;
            problems.push(Problem { step: Some(i), message: "mapping dropped: confidence too low".into() });
        }
    }
    for g in groups.iter().filter(|g| left_out.as_ref().is_none_or(|l| !l.contains(&g.lane.1))) {
        for (i, _) in &g.steps {
            if out.get(*i).is_some_and(Option::is_none) {
                let name = steps.get(*i).map_or("", |s| s.name.as_str());
                problems.push(Problem { step: Some(*i), message: format!("no instruction matches step `{name}`") });
            }
        }
    }
    Mapping { steps: out, problems, score }
}

/// The share of `build`'s instruction steps whose text matches `df` (0..=1).
pub fn score(df: &Dockerfile, build: &Build) -> f64 {
    map_build(df, build).score
}

/// Which of the candidate Dockerfiles (`(file name, parsed)`) a build most likely came from: the best
/// score of at least `MIN_SCORE`; on a tie, the one named like `build.dockerfile`, else the first.
pub fn best_match(candidates: &[(&str, &Dockerfile)], build: &Build) -> Option<(usize, f64)> {
    let named = |name: &str| build.dockerfile.as_deref().is_some_and(|d| base_name(d) == base_name(name));
    let mut best: Option<(usize, f64, bool)> = None;
    for (i, (name, df)) in candidates.iter().enumerate() {
        let s = score(df, build);
        let this = (i, s, named(name));
        best = match best {
            Some(b) if b.1 > s || (b.1 == s && (b.2 || !this.2)) => Some(b),
            _ => Some(this),
        };
    }
    best.filter(|b| b.1 >= MIN_SCORE).map(|b| (b.0, b.1)).or_else(|| by_error_lines(candidates, build))
}

/// A build that failed before any step of the Dockerfile ran (an unresolved base image, a parse error)
/// has no text to match: it belongs to the candidate named like the file it loaded, when that file has
/// an instruction at the line its error names.
fn by_error_lines(candidates: &[(&str, &Dockerfile)], build: &Build) -> Option<(usize, f64)> {
    let [line, _] = build.error_lines?;
    let loaded = build.dockerfile.as_deref()?;
    if build.steps.iter().any(Step::is_instruction) {
        return None;
    }
    let fits = |(name, df): &(&str, &Dockerfile)| base_name(name) == base_name(loaded) && df.instruction_at_line(line).is_some();
    candidates.iter().position(fits).map(|i| (i, 0.0))
}

fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests;

//! Places each group of steps in a stage of today's Dockerfile, then fills the step mappings.
//!
//! The stage the log names (`builder`, `stage-2`, podman's `[2/3]`) is tried first; when its text does
//! not fit (a renamed or reordered stage), the stage whose instructions fit best is used.

use super::align::{self, Pair, Rec};
use super::groups::{Group, Numbering, Recorded};
use super::memo::SimMemo;
use super::text::{self, SimKind};
use super::{How, StepMapping};
use crate::dockerfile::{Base, Dockerfile};
use crate::log::Step;

/// Least share of a group's steps that must match a stage's text for the stage to be taken.
const MIN_FIT: f64 = 0.5;

/// Maps one group's steps into `out`.
pub(super) fn group(df: &Dockerfile, g: &Group, out: &mut [Option<StepMapping>], memo: &mut SimMemo) {
    let recs: Vec<Rec> = g.steps.iter().map(|(i, r)| Rec { step: *i, k: r.k, text: r.text.clone(), clipped: r.clipped }).collect();
    let preferred = preferred_stage(df, g.numbering, g.stage.as_deref());
    let mut best: Option<(f64, Vec<usize>, Vec<Pair>)> = None;
    for (stage, seq) in candidates(df, g.numbering) {
        let pairs = align::align(df, &recs, &seq, g.n, memo);
        let fit = fit(&pairs, recs.len());
        if stage.is_some() && stage == preferred && fit >= MIN_FIT {
            best = Some((f64::INFINITY, seq, pairs));
            break;
        }
        if fit > 0.0 && best.as_ref().is_none_or(|b| fit > b.0) {
            best = Some((fit, seq, pairs));
        }
    }
    let Some((_, seq, pairs)) = best else { return };
    for p in &pairs {
        let (Some(rec), Some(&ins)) = (recs.get(p.pos), seq.get(p.j)) else {
            continue;
        };
        let at_position = rec.k as usize == p.j + 1;
        if let Some(slot) = out.get_mut(rec.step) {
            *slot = mapping(df, ins, p, at_position);
        }
    }
    for (dup, first) in &g.dups {
        let m = out.get(*first).cloned().flatten();
        if let Some(slot) = out.get_mut(*dup) {
            *slot = m;
        }
    }
}

/// Share of the steps matched by text (edited-but-similar pairs count by their score).
fn fit(pairs: &[Pair], steps: usize) -> f64 {
    if steps == 0 {
        return 0.0;
    }
    let sum: f64 = pairs.iter().filter(|p| !p.filled).map(|p| p.sim.score).sum();
    sum / steps as f64
}

fn mapping(df: &Dockerfile, ins: usize, p: &Pair, at_position: bool) -> Option<StepMapping> {
    let i = df.instructions.get(ins)?;
    let (how, confidence, changed) = match (p.sim.kind, p.filled) {
        (_, true) => (How::Edited, p.sim.score, true),
        (SimKind::Same, _) if at_position => (How::Text, 1.0, false),
        (SimKind::Same, _) => (How::Moved, 0.95, false),
        (SimKind::Clipped, _) => (How::Clipped, 0.9, false),
        _ => (How::Edited, p.sim.score, true),
    };
    Some(StepMapping { instruction: ins, line: i.line, end_line: i.end_line, confidence, changed, how })
}

/// The instruction sequences a group may number: per stage for BuildKit and podman, the whole file
/// for the legacy builder.
fn candidates(df: &Dockerfile, numbering: Numbering) -> Vec<(Option<usize>, Vec<usize>)> {
    match numbering {
        Numbering::Legacy => vec![(None, (0..df.instructions.len()).collect())],
        Numbering::Buildkit => (0..df.stages.len()).map(|s| (Some(s), df.buildkit_counted(s))).collect(),
        Numbering::Podman => (0..df.stages.len()).map(|s| (Some(s), df.stage_instructions(s))).collect(),
    }
}

/// The stage the log names: BuildKit `AS` name or `stage-<i>` (none printed for a single stage); podman
/// the 1-based stage position.
pub(super) fn preferred_stage(df: &Dockerfile, numbering: Numbering, stage: Option<&str>) -> Option<usize> {
    let single = (df.stages.len() == 1).then_some(0);
    match (numbering, stage) {
        (Numbering::Legacy, _) => None,
        (_, None) => single,
        (Numbering::Podman, Some(i)) => i.parse::<usize>().ok()?.checked_sub(1).filter(|&i| i < df.stages.len()),
        (Numbering::Buildkit, Some(name)) => df.stage_named(name).or_else(|| {
            let i: usize = name.strip_prefix("stage-")?.parse().ok()?;
            (i < df.stages.len()).then_some(i)
        }),
    }
}

/// BuildKit `ONBUILD …` steps run because of their stage's FROM: map them there.
pub(super) fn triggers(df: &Dockerfile, triggers: &[(usize, Recorded)], out: &mut [Option<StepMapping>]) {
    for (step, r) in triggers {
        let Some(stage) = preferred_stage(df, Numbering::Buildkit, r.stage.as_deref()).and_then(|s| df.stages.get(s)) else {
            continue;
        };
        let Some(from) = df.instructions.get(stage.from) else {
            continue;
        };
        if let Some(slot) = out.get_mut(*step) {
            let m = StepMapping {
                instruction: stage.from,
                line: from.line,
                end_line: from.end_line,
                confidence: 0.7,
                changed: false,
                how: How::Trigger,
            };
            *slot = Some(m);
        }
    }
}

/// The error block's `>>>` lines win when the instruction there still has the step's text; when it
/// does not, the file changed since the build and the text alignment stands (or, with none, the lines
/// are used, flagged changed).
pub(super) fn error_lines(df: &Dockerfile, steps: &[Step], out: &mut [Option<StepMapping>]) {
    for (i, step) in steps.iter().enumerate() {
        let Some([first, _]) = step.dockerfile_lines else {
            continue;
        };
        let Some(at) = df.instruction_at_line(first) else {
            continue;
        };
        let Some(ins) = df.instructions.get(at) else {
            continue;
        };
        let recorded = super::groups::recorded(step);
        let sim = recorded.as_ref().map(|r| text::compare(&r.text, r.clipped, ins));
        let Some(slot) = out.get_mut(i) else { continue };
        let base =
            StepMapping { instruction: at, line: ins.line, end_line: ins.end_line, confidence: 1.0, changed: false, how: How::ErrorLines };
        if sim.is_none_or(|s| s.same()) {
            *slot = Some(base);
        } else if slot.is_none() && sim.is_some_and(|s| s.kind == SimKind::Similar) {
            *slot = Some(StepMapping { confidence: 0.8, changed: true, ..base });
        }
    }
}

/// An un-numbered `FROM <image>` vertex pulls the image of a `COPY --from=<image>` (log-formats.md §3).
pub(super) fn copy_from_images(df: &Dockerfile, steps: &[Step], out: &mut [Option<StepMapping>]) {
    for (i, step) in steps.iter().enumerate() {
        if step.k.is_some() || out.get(i).is_some_and(Option::is_some) {
            continue;
        }
        let Some(image) = step.name.trim().strip_prefix("FROM ") else {
            continue;
        };
        let image = text::normalize_ref(image.trim());
        let found =
            df.stages.iter().flat_map(|s| &s.copies_from).find(|c| matches!(&c.source, Base::Image(r) if text::normalize_ref(r) == image));
        let Some(ins) = found.and_then(|c| df.instructions.get(c.instruction).map(|x| (c.instruction, x))) else {
            continue;
        };
        if let Some(slot) = out.get_mut(i) {
            let m = StepMapping {
                instruction: ins.0,
                line: ins.1.line,
                end_line: ins.1.end_line,
                confidence: 0.8,
                changed: false,
                how: How::CopyFromImage,
            };
            *slot = Some(m);
        }
    }
}

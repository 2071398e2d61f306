//! BuildKit's shared image vertex: one `FROM <image>` load for every stage that starts from that image,
//! named after ONE stage that uses it, chosen by a race (log-formats.md §3), possibly a stage that only
//! derives from it (`[app 1/3] FROM docker.io/library/base` for `FROM runtime AS app`, with the label of
//! app's own first step). Such a step is taken out of its label's group, so it neither takes nor displaces
//! that stage's steps, and goes to the FROM that really names the image.

use super::groups::{self, Numbering, Recorded};
use super::resolve::preferred_stage;
use super::text;
use super::{How, StepMapping};
use crate::dockerfile::{Base, Dockerfile};
use crate::log::Step;

/// A `FROM <image>` step named after a stage that does not load that image.
#[derive(Debug, Clone)]
pub(super) struct Misnamed {
    /// Index into `Build.steps`.
    pub step: usize,
    /// The FROM instruction that names the image, when one does.
    pub instruction: Option<usize>,
}

/// The misnamed image steps among the steps `keep` lets through.
pub(super) fn misnamed(df: &Dockerfile, steps: &[Step], keep: &dyn Fn(&Step) -> bool) -> Vec<Misnamed> {
    let recorded: Vec<Option<Recorded>> =
        steps.iter().map(|s| if keep(s) { groups::recorded(s).filter(|r| r.numbering == Numbering::Buildkit) } else { None }).collect();
    let mut out = Vec::new();
    for (i, r) in recorded.iter().enumerate() {
        let Some(r) = r.as_ref().filter(|r| is_from(r)) else { continue };
        let Some(labelled) = preferred_stage(df, Numbering::Buildkit, r.stage.as_deref()) else { continue };
        let loaders = image_loaders(df, r);
        let own = loaders.contains(&labelled);
        let image_base = df.stages.get(labelled).is_some_and(|s| matches!(s.base, Base::Image(_)));
        // Its label is another step's: one of another instruction, or the labelled stage's own image.
        let collides = recorded.iter().enumerate().any(|(j, o)| {
            o.as_ref().is_some_and(|o| {
                j != i
                    && o.stage == r.stage
                    && o.lane == r.lane
                    && o.k == r.k
                    && (!is_from(o) || !own && image_loaders(df, o).contains(&labelled))
            })
        });
        if !collides && image_base {
            continue; // its own stage's FROM (maybe edited since the build)
        }
        let instruction = pick(df, labelled, &loaders, &recorded).and_then(|s| df.stages.get(s)).map(|s| s.from);
        out.push(Misnamed { step: i, instruction });
    }
    out
}

/// Maps each misnamed step to its image's FROM.
pub(super) fn place(df: &Dockerfile, misnamed: &[Misnamed], out: &mut [Option<StepMapping>]) {
    for m in misnamed {
        let Some((ins, at)) = m.instruction.and_then(|i| Some((i, df.instructions.get(i)?))) else {
            continue;
        };
        if let Some(slot) = out.get_mut(m.step) {
            let how = How::SharedImage;
            *slot = Some(StepMapping { instruction: ins, line: at.line, end_line: at.end_line, confidence: 0.9, changed: false, how });
        }
    }
}

fn is_from(r: &Recorded) -> bool {
    text::keyword_and_args(&r.text).0 == "FROM"
}

/// The stages whose own FROM loads the step's image (the text there is the one built).
fn image_loaders(df: &Dockerfile, r: &Recorded) -> Vec<usize> {
    let loads = |s: &crate::dockerfile::Stage| {
        matches!(s.base, Base::Image(_)) && df.instructions.get(s.from).is_some_and(|ins| text::compare(&r.text, r.clipped, ins).same())
    };
    df.stages.iter().filter(|s| loads(s)).map(|s| s.index).collect()
}

/// Which loader the step stands for: the root of the labelled stage's chain, else the first loader that
/// (itself or a stage built on it) has steps in the log, else the first.
fn pick(df: &Dockerfile, labelled: usize, loaders: &[usize], recorded: &[Option<Recorded>]) -> Option<usize> {
    let root = root_of(df, labelled);
    if loaders.contains(&root) {
        return Some(root);
    }
    let in_log = |stage: usize| {
        recorded
            .iter()
            .flatten()
            .filter(|r| !is_from(r))
            .any(|r| preferred_stage(df, Numbering::Buildkit, r.stage.as_deref()).is_some_and(|s| root_of(df, s) == stage))
    };
    loaders.iter().copied().find(|&s| in_log(s)).or_else(|| loaders.first().copied())
}

/// The first stage of `stage`'s `FROM <stage>` chain.
fn root_of(df: &Dockerfile, mut stage: usize) -> usize {
    for _ in 0..df.stages.len() {
        match df.stages.get(stage).map(|s| &s.base) {
            Some(Base::Stage(base)) if *base < stage => stage = *base,
            _ => break,
        }
    }
    stage
}

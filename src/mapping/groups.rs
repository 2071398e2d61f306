//! Reads each step's position and text, and groups steps into the sequences that number together.
//!
//! BuildKit numbers `[stage k/n]` per stage, counting FROM-of-an-image/ADD/COPY/RUN/WORKDIR only
//! (log-formats.md §3); the legacy builder numbers `Step N/M` over the whole file, ARGs before the first
//! FROM included (§7); podman numbers `[i/n] STEP k/m` per stage, every instruction counted (§11).
//! Legacy and podman names are read directly (their shape is unambiguous); for BuildKit the fields the
//! log parsers filled win and the name is the fallback, so a bare `Step::named` maps too.

use std::sync::LazyLock;

use regex::Regex;

use crate::log::{step_name, Step};

/// How a build numbers its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Numbering {
    Buildkit,
    Legacy,
    Podman,
}

/// What one step says about its instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Recorded {
    pub numbering: Numbering,
    /// BuildKit stage name; podman stage position as text (`1`); none for legacy.
    pub stage: Option<String>,
    /// Platform and compose service keep sequences apart (each is numbered on its own).
    pub lane: (Option<String>, Option<String>),
    pub k: u32,
    pub n: Option<u32>,
    pub text: String,
    /// The builder may have cut the text (`Step::clipped`; never for legacy and podman names).
    pub clipped: bool,
}

static LEGACY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^Step (\d+)(?:/(\d+))? : (.*)$").expect("static regex"));
static PODMAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:\[(\d+)/\d+\] )?STEP (\d+)/(\d+): (.*)$").expect("static regex"));

/// The step's numbering, position and text; `None` for steps that are not Dockerfile instructions.
pub(super) fn recorded(step: &Step) -> Option<Recorded> {
    let name = step.name.trim();
    if name.starts_with("Step ") {
        return legacy(step, name);
    }
    if name.contains("STEP ") {
        if let Some(r) = podman(step, name) {
            return Some(r);
        }
    }
    buildkit(step, name)
}

fn legacy(step: &Step, name: &str) -> Option<Recorded> {
    let caps = LEGACY.captures(name);
    let group = |i: usize| caps.as_ref().and_then(|c| c.get(i)).map(|m| m.as_str());
    let k = group(1).and_then(|g| g.parse().ok()).or(step.k)?;
    let n = group(2).and_then(|g| g.parse().ok()).or(step.n);
    let text = group(3).map(str::to_string).or_else(|| step.instruction.clone())?;
    Some(Recorded { numbering: Numbering::Legacy, stage: None, lane: (None, None), k, n, text, clipped: false })
}

fn podman(step: &Step, name: &str) -> Option<Recorded> {
    let caps = PODMAN.captures(name)?;
    let group = |i: usize| caps.get(i).map(|m| m.as_str());
    let stage_index = group(1).and_then(|g| g.parse().ok()).or(step.stage_index);
    let k = group(2).and_then(|g| g.parse().ok()).or(step.k)?;
    let n = group(3).and_then(|g| g.parse().ok()).or(step.n);
    let text = group(4).map(str::to_string).or_else(|| step.instruction.clone())?;
    Some(Recorded {
        numbering: Numbering::Podman,
        stage: stage_index.map(|i| i.to_string()),
        lane: (None, None),
        k,
        n,
        text,
        clipped: false,
    })
}

fn buildkit(step: &Step, name: &str) -> Option<Recorded> {
    let (k, n, text, stage, lane) = if step.k.is_some() {
        (step.k, step.n, step.instruction.clone(), step.stage.clone(), (step.platform.clone(), step.service.clone()))
    } else {
        let p = step_name::parse(name);
        (p.k, p.n, p.instruction, p.stage, (p.platform, p.service))
    };
    Some(Recorded { numbering: Numbering::Buildkit, stage, lane, k: k?, n, text: text?, clipped: step.clipped })
}

/// Steps that number together: same numbering, lane and stage. Sorted by `k`; a repeated `k` (the
/// same vertex shown twice) stays with its first occurrence in `dups`.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub numbering: Numbering,
    pub stage: Option<String>,
    pub lane: (Option<String>, Option<String>),
    pub n: Option<u32>,
    /// (step index, recorded) in `k` order, one per `k`.
    pub steps: Vec<(usize, Recorded)>,
    /// (step index, step index of the first with the same `k`).
    pub dups: Vec<(usize, usize)>,
}

/// Groups the instruction steps of a build that `keep` lets through; BuildKit `ONBUILD` trigger steps are
/// returned apart.
pub(super) fn group(steps: &[Step], keep: &dyn Fn(&Step) -> bool) -> (Vec<Group>, Vec<(usize, Recorded)>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut triggers = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if !keep(step) {
            continue;
        }
        let Some(r) = recorded(step) else { continue };
        if r.numbering == Numbering::Buildkit && r.text.trim_start().to_ascii_uppercase().starts_with("ONBUILD ") {
            triggers.push((i, r));
            continue;
        }
        let found = groups.iter().position(|g| g.numbering == r.numbering && g.stage == r.stage && g.lane == r.lane);
        let g = match found {
            Some(g) => g,
            None => {
                groups.push(Group {
                    numbering: r.numbering,
                    stage: r.stage.clone(),
                    lane: r.lane.clone(),
                    n: None,
                    steps: Vec::new(),
                    dups: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let Some(g) = groups.get_mut(g) else { continue };
        g.n = g.n.or(r.n);
        match g.steps.iter().find(|(_, x)| x.k == r.k) {
            Some((first, _)) => g.dups.push((i, *first)),
            None => g.steps.push((i, r)),
        }
    }
    for g in &mut groups {
        g.steps.sort_by_key(|(_, r)| r.k);
    }
    (groups, triggers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, expect: Option<(Numbering, Option<&str>, u32, &str)>) {
        let got = recorded(&Step::named(name));
        let got = got.as_ref().map(|r| (r.numbering, r.stage.as_deref(), r.k, r.text.as_str()));
        assert_eq!(got, expect, "{name}");
    }

    #[test]
    fn names() {
        check("Step 3/6 : COPY hello.txt .", Some((Numbering::Legacy, None, 3, "COPY hello.txt .")));
        check("Step 18 : RUN make", Some((Numbering::Legacy, None, 18, "RUN make")));
        check("[2/2] STEP 3/3: RUN cat /y && exit 3", Some((Numbering::Podman, Some("2"), 3, "RUN cat /y && exit 3")));
        check("STEP 1/2: FROM alpine", Some((Numbering::Podman, None, 1, "FROM alpine")));
        check("[builder 4/5] RUN make", Some((Numbering::Buildkit, Some("builder"), 4, "RUN make")));
        check("[linux/arm64 2/3] RUN STEP 1/2: x", Some((Numbering::Buildkit, None, 2, "RUN STEP 1/2: x")));
        check("[internal] load build definition from Dockerfile", None);
        check("exporting to image", None);
        check("FROM docker.io/library/alpine@sha256:abc", None);
    }

    #[test]
    fn grouping() {
        let names = [
            "[b 2/3] RUN x",
            "[b 1/3] FROM a",
            "[linux/arm64 b 1/3] FROM a",
            "[b 2/3] RUN x",
            "[c 1/2] ONBUILD RUN y",
            "Step 1/2 : FROM a",
        ];
        let steps: Vec<Step> = names.iter().map(|n| Step::named(*n)).collect();
        let (groups, triggers) = group(&steps, &|_| true);
        let shape: Vec<(Numbering, Vec<usize>, usize)> =
            groups.iter().map(|g| (g.numbering, g.steps.iter().map(|s| s.0).collect(), g.dups.len())).collect();
        assert_eq!(shape, [(Numbering::Buildkit, vec![1, 0], 1), (Numbering::Buildkit, vec![2], 0), (Numbering::Legacy, vec![5], 0)]);
        assert_eq!(triggers.len(), 1);
    }
}

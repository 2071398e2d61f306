//! Compose and bake builds: several services, each with its own Dockerfile, in one build. Each service's
//! steps are matched on their own (never the whole log against one Dockerfile), and a caller that knows
//! which services built a Dockerfile (the compose file, the record) maps only theirs.

use super::groups::{self, Group};
use super::{map_steps_of, Problem, StepMapping, MIN_SCORE};
use crate::dockerfile::Dockerfile;
use crate::log::{error_block, step_name, Build, Problem as BuildProblem, Step, StepStatus};

/// In the problem a scoped build keeps when the service it failed in is left out (`keep_services`).
pub const FAILED_ELSEWHERE: &str = "the build failed there, on its own Dockerfile";

/// The compose service a step belongs to: the parsers' field, else the name's two-word prefix.
pub(super) fn service_of(step: &Step) -> Option<String> {
    if step.service.is_some() || step.k.is_some() {
        return step.service.clone();
    }
    step_name::parse(&step.name).service
}

/// True when the step is mapped under `services` (none: every step; a step without a service always).
pub(super) fn in_scope(step: &Step, services: Option<&[String]>) -> bool {
    let Some(services) = services else { return true };
    service_of(step).is_none_or(|s| services.contains(&s))
}

/// Keeps only the steps of `services` (and those that name none): the build as one Dockerfile saw it.
/// When the build failed in a service left out (and in none kept), its build-level facts go with that
/// service: the error's Dockerfile lines and the check warnings count that service's file, so they are
/// dropped, and a problem says where the build failed (`FAILED_ELSEWHERE`).
pub fn keep_services(build: &mut Build, services: &[String]) {
    let failed_elsewhere = failed_service(build).filter(|s| !services.contains(s));
    build.steps.retain(|s| in_scope(s, Some(services)));
    let Some(service) = failed_elsewhere.filter(|_| !build.steps.iter().any(|s| s.status == StepStatus::Error)) else {
        return;
    };
    build.error_lines = None;
    build.warnings.clear();
    build.problems.push(BuildProblem { offset: None, message: format!("service `{service}` left out: {FAILED_ELSEWHERE}") });
}

/// The compose service (bake target) a build failed in: its last failed step's, else the target its
/// final error names (`target web: failed to solve: …`, a failure before any step of it, a parse error).
pub fn failed_service(build: &Build) -> Option<String> {
    match build.steps.iter().rev().find(|s| s.status == StepStatus::Error) {
        Some(step) => service_of(step),
        None => build.error.as_deref().and_then(error_block::target_of).map(str::to_string),
    }
}

/// The compose services of the numbered steps, in order of first appearance (empty: not a compose build).
pub fn services(steps: &[Step]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in steps {
        if groups::recorded(step).is_none() {
            continue;
        }
        if let Some(s) = service_of(step).filter(|s| !out.contains(s)) {
            out.push(s);
        }
    }
    out
}

/// The per-service gate: when the groups name compose services, each service whose own steps mostly
/// match nothing here is left out (its mappings cleared, one problem line). `None` for a build without
/// services (the caller applies the whole-build gate); else the services left out.
pub(super) fn gate(
    steps: &[Step],
    groups: &[Group],
    out: &mut [Option<StepMapping>],
    problems: &mut Vec<Problem>,
) -> Option<Vec<Option<String>>> {
    if groups.iter().all(|g| g.lane.1.is_none()) {
        return None;
    }
    let mut lanes: Vec<Option<String>> = Vec::new();
    for g in groups {
        if !lanes.contains(&g.lane.1) {
            lanes.push(g.lane.1.clone());
        }
    }
    let mut left_out = Vec::new();
    for lane in lanes {
        let counted: Vec<usize> = groups.iter().filter(|g| g.lane.1 == lane).flat_map(|g| g.steps.iter().map(|(i, _)| *i)).collect();
        let strong = counted.iter().filter(|&&i| out.get(i).and_then(|m| m.as_ref()).is_some_and(|m| !m.changed)).count();
        if counted.is_empty() || strong as f64 / counted.len() as f64 >= MIN_SCORE {
            continue;
        }
        for (slot, step) in out.iter_mut().zip(steps) {
            if service_of(step) == lane {
                *slot = None;
            }
        }
        let who = lane.as_deref().map_or_else(|| "steps without a service".to_string(), |s| format!("service `{s}`"));
        let message = format!("{who} left out: {strong} of {} steps match this Dockerfile", counted.len());
        problems.push(Problem { step: None, message });
        left_out.push(lane);
    }
    Some(left_out)
}

/// For a compose build: the services whose own steps match `candidates[0]` best among the candidates
/// (`(file name, parsed)`), each at least `MIN_SCORE`; a tie goes to the file named like the one the
/// build loaded, else to the first. `None` for a build without services.
pub fn services_matching_first(candidates: &[(&str, &Dockerfile)], build: &Build) -> Option<Vec<String>> {
    let all = services(&build.steps);
    if all.is_empty() {
        return None;
    }
    let named = |name: &str| build.dockerfile.as_deref().is_some_and(|d| super::base_name(d) == super::base_name(name));
    let mine = all.into_iter().filter(|service| {
        let only = std::slice::from_ref(service);
        let mut best: Option<(usize, f64, bool)> = None;
        for (i, (name, df)) in candidates.iter().enumerate() {
            let score = map_steps_of(df, &build.steps, Some(only)).score;
            let this = (i, score, named(name));
            best = match best {
                Some(b) if b.1 > score || (b.1 == score && (b.2 || !this.2)) => Some(b),
                _ => Some(this),
            };
        }
        best.is_some_and(|b| b.0 == 0 && b.1 >= MIN_SCORE)
    });
    Some(mine.collect())
}

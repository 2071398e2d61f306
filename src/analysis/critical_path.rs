//! The critical path of a build: over a graph of steps (each depends on earlier ones) with their times,
//! the chain of steps that set the wall time, and each step's slack (how long it could have taken longer
//! without making the build longer). Pure and generic: `timeline` builds the graph from a Dockerfile's
//! stages and a recorded build.
//!
//! Times: a step with a measured start (and end, or duration) is placed where it ran; a step without one
//! is laid after the latest of its dependencies with its duration (0 when unknown: cached steps). The
//! path is walked back from the step that ended last, each time to the dependency that ended last (the
//! one the step waited for). Slack is the classic latest finish less the end; a wait between a step's last
//! dependency ending and its measured start counts as the step's own (so the path has no slack).

/// One step of the graph. `deps` name earlier tasks (indexes below this one's); others are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Task {
    pub deps: Vec<usize>,
    /// Milliseconds since any common origin (the caller's: e.g. Unix time), when the log has them.
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub duration_ms: Option<u64>,
}

/// Where a task ran, relative to the build's first start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Placed {
    pub start_ms: u64,
    pub end_ms: u64,
    /// How much later this task could have ended without the build ending later.
    pub slack_ms: u64,
    pub critical: bool,
    /// The start came from the log (not laid out from durations).
    pub measured: bool,
}

/// The schedule of a graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    pub tasks: Vec<Placed>,
    /// Task indexes of the critical path, first to last.
    pub path: Vec<usize>,
    /// The wall time: the latest end.
    pub total_ms: u64,
}

/// Places every task, then finds the critical path and the slack.
pub fn schedule(tasks: &[Task]) -> Schedule {
    let mut placed = place(tasks);
    let total_ms = placed.iter().map(|p| p.end_ms).max().unwrap_or(0);
    let latest_finish = latest_finish(tasks, &placed, total_ms);
    for (p, lf) in placed.iter_mut().zip(&latest_finish) {
        p.slack_ms = lf.saturating_sub(p.end_ms);
    }
    let path = walk_back(tasks, &placed);
    for &i in &path {
        if let Some(p) = placed.get_mut(i) {
            p.critical = true;
        }
    }
    Schedule { tasks: placed, path, total_ms }
}

/// The tasks' deps that are earlier tasks (a graph with a forward or self edge is not trusted there).
fn deps_of(tasks: &[Task], i: usize) -> impl Iterator<Item = usize> + '_ {
    tasks.get(i).into_iter().flat_map(move |t| t.deps.iter().copied().filter(move |&d| d < i))
}

/// Start and end of each task relative to the earliest measured start (0 with none measured).
fn place(tasks: &[Task]) -> Vec<Placed> {
    let origin = tasks.iter().filter_map(|t| t.start_ms.or(t.end_ms)).min().unwrap_or(0);
    let mut placed: Vec<Placed> = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.iter().enumerate() {
        let ready = deps_of(tasks, i).filter_map(|d| placed.get(d)).map(|p| p.end_ms).max().unwrap_or(0);
        let p = match (t.start_ms, t.end_ms, t.duration_ms) {
            (Some(s), end, duration) => {
                let start_ms = s.saturating_sub(origin);
                let end_ms = end.map(|e| e.saturating_sub(origin)).or_else(|| duration.map(|d| start_ms.saturating_add(d)));
                Placed { start_ms, end_ms: end_ms.unwrap_or(start_ms).max(start_ms), measured: true, ..Placed::default() }
            }
            (None, Some(e), duration) => {
                let end_ms = e.saturating_sub(origin);
                let start_ms = duration.map_or(ready.min(end_ms), |d| end_ms.saturating_sub(d));
                Placed { start_ms, end_ms, measured: true, ..Placed::default() }
            }
            (None, None, duration) => Placed { start_ms: ready, end_ms: ready.saturating_add(duration.unwrap_or(0)), ..Placed::default() },
        };
        placed.push(p);
    }
    placed
}

/// The latest each task could have ended: a task with no dependents by the build's end; else the least,
/// over its dependents, of the dependent's latest finish less its own length and the wait before it.
fn latest_finish(tasks: &[Task], placed: &[Placed], total_ms: u64) -> Vec<u64> {
    let mut lf: Vec<u64> = vec![total_ms; tasks.len()];
    for i in (0..tasks.len()).rev() {
        let (Some(me), Some(&my_lf)) = (placed.get(i), lf.get(i)) else { continue };
        let slack_here = my_lf.saturating_sub(me.end_ms);
        // A wait after the last dependency ended (a busy worker, an untracked vertex) is the task's own:
        // its dependencies could have ended no later than it became ready.
        let ready = deps_of(tasks, i).filter_map(|d| placed.get(d)).map(|p| p.end_ms).max().unwrap_or(0);
        let waited_from = ready.min(me.start_ms);
        for d in deps_of(tasks, i) {
            let Some(dep) = placed.get(d) else { continue };
            let candidate = waited_from.max(dep.end_ms).saturating_add(slack_here);
            if let Some(slot) = lf.get_mut(d) {
                *slot = (*slot).min(candidate);
            }
        }
    }
    lf
}

/// From the task that ended last (the last of them on a tie: a failed step of 0 ms after the step it
/// follows), back through the dependency that ended
/// last each time.
fn walk_back(tasks: &[Task], placed: &[Placed]) -> Vec<usize> {
    let mut last = None::<(usize, u64)>;
    for (i, p) in placed.iter().enumerate() {
        if last.is_none_or(|(_, end)| p.end_ms >= end) {
            last = Some((i, p.end_ms));
        }
    }
    let mut path = Vec::new();
    let mut at = last.map(|(i, _)| i);
    while let Some(i) = at {
        path.push(i);
        let mut best = None::<(usize, u64)>;
        for d in deps_of(tasks, i) {
            let end = placed.get(d).map_or(0, |p| p.end_ms);
            // Ties go to the later task: the step order within a stage.
            if best.is_none_or(|(b, e)| end > e || (end == e && d > b)) {
                best = Some((d, end));
            }
        }
        at = best.map(|(d, _)| d);
    }
    path.reverse();
    path
}

#[cfg(test)]
#[path = "critical_path_tests.rs"]
mod tests;

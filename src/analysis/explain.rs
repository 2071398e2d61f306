//! Why a step was rebuilt: for two builds of one Dockerfile (previous, latest), the cause of every step the
//! latest build executed, traced back to the first step of its chain (issue #7). Pure: the caller loads
//! the builds and what `record` kept of them (`BuildFacts`: build args, `--no-cache`, the tool, and the
//! Dockerfile snapshot and context manifest of `inputs.json`); old records without inputs still explain,
//! with less detail.
//!
//! The chain follows the cache's own rule: a step misses when its parent missed (the step before it in
//! its stage, the base stage's last step for `FROM <stage>`, the source stage for `COPY --from`), else
//! because of something about the step itself (its text, a build arg, the base image, its files).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::inputs::{self, BuildFacts};
use super::shapes::{self, MappingCache};
use super::RecordedBuild;
use crate::dockerfile::{self, Base, Dockerfile};
use crate::log::{Build, StepStatus};

/// Why a step executed instead of coming from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseKind {
    InstructionChanged,
    ParentRebuilt,
    InputsChanged,
    BaseImageChanged,
    BuildArgChanged,
    NoEarlierBuild,
    CacheNotUsed,
}

impl CauseKind {
    /// A few words for a code lens (`rebuilt: line 8 COPY changed inputs`).
    pub fn short(self) -> &'static str {
        match self {
            CauseKind::InstructionChanged => "instruction changed",
            CauseKind::ParentRebuilt => "parent rebuilt",
            CauseKind::InputsChanged => "changed inputs",
            CauseKind::BaseImageChanged => "new base image",
            CauseKind::BuildArgChanged => "build arg changed",
            CauseKind::NoEarlierBuild => "no earlier build",
            CauseKind::CacheNotUsed => "cache not used",
        }
    }
}

/// The cause of one executed step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub kind: CauseKind,
    /// The first executed step of the chain (the step itself unless `parent-rebuilt`), 1-based.
    pub root_line: u32,
    /// What a user reads: `its inputs changed (package/hello/build.sh)`, or for `parent-rebuilt`
    /// `line 8 (COPY . .) was not cached: its inputs changed (…)`.
    pub detail: String,
}

impl Cause {
    /// The kind as written in `--json` (`parent-rebuilt`).
    pub fn kind_name(&self) -> String {
        serde_json::to_value(self.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
    }
}

/// One executed step of the latest build and its cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCause {
    pub line: u32,
    pub end_line: u32,
    pub keyword: String,
    /// The instruction's text (continuations joined), for display.
    pub instruction: String,
    pub status: StepStatus,
    pub duration_ms: Option<u64>,
    pub cause: Cause,
    /// The root step's own kind and keyword (for `parent-rebuilt`: what the chain started with).
    pub root_kind: CauseKind,
    pub root_keyword: String,
}

/// The causes of one build's executed steps, relative to the build before it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    /// Record id of the previous build (`None`: no earlier build) and of the explained one.
    pub from: Option<String>,
    pub to: String,
    pub steps: Vec<StepCause>,
    /// Advice from the recorded history (`advice`), on COPY lines.
    #[serde(default)]
    pub advice: Vec<Advice>,
}

/// One piece of advice, on a COPY/ADD line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    /// The COPY's first and last line.
    pub line: u32,
    pub end_line: u32,
    /// The expensive step it invalidated.
    pub expensive_line: u32,
    /// Builds that rebuilt the expensive step only because of this COPY, of the recent builds that
    /// executed it with a previous build to compare with.
    pub builds: usize,
    pub of: usize,
    /// Time of the steps rebuilt because of this COPY in those builds, milliseconds.
    pub cost_ms: u64,
    pub message: String,
}

impl Explained {
    /// The cause of the step at 1-based `line`, if the build executed it.
    pub fn at_line(&self, line: u32) -> Option<&StepCause> {
        self.steps.iter().find(|s| s.line == line)
    }
}

/// One build and its recorded facts.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub build: &'a RecordedBuild,
    pub facts: &'a BuildFacts,
}

/// What one build did at one instruction of today's Dockerfile.
#[derive(Debug, Clone)]
struct RunAt<'a> {
    status: StepStatus,
    duration_ms: Option<u64>,
    /// The step's text as the builder printed it (compared with blanks collapsed).
    printed: &'a str,
    /// The instruction's text in the build's Dockerfile snapshot, when there is one.
    snapshot: Option<String>,
    /// FROM: the image the builder resolved (digest or legacy image id).
    resolved: Option<String>,
}

impl RunAt<'_> {
    fn missed(&self) -> bool {
        self.status != StepStatus::Cached
    }
}

/// The runs of one build per instruction index of today's Dockerfile.
fn runs_of<'a>(df: &Dockerfile, df_print: u64, build: &'a Build, facts: &BuildFacts, caches: &mut Caches<'_>) -> Vec<Option<RunAt<'a>>> {
    let mut out: Vec<Option<RunAt>> = vec![None; df.instructions.len()];
    let snap_text = facts.inputs.as_ref().and_then(|i| i.dockerfile.as_deref());
    let snap = snap_text.map(dockerfile::parse);
    let snap_map = snap.as_ref().zip(snap_text).map(|(s, t)| caches.snapshots.map(s, shapes::text_print(t), &build.steps));
    let mapped = caches.today.map(df, df_print, &build.steps);
    for (i, (step, m)) in build.steps.iter().zip(&mapped.steps).enumerate() {
        let Some(m) = m else { continue };
        let snapshot = snap.as_ref().zip(snap_map.as_ref()).and_then(|(s, sm)| {
            let j = sm.steps.get(i)?.as_ref()?.instruction;
            Some(collapse(&s.instructions.get(j)?.joined))
        });
        let run = RunAt {
            status: step.status,
            duration_ms: step.duration_ms,
            printed: step.instruction.as_deref().unwrap_or(&step.name),
            snapshot,
            resolved: inputs::resolved_image(step),
        };
        merge(out.get_mut(m.instruction), run);
    }
    out
}

/// Several steps at one instruction (one per platform): the worst status, the longest time.
fn merge<'a>(slot: Option<&mut Option<RunAt<'a>>>, run: RunAt<'a>) {
    let Some(slot) = slot else { return };
    match slot {
        Some(prev) => {
            if run.status != StepStatus::Cached {
                prev.status = if prev.status == StepStatus::Cached { run.status } else { prev.status };
            }
            prev.duration_ms = prev.duration_ms.max(run.duration_ms);
            prev.resolved = prev.resolved.take().or(run.resolved);
        }
        None => *slot = Some(run),
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Everything the per-step pass looks at.
struct Ctx<'a> {
    df: &'a Dockerfile,
    latest: Vec<Option<RunAt<'a>>>,
    prev: Vec<Option<RunAt<'a>>>,
    latest_side: Side<'a>,
    prev_side: Side<'a>,
    changed_args: BTreeMap<String, (Option<String>, Option<String>)>,
    /// Every step of the latest build missed and nothing explains it: the cache was pruned.
    pruned: bool,
}

/// Explains the latest build's executed steps against the previous build, on today's Dockerfile text.
pub fn explain(dockerfile_text: &str, previous: Option<Side<'_>>, latest: Side<'_>) -> Explained {
    let (mut today, mut snapshots) = (MappingCache::default(), MappingCache::default());
    explain_with(dockerfile_text, previous, latest, &mut Caches { today: &mut today, snapshots: &mut snapshots })
}

/// The mapping caches `explain_with` maps builds through: onto today's text (the cache `annotate_with` fills:
/// each build shape mapped once) and onto the records' own Dockerfile snapshots (stable across edits).
pub struct Caches<'a> {
    pub today: &'a mut MappingCache,
    pub snapshots: &'a mut MappingCache,
}

/// `explain` through the caller's mapping caches.
pub fn explain_with(dockerfile_text: &str, previous: Option<Side<'_>>, latest: Side<'_>, caches: &mut Caches<'_>) -> Explained {
    let df = dockerfile::parse(dockerfile_text);
    explain_parsed(&df, shapes::df_print(&df), previous, latest, caches)
}

/// `explain_with` of a Dockerfile already parsed (`df_print`: `shapes::df_print` of it).
pub fn explain_parsed(df: &Dockerfile, df_print: u64, previous: Option<Side<'_>>, latest: Side<'_>, caches: &mut Caches<'_>) -> Explained {
    let latest_runs = runs_of(df, df_print, &latest.build.build, latest.facts, caches);
    let base = Explained { from: previous.map(|p| p.build.id.clone()), to: latest.build.id.clone(), ..Explained::default() };
    let Some(prev) = previous else {
        let cause = |i: usize, _: &[Option<Cause>]| Some(own(i, df, CauseKind::NoEarlierBuild, "no earlier build to compare with".into()));
        return Explained { steps: walk(df, &latest_runs, &cause), ..base };
    };
    if let Some(why) = cache_off(prev, latest) {
        let cause = |i: usize, _: &[Option<Cause>]| Some(own(i, df, CauseKind::CacheNotUsed, why.clone()));
        return Explained { steps: walk(df, &latest_runs, &cause), ..base };
    }
    let mut ctx = Ctx {
        df,
        prev: runs_of(df, df_print, &prev.build.build, prev.facts, caches),
        latest: latest_runs,
        latest_side: latest,
        prev_side: prev,
        changed_args: inputs::changed_args(&prev.facts.build_args, &latest.facts.build_args),
        pruned: false,
    };
    let mut steps = walk(df, &ctx.latest, &|i, causes| step_cause(&ctx, i, causes));
    if all_missed(df, &ctx.latest) && steps.iter().all(unexplained) {
        ctx.pruned = true;
        steps = walk(df, &ctx.latest, &|i, causes| step_cause(&ctx, i, causes));
    }
    Explained { steps, ..base }
}

/// `--no-cache`, or another builder than last time: nothing could come from the cache.
fn cache_off(prev: Side<'_>, latest: Side<'_>) -> Option<String> {
    if latest.facts.no_cache {
        return Some("the build ran with --no-cache".into());
    }
    let (a, b) = (prev.build.build.format, latest.build.build.format);
    if a != b {
        return Some(format!("another builder than the previous build ({}, then {})", a.as_str(), b.as_str()));
    }
    let (a, b) = (&prev.facts.tool, &latest.facts.tool);
    if !a.is_empty() && !b.is_empty() && a != b {
        return Some(format!("another build tool than the previous build ({a}, then {b})"));
    }
    None
}

/// Every step but the FROMs missed.
fn all_missed(df: &Dockerfile, runs: &[Option<RunAt>]) -> bool {
    let steps: Vec<&RunAt> = runs.iter().enumerate().filter(|(i, _)| !is_from(df, *i)).filter_map(|(_, r)| r.as_ref()).collect();
    !steps.is_empty() && steps.iter().all(|r| r.missed())
}

/// A root cause with no evidence behind it (no text, arg, image or file change).
fn unexplained(s: &StepCause) -> bool {
    match s.root_kind {
        CauseKind::CacheNotUsed => true,
        CauseKind::InputsChanged => s.cause.detail.ends_with("its inputs changed"),
        _ => false,
    }
}

fn is_from(df: &Dockerfile, i: usize) -> bool {
    df.instructions.get(i).is_some_and(|x| x.keyword == "FROM")
}

/// Decides the cause of instruction `i` from the causes decided so far.
type Decide<'a> = &'a dyn Fn(usize, &[Option<Cause>]) -> Option<Cause>;

/// Visits the instructions in file order (stages come before the stages that use them) and collects
/// the causes of the executed ones; `cause(i, so_far)` decides one from the earlier ones.
fn walk(df: &Dockerfile, runs: &[Option<RunAt>], cause: Decide<'_>) -> Vec<StepCause> {
    let mut causes: Vec<Option<Cause>> = vec![None; df.instructions.len()];
    for i in 0..df.instructions.len() {
        if runs.get(i).and_then(Option::as_ref).is_some_and(RunAt::missed) {
            // A FROM "executes" whenever the builder resolves its image; only a new image is a rebuild.
            let c = cause(i, &causes).filter(|c| !is_from(df, i) || c.kind == CauseKind::BaseImageChanged);
            if let Some(slot) = causes.get_mut(i) {
                *slot = c;
            }
        }
    }
    let mut out = Vec::new();
    for (i, c) in causes.iter().enumerate() {
        let (Some(c), Some(run), Some(ins)) = (c, runs.get(i).and_then(Option::as_ref), df.instructions.get(i)) else { continue };
        let root = df.instruction_at_line(c.root_line).and_then(|r| causes.get(r)?.as_ref().map(|rc| (rc.kind, r)));
        let (root_kind, root_keyword) = match root {
            Some((kind, r)) => (kind, df.instructions.get(r).map_or_else(String::new, |x| x.keyword.clone())),
            None => (c.kind, ins.keyword.clone()),
        };
        out.push(StepCause {
            line: ins.line,
            end_line: ins.end_line,
            keyword: ins.keyword.clone(),
            instruction: collapse(&ins.joined),
            status: run.status,
            duration_ms: run.duration_ms,
            cause: c.clone(),
            root_kind,
            root_keyword,
        });
    }
    out
}

/// A cause rooted at instruction `i` itself.
fn own(i: usize, df: &Dockerfile, kind: CauseKind, detail: String) -> Cause {
    Cause { kind, root_line: df.instructions.get(i).map_or(0, |x| x.line), detail }
}

/// The cause of executed instruction `i`, `None` for a FROM that is not a rebuild (same or unknown image).
fn step_cause(ctx: &Ctx<'_>, i: usize, causes: &[Option<Cause>]) -> Option<Cause> {
    let df = ctx.df;
    if let Some(c) = parent_cause(ctx, i, causes) {
        return Some(c);
    }
    let (Some(run), ins) = (ctx.latest.get(i).and_then(Option::as_ref), df.instructions.get(i)?) else { return None };
    let Some(prev) = ctx.prev.get(i).and_then(Option::as_ref) else {
        return Some(missing_before(ctx, i));
    };
    if ins.keyword == "FROM" {
        return match (&prev.resolved, &run.resolved) {
            (Some(a), Some(b)) if a != b => {
                Some(own(i, df, CauseKind::BaseImageChanged, format!("the base image changed ({} → {})", short_id(a), short_id(b))))
            }
            _ => None,
        };
    }
    if let (Some(a), Some(b)) = (&prev.snapshot, &run.snapshot) {
        if a != b {
            return Some(own(i, df, CauseKind::InstructionChanged, "its instruction changed since the previous build".into()));
        }
    }
    if let Some(detail) = arg_change(ctx, i) {
        return Some(own(i, df, CauseKind::BuildArgChanged, detail));
    }
    if (prev.snapshot.is_none() || run.snapshot.is_none()) && !prev.printed.split_whitespace().eq(run.printed.split_whitespace()) {
        return Some(own(i, df, CauseKind::InstructionChanged, "its instruction changed since the previous build".into()));
    }
    if prev.status != StepStatus::Executed && prev.status != StepStatus::Cached {
        let how = if prev.status == StepStatus::Error { "it failed there" } else { "it did not finish there" };
        return Some(own(i, df, CauseKind::NoEarlierBuild, format!("no earlier build completed it ({how})")));
    }
    Some(self_cause(ctx, i))
}

/// No run of instruction `i` in the previous build: new, or the previous build never got there.
fn missing_before(ctx: &Ctx<'_>, i: usize) -> Cause {
    let df = ctx.df;
    let stage = df.instructions.get(i).and_then(|x| x.stage);
    let stage_ran =
        df.stage_instructions(stage.unwrap_or(usize::MAX)).iter().any(|&j| j > i && ctx.prev.get(j).is_some_and(Option::is_some));
    let snap_has = ctx.prev_side.facts.inputs.as_ref().and_then(|x| x.dockerfile.as_deref()).map(dockerfile::parse).map(|s| {
        let text = df.instructions.get(i).map(|x| collapse(&x.joined)).unwrap_or_default();
        s.instructions.iter().any(|x| collapse(&x.joined) == text)
    });
    if stage_ran || snap_has == Some(false) {
        own(i, df, CauseKind::InstructionChanged, "the instruction is new since the previous build".into())
    } else {
        own(i, df, CauseKind::NoEarlierBuild, "the previous build did not run it".into())
    }
}

/// COPY/ADD: the files under its sources; anything else with nothing changed: the cache was not there.
fn self_cause(ctx: &Ctx<'_>, i: usize) -> Cause {
    let df = ctx.df;
    let Some(ins) = df.instructions.get(i) else { return own(i, df, CauseKind::CacheNotUsed, String::new()) };
    let pruned =
        || own(i, df, CauseKind::CacheNotUsed, "every step missed and nothing changed: the build cache was pruned or not there".into());
    let copies_context = matches!(ins.effective_keyword(), "COPY" | "ADD") && ins.flag("from").is_none();
    if !copies_context {
        return if ctx.pruned {
            pruned()
        } else {
            own(i, df, CauseKind::CacheNotUsed, "its cache entry was not found (pruned, or built elsewhere)".into())
        };
    }
    let (a, b) = (ctx.prev_side.facts.inputs.as_deref(), ctx.latest_side.facts.inputs.as_deref());
    let files = a.zip(b).and_then(|(a, b)| inputs::changed_under(a, b, &inputs::copy_sources(ins)));
    match files {
        Some(list) if !list.is_empty() => {
            own(i, df, CauseKind::InputsChanged, format!("its inputs changed ({})", inputs::list_names(&list, 5)))
        }
        _ if ctx.pruned => pruned(),
        _ => own(i, df, CauseKind::InputsChanged, "its inputs changed".into()),
    }
}

/// A build arg declared by an ARG of this stage changed, the step sees it (a RUN gets every declared arg
/// in its environment; other instructions when their text names it), and no step between missed for it.
fn arg_change(ctx: &Ctx<'_>, i: usize) -> Option<String> {
    if ctx.changed_args.is_empty() {
        return None;
    }
    let df = ctx.df;
    let stage = df.instructions.get(i)?.stage?;
    let before: Vec<usize> = df.stage_instructions(stage).into_iter().filter(|&j| j < i).collect();
    let (arg_at, name) = before.iter().rev().find_map(|&j| {
        let ins = df.instructions.get(j).filter(|x| x.keyword == "ARG")?;
        let names = ins.args().split_whitespace().map(|w| w.split('=').next().unwrap_or(w).to_string()).collect::<Vec<_>>();
        names.into_iter().find(|n| ctx.changed_args.contains_key(n)).map(|n| (j, n))
    })?;
    let sees = |j: usize| {
        df.instructions
            .get(j)
            .is_some_and(|x| x.keyword == "RUN" || x.joined.contains(&format!("${name}")) || x.joined.contains(&format!("${{{name}")))
    };
    let missed = |j: usize| ctx.latest.get(j).and_then(Option::as_ref).is_some_and(RunAt::missed);
    if !sees(i) || before.iter().any(|&j| j > arg_at && sees(j) && missed(j)) {
        return None;
    }
    let (old, new) = ctx.changed_args.get(&name)?;
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".into());
    Some(format!("build arg {name} changed ({} → {})", show(old), show(new)))
}

/// The cause inherited from a rebuilt parent: the step before in the stage (the base stage's last step
/// for the first step after `FROM <stage>`), or the source stage of `COPY --from=<stage>`.
fn parent_cause(ctx: &Ctx<'_>, i: usize, causes: &[Option<Cause>]) -> Option<Cause> {
    let df = ctx.df;
    let ins = df.instructions.get(i)?;
    let mut parents: Vec<usize> = previous_step(ctx, i).into_iter().collect();
    if let Some(stage) = ins.stage.and_then(|s| df.stages.get(s)) {
        for edge in stage.copies_from.iter().filter(|e| e.instruction == i) {
            if let Base::Stage(src) = edge.source {
                parents.extend(last_step(ctx, src));
            }
        }
    }
    let (p, pc) = parents.into_iter().find_map(|p| causes.get(p)?.as_ref().map(|c| (p, c)))?;
    let root_line = pc.root_line;
    let detail = if pc.kind == CauseKind::ParentRebuilt {
        pc.detail.clone()
    } else {
        let root = df.instructions.get(p)?;
        format!("line {} ({}) was not cached: {}", root.line, clip(&collapse(&root.joined), 40), pc.detail)
    };
    Some(Cause { kind: CauseKind::ParentRebuilt, root_line, detail })
}

/// The instruction before `i` in its stage that the latest build ran; for the first one after
/// `FROM <stage>`, that stage's last step.
fn previous_step(ctx: &Ctx<'_>, i: usize) -> Option<usize> {
    let df = ctx.df;
    let stage = df.instructions.get(i)?.stage?;
    let earlier = df.stage_instructions(stage).into_iter().filter(|&j| j < i).rev();
    let has_run = |j: &usize| ctx.latest.get(*j).is_some_and(Option::is_some);
    if let Some(j) = earlier.clone().find(|j| has_run(j) && !is_from(df, *j)) {
        return Some(j);
    }
    match df.stages.get(stage)?.base {
        Base::Stage(s) => last_step(ctx, s),
        _ => earlier.into_iter().find(has_run),
    }
}

/// The last instruction of stage `s` the latest build ran (following `FROM <stage>` back).
fn last_step(ctx: &Ctx<'_>, s: usize) -> Option<usize> {
    let df = ctx.df;
    let found = df.stage_instructions(s).into_iter().rev().find(|j| ctx.latest.get(*j).is_some_and(Option::is_some) && !is_from(df, *j));
    match (found, df.stages.get(s).map(|x| &x.base)) {
        (Some(j), _) => Some(j),
        (None, Some(Base::Stage(b))) if *b < s => last_step(ctx, *b),
        _ => None,
    }
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `sha256:4f3c…` → the first 12 hex digits.
fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;

//! The cost of an edit, before building: which instructions of today's text (the editor's buffer) will
//! rebuild, compared with the last recorded build, and about how long that takes by the recorded times.
//!
//! Pure. An instruction is a *root* when its text differs from what the last build ran (the mapping's
//! `changed`), when it is new (no step of the last build maps to it, yet that build ran its stage past
//! it), when the instruction before it in the last build is gone, or when the caller says its COPY/ADD
//! sources changed on disk. From a root on, every step of its stage rebuilds (BuildKit's cache is a
//! chain), and so does every stage built on it: a `FROM <stage>` stage whole, a `COPY --from=<stage>`
//! stage from that COPY on (`dockerfile::stages` has the edges). Text compares as the mapping compares
//! it (`mapping::text`): whitespace, blank and comment lines are not changes; a continuation line is.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{built, Annotated, InstructionView, MappingCache, RecordedBuild};
use crate::dockerfile::{Base, Dockerfile};
use crate::log::{Build, Format, StepStatus};
use crate::mapping::StepMapping;

/// Why an instruction will rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Why {
    /// Its text differs from what the last recorded build ran.
    Changed,
    /// It is new since the last recorded build.
    Inserted,
    /// The instruction before it in the last recorded build is gone.
    AfterDeleted,
    /// A COPY/ADD whose sources changed on disk since the last build (the caller's finding).
    InputsChanged,
    /// An earlier step of its stage, or of a stage it builds on, will rebuild.
    Follows,
}

impl Why {
    /// For a tooltip.
    pub fn describe(self) -> &'static str {
        match self {
            Why::Changed => "its text differs from the last recorded build",
            Why::Inserted => "it is new since the last recorded build",
            Why::AfterDeleted => "the instruction before it was deleted since the last recorded build",
            Why::InputsChanged => "files it copies changed since the last recorded build",
            Why::Follows => "an earlier step it builds on will rebuild",
        }
    }
}

/// One instruction that will rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rebuild {
    /// Index into `Dockerfile.instructions`; 1-based first and last line.
    pub instruction: usize,
    pub line: u32,
    pub end_line: u32,
    pub why: Why,
    /// The last time a recorded build executed it (`None`: no recorded build did, or none timed it).
    pub last_ms: Option<u64>,
    /// The 1-based line of the root its rebuild starts from (its own line when it is a root).
    pub root_line: u32,
    /// `Changed`: the instruction as the last build ran it (the log's or the snapshot's text).
    pub was: Option<String>,
    /// `InputsChanged`: the first changed files (at most `FILES_NAMED`), and how many changed in all.
    pub files: Vec<String>,
    pub files_total: usize,
}

/// How many changed files a prediction names per COPY/ADD (the rest are counted).
pub const FILES_NAMED: usize = 3;

/// COPY/ADD instructions whose sources changed on disk, by 1-based first line: the changed files.
pub type ChangedInputs = BTreeMap<u32, Vec<String>>;

/// What the buffer's edits will rebuild, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Prediction {
    pub rebuilds: Vec<Rebuild>,
}

impl Prediction {
    /// The first root (changed, inserted, …), which carries the estimate; else the first rebuild.
    pub fn first(&self) -> Option<&Rebuild> {
        self.rebuilds.iter().find(|r| r.why != Why::Follows).or_else(|| self.rebuilds.first())
    }

    /// Sum of the known last times, and how many rebuilds have none.
    pub fn estimate(&self) -> (u64, usize) {
        let known: u64 = self.rebuilds.iter().filter_map(|r| r.last_ms).fold(0, u64::saturating_add);
        (known, self.rebuilds.iter().filter(|r| r.last_ms.is_none()).count())
    }

    /// `this edit rebuilds 6 steps, about 47m (last times)`; `None` when nothing rebuilds.
    pub fn summary(&self) -> Option<String> {
        let n = self.rebuilds.len();
        if n == 0 {
            return None;
        }
        let edited = self.rebuilds.iter().any(|r| matches!(r.why, Why::Changed | Why::Inserted | Why::AfterDeleted));
        let lead = if edited { "this edit rebuilds".to_string() } else { format!("changed {}: rebuilds", self.files_named()) };
        let steps = plural(n, "step");
        let (ms, unknown) = self.estimate();
        Some(match unknown {
            0 => format!("{lead} {steps}, {} (last times)", about(ms)),
            u if u == n => format!("{lead} {steps} (no recorded time)"),
            u => format!("{lead} {steps}, {} (last times; {} unknown)", about(ms), plural(u, "step")),
        })
    }
}

impl Prediction {
    /// `feeds.conf, src/a.c and 4 more`: the changed files of the COPY/ADD roots, the first few named.
    pub fn files_named(&self) -> String {
        let roots = self.rebuilds.iter().filter(|r| r.why == Why::InputsChanged);
        let total: usize = roots.clone().map(|r| r.files_total).sum();
        let mut named: Vec<&str> = Vec::new();
        for f in roots.flat_map(|r| &r.files) {
            if named.len() < FILES_NAMED - 1 && !named.contains(&f.as_str()) {
                named.push(f);
            }
        }
        match total.saturating_sub(named.len()) {
            _ if named.is_empty() => "files".into(),
            0 => named.join(", "),
            more => format!("{} and {more} more", named.join(", ")),
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `under 1s`, `about 12s`, `about 47m`, `about 2h05m`: an estimate, so rounded.
pub fn about(ms: u64) -> String {
    if ms < 1000 {
        return "under 1s".into();
    }
    let secs = ms.saturating_add(500) / 1000;
    let mins = secs.saturating_add(30) / 60;
    match secs {
        0..=59 => format!("about {secs}s"),
        _ if mins < 60 => format!("about {mins}m"),
        _ => format!("about {}h{:02}m", mins / 60, mins % 60),
    }
}

/// What `df` (today's text, the same `annotated` was made from) will rebuild compared with `last`, the
/// newest recorded build of this Dockerfile (its Dockerfile snapshot, when it has one, says what changed). `inputs_changed`: 1-based first lines of COPY/ADD
/// instructions whose sources changed on disk since that build (the caller checks the context).
pub fn predict(df: &Dockerfile, annotated: &Annotated, last: Option<&RecordedBuild>, inputs_changed: &ChangedInputs) -> Prediction {
    predict_with(df, annotated, last, inputs_changed, &mut MappingCache::default())
}

/// `predict` mapping `last` through the caller's `cache` (kept across edits, it maps a build shape again only
/// when what the mapping reads of the text changed: `shapes::df_print`).
pub fn predict_with(
    df: &Dockerfile,
    annotated: &Annotated,
    last: Option<&RecordedBuild>,
    inputs_changed: &ChangedInputs,
    cache: &mut MappingCache,
) -> Prediction {
    let mut roots: Vec<Option<Why>> = vec![None; df.instructions.len()];
    let mut was: Vec<Option<String>> = vec![None; df.instructions.len()];
    // Per stage: from which instruction on it rebuilds (`stage.last + 1`: only its result changes).
    let mut dirty: Vec<Option<usize>> = vec![None; df.stages.len()];
    if let Some(last) = last {
        against_build(df, last, &mut roots, &mut was, &mut dirty, cache);
    }
    for (i, ins) in df.instructions.iter().enumerate() {
        let changed = view_at(annotated, i, ins.line).is_some_and(|v| v.changed_since_build);
        let copies = matches!(ins.effective_keyword(), "COPY" | "ADD") && inputs_changed.contains_key(&ins.line);
        if let Some(root) = roots.get_mut(i).filter(|r| r.is_none()) {
            *root = if changed { Some(Why::Changed) } else { copies.then_some(Why::InputsChanged) };
        }
    }
    propagate(df, &roots, &mut dirty);
    let mut rebuilds = Vec::new();
    for (i, ins) in df.instructions.iter().enumerate() {
        let follows =
            ins.stage.and_then(|s| dirty.get(s).copied().flatten()).is_some_and(|from| i >= from) && is_step(ins.keyword.as_str());
        let Some(why) = roots.get(i).copied().flatten().or(follows.then_some(Why::Follows)) else { continue };
        let last_ms = view_at(annotated, i, ins.line).and_then(last_executed_ms);
        let root_line = if why == Why::Follows { chain_root(df, &roots, &dirty, i).unwrap_or(ins.line) } else { ins.line };
        let changed = inputs_changed.get(&ins.line).filter(|_| why == Why::InputsChanged);
        let files = changed.map(|f| f.iter().take(FILES_NAMED).cloned().collect()).unwrap_or_default();
        let was = was.get_mut(i).and_then(Option::take).filter(|_| why == Why::Changed);
        let (line, end_line, files_total) = (ins.line, ins.end_line, changed.map_or(0, Vec::len));
        rebuilds.push(Rebuild { instruction: i, line, end_line, why, last_ms, root_line, was, files, files_total });
    }
    Prediction { rebuilds }
}

/// The line of the root whose rebuild instruction `i` follows: the first root of its stage at or after
/// where the stage rebuilds from, else the root of a rebuilding stage it builds on (`FROM`, `COPY --from`).
fn chain_root(df: &Dockerfile, roots: &[Option<Why>], dirty: &[Option<usize>], i: usize) -> Option<u32> {
    let stage = df.instructions.get(i)?.stage?;
    let from = dirty.get(stage).copied().flatten()?;
    let own =
        (from..=i).find(|&j| roots.get(j).copied().flatten().is_some() && df.instructions.get(j).and_then(|x| x.stage) == Some(stage));
    if let Some(j) = own {
        return df.instructions.get(j).map(|x| x.line);
    }
    let st = df.stages.get(stage)?;
    let bases = std::iter::once(&st.base).chain(st.copies_from.iter().filter(|e| e.instruction <= i).map(|e| &e.source));
    bases
        .filter_map(|b| match b {
            Base::Stage(b) if *b < stage => df.stages.get(*b).map(|s| s.last),
            _ => None,
        })
        .find_map(|last| {
            chain_root(df, roots, dirty, last).or_else(|| roots.get(last).copied().flatten().and(df.instructions.get(last).map(|x| x.line)))
        })
}

/// Instructions that make a build step with a time of its own after an earlier step changed.
fn is_step(keyword: &str) -> bool {
    matches!(keyword, "ADD" | "COPY" | "RUN" | "WORKDIR")
}

/// The view of instruction `i` (views are made in instruction order; checked by line all the same).
fn view_at(annotated: &Annotated, i: usize, line: u32) -> Option<&InstructionView> {
    annotated.instructions.get(i).filter(|v| v.line == line).or_else(|| annotated.instructions.iter().find(|v| v.line == line))
}

/// The last time a recorded build executed the instruction (cached runs say nothing of its cost).
fn last_executed_ms(view: &InstructionView) -> Option<u64> {
    view.history.iter().rev().filter(|r| r.status == StepStatus::Executed).find_map(|r| r.duration_ms)
}

/// Marks stages built on a dirty stage, in file order (a stage can only name earlier stages).
fn propagate(df: &Dockerfile, roots: &[Option<Why>], dirty: &mut [Option<usize>]) {
    for (s, stage) in df.stages.iter().enumerate() {
        let mut from = dirty.get(s).copied().flatten();
        let mut earliest = |i: usize| from = Some(from.map_or(i, |f| f.min(i)));
        for (i, root) in roots.iter().enumerate() {
            if root.is_some() && df.instructions.get(i).and_then(|x| x.stage) == Some(s) {
                earliest(i);
                break;
            }
        }
        let is_dirty = |b: &Base| matches!(b, Base::Stage(b) if *b < s && dirty.get(*b).is_some_and(Option::is_some));
        if is_dirty(&stage.base) {
            earliest(stage.from);
        }
        for edge in stage.copies_from.iter().filter(|e| is_dirty(&e.source)) {
            earliest(edge.instruction);
        }
        if let Some(slot) = dirty.get_mut(s) {
            *slot = from;
        }
    }
}

/// Roots found by mapping the last build onto today's text: changed, inserted and after-deleted.
fn against_build(
    df: &Dockerfile,
    last: &RecordedBuild,
    roots: &mut [Option<Why>],
    was: &mut [Option<String>],
    dirty: &mut [Option<usize>],
    cache: &mut MappingCache,
) {
    let build = &last.build;
    let mapping = built::map(df, super::shapes::df_print(df), &build.steps, last.built_dockerfile.as_deref(), cache);
    if mapping.steps.iter().all(Option::is_none) {
        // The build matches today's text too poorly to compare with (or ran nothing).
        return;
    }
    let mut ran = RanText::new(last);
    for (j, (step, m)) in build.steps.iter().zip(&mapping.steps).enumerate().filter_map(|(j, (s, m))| Some((j, (s, m.as_ref()?)))) {
        if !m.changed {
            continue;
        }
        set_root(roots, m.instruction, Why::Changed);
        if let Some(slot) = was.get_mut(m.instruction).filter(|w| w.is_none()) {
            *slot = ran.of(j).or_else(|| step.instruction.clone());
        }
    }
    deleted(df, build, &mapping.steps, roots, dirty);
    inserted(df, build, &mapping.steps, roots);
}

/// What the last build ran for its step `j`: the instruction in its Dockerfile snapshot, as written
/// (variables unexpanded, as the user compares it with today's line). Parsed only when asked.
struct RanText<'a> {
    last: &'a RecordedBuild,
    snapshot: Option<Option<(Dockerfile, crate::mapping::Mapping)>>,
}

impl<'a> RanText<'a> {
    fn new(last: &'a RecordedBuild) -> RanText<'a> {
        RanText { last, snapshot: None }
    }

    fn of(&mut self, j: usize) -> Option<String> {
        let last = self.last;
        let snapshot = self.snapshot.get_or_insert_with(|| {
            let text = last.built_dockerfile.as_deref()?;
            let df = crate::dockerfile::parse(text);
            let mapping = crate::mapping::map_steps(&df, &last.build.steps);
            Some((df, mapping))
        });
        let (df, mapping) = snapshot.as_ref()?;
        let at = mapping.steps.get(j)?.as_ref()?;
        df.instructions.get(at.instruction).map(|i| i.joined.clone())
    }
}

fn set_root(roots: &mut [Option<Why>], i: usize, why: Why) {
    if let Some(r) = roots.get_mut(i) {
        r.get_or_insert(why);
    }
}

/// Numbered steps of the last build that map to nothing are gone from today's text: the next step
/// instruction of their stage after the previous step that still maps is the first changed one.
fn deleted(df: &Dockerfile, build: &Build, maps: &[Option<StepMapping>], roots: &mut [Option<Why>], dirty: &mut [Option<usize>]) {
    let same_group = |a: &crate::log::Step, b: &crate::log::Step| {
        a.stage == b.stage && a.stage_index == b.stage_index && a.platform == b.platform && a.n == b.n
    };
    for (step, _) in build.steps.iter().zip(maps).filter(|(s, m)| m.is_none() && s.k.is_some() && s.instruction.is_some()) {
        let k = step.k.unwrap_or(0);
        let group = || build.steps.iter().zip(maps).filter(|(s, _)| same_group(s, step));
        let before = group().filter_map(|(s, m)| Some((s.k?, m.as_ref()?))).filter(|(sk, _)| *sk < k).max_by_key(|(sk, _)| *sk);
        let after = group().filter_map(|(s, m)| Some((s.k?, m.as_ref()?))).filter(|(sk, _)| *sk > k).min_by_key(|(sk, _)| *sk);
        if let Some((_, prev)) = before {
            let stage = df.instructions.get(prev.instruction).and_then(|x| x.stage);
            let next = (prev.instruction + 1..df.instructions.len())
                .take_while(|&i| df.instructions.get(i).and_then(|x| x.stage) == stage)
                .find(|&i| df.instructions.get(i).is_some_and(|x| is_step(&x.keyword)));
            match (next, stage.and_then(|s| df.stages.get(s))) {
                (Some(i), _) => set_root(roots, i, Why::AfterDeleted),
                // The stage's last step is gone: only its result changes (stages built on it rebuild).
                (None, Some(st)) => mark_end(dirty, st.index, st.last.saturating_add(1)),
                (None, None) => {}
            }
        } else if let Some((_, next)) = after {
            set_root(roots, next.instruction, Why::AfterDeleted);
        } else {
            by_position(df, step, roots, dirty);
        }
    }
}

/// An unmapped step with no mapped step around it (a one-step stage whose FROM vertex BuildKit printed
/// for another stage): its stage by name, and its instruction by the position `k` — edited in place when
/// the stage still has `n` steps, else the first changed after a deletion.
fn by_position(df: &Dockerfile, step: &crate::log::Step, roots: &mut [Option<Why>], dirty: &mut [Option<usize>]) {
    let Some(s) = step.stage.as_deref().and_then(|name| df.stage_named(name)) else { return };
    let counted = df.buildkit_counted(s);
    let at = step.k.and_then(|k| usize::try_from(k).ok()).unwrap_or(1).saturating_sub(1);
    let same_size = step.n.and_then(|n| usize::try_from(n).ok()) == Some(counted.len());
    let target = counted.iter().skip(at).find(|&&i| df.instructions.get(i).is_some_and(|x| is_step(&x.keyword)));
    match (target, df.stages.get(s)) {
        (Some(&i), _) => set_root(roots, i, if same_size { Why::Changed } else { Why::AfterDeleted }),
        (None, Some(st)) => mark_end(dirty, s, st.last.saturating_add(1)),
        (None, None) => {}
    }
}

fn mark_end(dirty: &mut [Option<usize>], stage: usize, at: usize) {
    if let Some(d) = dirty.get_mut(stage) {
        *d = Some(d.map_or(at, |f| f.min(at)));
    }
}

/// Instructions no step of the last build maps to, although that build ran their stage past them: new.
/// Only instructions the build's log shows as steps count (BuildKit prints no ENV, ARG, LABEL… steps),
/// and never a FROM: BuildKit prints one vertex for all stages on the same image.
fn inserted(df: &Dockerfile, build: &Build, maps: &[Option<StepMapping>], roots: &mut [Option<Why>]) {
    let shows_all = build.steps.iter().filter_map(|s| s.instruction.as_deref()).any(|t| {
        let kw = t.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        !matches!(kw.as_str(), "FROM" | "ADD" | "COPY" | "RUN" | "WORKDIR" | "")
    });
    let mapped: BTreeSet<usize> = maps.iter().flatten().map(|m| m.instruction).collect();
    for stage in &df.stages {
        let in_stage = df.stage_instructions(stage.index);
        let counted: BTreeSet<usize> =
            if shows_all { in_stage.iter().copied().collect() } else { df.buildkit_counted(stage.index).into_iter().collect() };
        // The build reached the end of this stage: a step of it was numbered k of n with k = n, or (the
        // classic builder runs stages one after another, numbering the whole file) a later stage ran.
        let reached_end = build
            .steps
            .iter()
            .zip(maps)
            .any(|(s, m)| m.as_ref().is_some_and(|m| in_stage.contains(&m.instruction)) && s.k.is_some() && s.k == s.n)
            || (build.format == Format::Legacy && mapped.range(stage.last.saturating_add(1)..).next().is_some());
        for &i in &in_stage {
            let later_mapped = mapped.range(i.saturating_add(1)..).any(|j| in_stage.contains(j));
            let from = df.instructions.get(i).is_some_and(|x| x.keyword == "FROM");
            if counted.contains(&i) && !from && !mapped.contains(&i) && (later_mapped || reached_end) {
                set_root(roots, i, Why::Inserted);
            }
        }
    }
}

#[cfg(test)]
#[path = "predict_tests.rs"]
mod tests;

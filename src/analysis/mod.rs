//! Joins recorded builds with today's Dockerfile text: for each instruction, what the recorded builds
//! say about it (last run, history), or that it changed since the build. Pure: the caller loads the
//! records; the same result feeds `buildlens report`, code lenses, inlay hints, hover and diagnostics.

pub mod advice;
mod build_level;
pub mod built;
pub mod critical_path;
pub mod explain;
pub mod headline;
pub mod inputs;
pub mod latest;
pub mod layers;
pub mod predict;
pub mod shapes;
pub mod timeline;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::dockerfile::{self, Dockerfile};
use crate::log::{Build, CauseLine, OutputRange, Step, StepStatus};
pub use shapes::MappingCache;

/// One build from the store, as the analysis needs it.
#[derive(Debug, Clone)]
pub struct RecordedBuild {
    /// Record id (time-sortable); with several builds in one log, `<id>#<n>`.
    pub id: String,
    /// When the build started (RFC 3339), from the log or the record.
    pub started: Option<String>,
    pub build: Build,
    /// The raw log, for "open the log at this step".
    pub log_path: PathBuf,
    /// The recorder is still writing this log.
    pub live: bool,
    /// The Dockerfile's text as this build read it (`inputs.json`), when the record kept it: then
    /// "changed since the build" compares with it rather than with the printed step text (`built`).
    pub built_dockerfile: Option<std::sync::Arc<str>>,
}

/// What one recorded build did at one instruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub build: String,
    pub started: Option<String>,
    pub status: StepStatus,
    pub duration_ms: Option<u64>,
    pub cached: bool,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    /// The last lines of the step's output.
    pub excerpt: Vec<String>,
    /// Of a failure, the output line that reads like its cause, with its offset in the log (`headline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<CauseLine>,
    #[serde(skip)]
    pub log_path: PathBuf,
    /// Where the step's output is in the log.
    pub output: OutputRange,
    /// Warnings the builder gave for this step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The instruction text differs from what this build ran (the run is shown, flagged).
    #[serde(default)]
    pub changed_since: bool,
    /// The build was still being recorded.
    #[serde(default)]
    pub live: bool,
    /// Size of the layer this instruction made in the build's image (`None`: unknown; see `layers`).
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// The image-history row behind `size_bytes`, for the hover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerNote>,
    /// A multi-platform build: what each platform's step did, by platform name (the run itself is the
    /// worst, then longest, of them, with that step's own output).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformRun>,
}

/// One platform's step of a multi-platform build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformRun {
    /// `linux/arm64`.
    pub platform: String,
    pub status: StepStatus,
    pub duration_ms: Option<u64>,
}

/// A build check's warning on an instruction (`LegacyKeyValueFormat`), from the latest build that ran checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckWarning {
    pub build: String,
    /// The Dockerfile line the builder named (1-based).
    pub line: u32,
    /// The check's name, when the builder gave one.
    pub code: Option<String>,
    pub message: String,
}

/// What the engine's image history says of an instruction's layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerNote {
    /// The history row's `CreatedBy` (the newest row, when an instruction made several: FROM).
    pub created_by: String,
    /// Unix seconds.
    pub created: Option<i64>,
    /// The row's image id; `None` where the engine says `<missing>` (BuildKit).
    pub id: Option<String>,
    /// The whole image's size.
    pub image_size: u64,
}

/// An instruction of today's Dockerfile and what the records say about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructionView {
    /// 1-based first and last line.
    pub line: u32,
    pub end_line: u32,
    pub keyword: String,
    pub stage: Option<String>,
    /// The most recent build that ran it (`None`: no recorded build did).
    pub last: Option<StepRun>,
    /// Every recorded build that ran it, oldest first.
    pub history: Vec<StepRun>,
    /// The instruction's text changed since the last build that ran it.
    pub changed_since_build: bool,
    /// Build checks' warnings on this instruction's lines (the latest build's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckWarning>,
}

/// The analysis of one Dockerfile against the records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Annotated {
    pub instructions: Vec<InstructionView>,
    /// Mappings dropped for low confidence, Dockerfile problems, and the like.
    pub problems: Vec<String>,
    /// Why the latest build executed what it did, and advice (`explain`); filled by callers that load
    /// the records' facts (the language server, `buildlens explain`), not by `annotate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<explain::Explained>,
    /// The builds annotated, oldest first, numbered as `report` numbers them (for the hover's history).
    #[serde(skip)]
    pub builds: Vec<BuildNote>,
}

/// A build the analysis read: its number (`#3`: its place among the Dockerfile's recorded builds, oldest
/// first), when it started, and the first line where one of its steps failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildNote {
    pub id: String,
    pub number: usize,
    pub started: Option<String>,
    /// The first instruction line (1-based) whose run in this build failed.
    pub failed_line: Option<u32>,
}

impl Annotated {
    /// The note of the build `id`.
    pub fn build(&self, id: &str) -> Option<&BuildNote> {
        self.builds.iter().find(|b| b.id == id)
    }

    /// The newest build.
    pub fn latest(&self) -> Option<&BuildNote> {
        self.builds.last()
    }

    /// Numbers the builds from `older + 1` on: a caller that annotated only the newest builds says how
    /// many older ones there are.
    pub fn number_after(&mut self, older: usize) {
        for (i, b) in self.builds.iter_mut().enumerate() {
            b.number = older + i + 1;
        }
    }
}

/// Annotates `dockerfile_text` with `builds` (oldest first): every instruction gets the runs of the
/// steps that mapped to it. Steps that map nowhere are counted in `problems`, never guessed.
pub fn annotate(dockerfile_text: &str, builds: &[RecordedBuild]) -> Annotated {
    let builds: Vec<&RecordedBuild> = builds.iter().collect();
    annotate_with(dockerfile_text, &builds, &mut MappingCache::default())
}

/// `annotate` over borrowed builds, mapping each distinct build shape once through `cache` (which the
/// caller may keep between calls: the language server does, across store changes).
pub fn annotate_with(dockerfile_text: &str, builds: &[&RecordedBuild], cache: &mut MappingCache) -> Annotated {
    let df = dockerfile::parse(dockerfile_text);
    // Mappings are kept by what they read of the text (`df_print`), so an edit of a comment or of the
    // blanks inside a line maps nothing again; those of any other text are dropped.
    let print = shapes::df_print(&df);
    cache.keep_only(print);
    let mut views: Vec<InstructionView> = df.instructions.iter().map(|ins| view_of(&df, ins)).collect();
    let mut problems: Vec<String> = df.problems.iter().map(|p| format!("Dockerfile line {}: {}", p.line, p.message)).collect();
    for (nth, rb) in builds.iter().enumerate() {
        let mapping = built::map(&df, print, &rb.build.steps, rb.built_dockerfile.as_deref(), cache);
        let shown = |m: &str| m.contains(crate::log::demux::GUESSED) || m.contains(crate::mapping::FAILED_ELSEWHERE);
        for p in rb.build.problems.iter().filter(|p| shown(&p.message)) {
            problems.push(format!("build {}: {}", rb.id, p.message));
        }
        let unmapped = mapping.problems.iter().filter(|p| p.step.is_some()).count();
        for p in mapping.problems.iter().filter(|p| p.step.is_none()) {
            problems.push(format!("build {}: {}", rb.id, p.message));
        }
        if unmapped > 0 {
            problems.push(format!("build {}: {unmapped} step(s) matched no instruction with confidence and were left out", rb.id));
        }
        for (step, m) in rb.build.steps.iter().zip(&mapping.steps) {
            if let Some(view) = m.as_ref().and_then(|m| views.get_mut(m.instruction).map(|v| (v, m.changed))) {
                record_run(view.0, run_of(rb, step, view.1), step.platform.as_deref());
            }
        }
        if nth + 1 == builds.len() {
            // Only the latest build's: a line without a step (ENV, a parse error) keeps no old failure.
            build_level::place_error(&df, rb, &mapping, &mut views);
            build_level::place_warnings(&df, rb, &mapping, &mut views);
        }
    }
    for view in &mut views {
        view.last = view.history.last().cloned();
        view.changed_since_build = view.last.as_ref().is_some_and(|l| l.changed_since);
    }
    let notes = builds.iter().enumerate().map(|(i, rb)| BuildNote {
        id: rb.id.clone(),
        number: i + 1,
        started: rb.started.clone(),
        failed_line: views.iter().find(|v| v.history.iter().any(|r| r.build == rb.id && r.status == StepStatus::Error)).map(|v| v.line),
    });
    let builds = notes.collect();
    Annotated { instructions: views, problems, explain: None, builds }
}

fn view_of(df: &Dockerfile, ins: &dockerfile::Instruction) -> InstructionView {
    let stage = ins.stage.and_then(|i| df.stages.get(i)).map(|s| s.name.clone().unwrap_or_else(|| format!("stage-{}", s.index)));
    InstructionView {
        line: ins.line,
        end_line: ins.end_line,
        keyword: ins.keyword.clone(),
        stage,
        last: None,
        history: Vec::new(),
        changed_since_build: false,
        checks: Vec::new(),
    }
}

pub(crate) fn run_of(rb: &RecordedBuild, step: &Step, changed: bool) -> StepRun {
    StepRun {
        build: rb.id.clone(),
        started: step.started.clone().or_else(|| rb.started.clone()),
        status: step.status,
        duration_ms: step.duration_ms,
        cached: step.status == StepStatus::Cached,
        exit_code: step.exit_code,
        error: step.error.clone(),
        excerpt: step.excerpt.clone(),
        cause: step.cause.clone(),
        log_path: rb.log_path.clone(),
        output: step.output,
        warnings: step.warnings.clone(),
        changed_since: changed,
        live: rb.live,
        size_bytes: None,
        layer: None,
        platforms: Vec::new(),
    }
}

/// Adds a run to an instruction's history. One build can run an instruction more than once (one step
/// per platform): those merge into one run, the worst status then the longest time with that step's own
/// output, and each platform's status and time are kept in `platforms`.
fn record_run(view: &mut InstructionView, mut run: StepRun, platform: Option<&str>) {
    let this = platform.map(|p| PlatformRun { platform: p.to_string(), status: run.status, duration_ms: run.duration_ms });
    match view.history.last_mut() {
        Some(prev) if prev.build == run.build => {
            if let Some(this) = this {
                add_platform(&mut prev.platforms, this);
            }
            if (severity(run.status), run.duration_ms) > (severity(prev.status), prev.duration_ms) {
                run.platforms = std::mem::take(&mut prev.platforms);
                *prev = run;
            }
        }
        _ => {
            run.platforms = this.into_iter().collect();
            view.history.push(run);
        }
    }
}

/// One entry per platform, sorted by name; a platform seen twice keeps its worst status and longest time.
fn add_platform(platforms: &mut Vec<PlatformRun>, this: PlatformRun) {
    match platforms.iter_mut().find(|p| p.platform == this.platform) {
        Some(p) => {
            if severity(this.status) > severity(p.status) {
                p.status = this.status;
            }
            p.duration_ms = p.duration_ms.max(this.duration_ms);
        }
        None => {
            platforms.push(this);
            platforms.sort_by(|a, b| a.platform.cmp(&b.platform));
        }
    }
}

pub(crate) fn severity(status: StepStatus) -> u8 {
    match status {
        StepStatus::Cached => 0,
        StepStatus::Executed => 1,
        StepStatus::Canceled => 2,
        StepStatus::Running => 3,
        StepStatus::Error => 4,
    }
}

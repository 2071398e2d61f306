//! Joins recorded builds with today's Dockerfile text: for each instruction, what the recorded builds
//! say about it (last run, history), or that it changed since the build. Pure: the caller loads the
//! records; the same result feeds `buildlens report`, code lenses, inlay hints, hover and diagnostics.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::log::{Build, OutputRange, StepStatus};

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
}

/// The analysis of one Dockerfile against the records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Annotated {
    pub instructions: Vec<InstructionView>,
    /// Mappings dropped for low confidence, Dockerfile problems, and the like.
    pub problems: Vec<String>,
}

/// Annotates `dockerfile_text` with `builds` (oldest first). Stub until the mapping lands.
pub fn annotate(dockerfile_text: &str, builds: &[RecordedBuild]) -> Annotated {
    let _ = (dockerfile_text, builds);
    Annotated::default()
}

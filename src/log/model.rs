//! What a parsed build log holds: builds, their steps, and the problems met on the way.
//!
//! These types are the stable `buildlens parse --json` schema (documented in README.md): field names and
//! enum spellings here must not change without a schema note. Offsets are byte offsets into the raw log
//! file as stored (for UTF-16 logs too); lines are 1-based.

use serde::{Deserialize, Serialize};

/// The log format a build was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    BuildkitPlain,
    BuildkitTty,
    BuildkitRawjson,
    EngineApi,
    Legacy,
    Podman,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::BuildkitPlain => "buildkit-plain",
            Format::BuildkitTty => "buildkit-tty",
            Format::BuildkitRawjson => "buildkit-rawjson",
            Format::EngineApi => "engine-api",
            Format::Legacy => "legacy",
            Format::Podman => "podman",
        }
    }
}

/// Final state of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Executed,
    Cached,
    Error,
    Canceled,
    /// The log ended while the step was still running (a live or truncated log).
    Running,
}

/// Outcome of a whole build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildResult {
    Success,
    Failed,
    Canceled,
    /// The log ended before the build did.
    Running,
}

/// Where a step's output lines are in the log. With interleaved steps the range also covers other
/// steps' lines; `lines` counts only this step's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRange {
    pub start: u64,
    pub end: u64,
    pub lines: u64,
}

/// One step of a build: a BuildKit vertex, a legacy `Step N/M`, a podman `STEP k/m`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The name as the builder printed it, e.g. `[builder 4/5] RUN make`.
    pub name: String,
    /// Stage name (`builder`, `stage-2`); `null` for single-stage builds and internal vertexes.
    pub stage: Option<String>,
    /// Platform prefix of multi-platform builds (`linux/arm64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Compose service (BuildKit prints it in the stage slot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Position of the step: BuildKit `[k/n]`, legacy `Step k/n`, podman `STEP k/n`.
    pub k: Option<u32>,
    pub n: Option<u32>,
    /// podman's `[i/n]` stage position (1-based), when printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_index: Option<u32>,
    /// Instruction text as printed after the prefix (`RUN make -j8`); `null` for internal vertexes.
    pub instruction: Option<String>,
    pub status: StepStatus,
    /// Milliseconds the step ran; `null` where the log has no durations (legacy, podman, cached).
    pub duration_ms: Option<u64>,
    /// RFC 3339 times where the log has them (rawjson, engine API, timestamped CI logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    pub output: OutputRange,
    /// The error of a failed step (`process "/bin/sh -c make" did not complete successfully: exit code: 2`).
    pub error: Option<String>,
    /// Exit code of the failed process where the error says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// First and last Dockerfile line of the error block's `>>>` lines (1-based), when the log prints one.
    pub dockerfile_lines: Option<[u32; 2]>,
    /// The last lines of the step's output, bounded in count and length.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excerpt: Vec<String>,
    /// Of a failed step, the excerpt line that reads like the cause (`log::cause`), with its place in the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<CauseLine>,
    /// Image id after the step (legacy ` ---> <id>`, podman `--> <id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// BuildKit vertex digest, when the log shows it (v0.8 plain, rawjson, engine API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Warnings the builder attached to this step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The printed name may be cut short: a tty row that reached the terminal width, or BuildKit's
    /// `PROGRESS_NO_TRUNC=0` cut (72 bytes + `...`). Only then may the name be a prefix of the instruction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clipped: bool,
}

impl Step {
    /// A new step in state `running` with nothing known yet but its name.
    pub fn named(name: impl Into<String>) -> Step {
        Step {
            name: name.into(),
            stage: None,
            platform: None,
            service: None,
            k: None,
            n: None,
            stage_index: None,
            instruction: None,
            status: StepStatus::Running,
            duration_ms: None,
            started: None,
            finished: None,
            output: OutputRange::default(),
            error: None,
            exit_code: None,
            dockerfile_lines: None,
            excerpt: Vec::new(),
            cause: None,
            image_id: None,
            digest: None,
            warnings: Vec::new(),
            clipped: false,
        }
    }

    /// True for steps that come from a Dockerfile instruction (they carry `k/n`).
    pub fn is_instruction(&self) -> bool {
        self.k.is_some() && self.instruction.is_some()
    }
}

/// An output line of a step and where it starts in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseLine {
    /// The line as kept in the excerpt (cut like it).
    pub text: String,
    /// Byte offset of the raw line in the log.
    pub offset: u64,
}

/// Something the parser could not make sense of, with where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Byte offset in the log, when the problem is at a place.
    pub offset: Option<u64>,
    pub message: String,
}

impl Problem {
    pub fn at(offset: u64, message: impl Into<String>) -> Problem {
        Problem { offset: Some(offset), message: message.into() }
    }
    pub fn general(message: impl Into<String>) -> Problem {
        Problem { offset: None, message: message.into() }
    }
}

/// The image a build produced, as far as the log names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// `sha256:…` or a short legacy id.
    pub id: Option<String>,
    /// Tags it was named to (`naming to docker.io/library/x:1`, `Successfully tagged x:1`).
    pub tags: Vec<String>,
}

/// One build found in a log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub format: Format,
    /// RFC 3339, when the log has times.
    pub started: Option<String>,
    pub finished: Option<String>,
    pub result: BuildResult,
    /// The build's final error line (`ERROR: failed to solve: …`, `The command … returned a non-zero code: 3`).
    pub error: Option<String>,
    pub problems: Vec<Problem>,
    pub steps: Vec<Step>,
    /// Byte range of the log this build was read from.
    pub span: [u64; 2],
    /// The Dockerfile name the builder loaded (`load build definition from X`), when printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// The CI job that ran it (act `[Workflow/Job]` prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// First and last Dockerfile line the build's error names (the error block's `>>>` lines, `dockerfile
    /// parse error on line N`, `Dockerfile:N`), whether or not a step took them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_lines: Option<[u32; 2]>,
    /// Build checks' warnings that name a Dockerfile line (`- LegacyKeyValueFormat: … (line 12)`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<LineWarning>,
}

/// A build check's warning on a Dockerfile line, as the builder printed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineWarning {
    /// 1-based Dockerfile line.
    pub line: u32,
    /// The check's name (`LegacyKeyValueFormat`), when the warning has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The warning as printed, without the check's name and the `(line N)` suffix.
    pub message: String,
}

impl Build {
    pub fn new(format: Format, start: u64) -> Build {
        Build {
            format,
            started: None,
            finished: None,
            result: BuildResult::Running,
            error: None,
            problems: Vec::new(),
            steps: Vec::new(),
            span: [start, start],
            dockerfile: None,
            image: None,
            job: None,
            error_lines: None,
            warnings: Vec::new(),
        }
    }
}

/// Everything read from one log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedLog {
    pub builds: Vec<Build>,
    /// Problems that belong to no build (unreadable bytes, "not a build log").
    pub problems: Vec<Problem>,
    /// How many bytes of the log were read.
    pub bytes: u64,
}

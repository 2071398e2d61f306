//! The docker commands that stand a shell where the builder stood before a failed step. Pure: the
//! choice, the record and the Dockerfile in; argument vectors (without the docker binary) out.
//!
//! Classic builder: every step committed an image (` ---> <id>`, log-formats.md §7): run the one of the
//! step before. BuildKit keeps no per-step images, so the Dockerfile is cut after the instruction before
//! the failing one and built again with the recorded context and build args: every step is a cache hit,
//! and the image carries the stage's WORKDIR, ENV and USER.

use std::path::{Path, PathBuf};

use super::{DebugError, Failed};
use crate::analysis::RecordedBuild;
use crate::dockerfile::{Base, Dockerfile, Form, Instruction};
use crate::log::Format;
use crate::store::RecordMeta;

/// How the user wants the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub shell: String,
    /// Run this with `<shell> -c` instead of an interactive shell.
    pub exec: Option<String>,
    pub keep: bool,
    /// Standard input is a terminal (`docker run -t`).
    pub tty: bool,
    /// Rebuild a BuildKit record's state with the classic builder (the user set `DOCKER_BUILDKIT=0`, e.g.
    /// for a Docker CLI without buildx): every step runs again, BuildKit's cache is not shared with it.
    pub classic: bool,
}

/// Where the record's inputs are today.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub meta: Option<&'a RecordMeta>,
    /// The recorded build context, resolved against the workspace root.
    pub context: Option<PathBuf>,
    /// Where the caller will write `Plan::truncated` (BuildKit).
    pub copy: &'a Path,
}

/// An image that must be in the daemon, and what it means when it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub image: String,
    pub missing: String,
}

/// Everything `buildlens debug` runs, in order: checks, build (BuildKit), run, clean-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub legacy: bool,
    /// The failing instruction's first line.
    pub line: u32,
    /// The failing instruction as written.
    pub failing: String,
    /// What to type in the shell to run the failing command again (RUN only).
    pub rerun: Option<String>,
    /// Environment for every docker command.
    pub env: Vec<(String, String)>,
    pub checks: Vec<Check>,
    /// The cut Dockerfile to write to `Inputs::copy`, and the build of it.
    pub truncated: Option<String>,
    pub build: Option<Vec<String>>,
    pub run: Vec<String>,
    pub cleanup: Option<Vec<String>>,
}

/// The tag of the debug image for the instruction at `line`.
pub fn tag(line: u32) -> String {
    format!("buildlens-debug:{line}")
}

/// The plan for `failed` (from `super::choose`) over the same `df` and `builds`.
pub fn plan(
    df: &Dockerfile,
    text: &str,
    builds: &[RecordedBuild],
    failed: Failed,
    inputs: &Inputs<'_>,
    opts: &Options,
) -> Result<Plan, DebugError> {
    let ins = df.instructions.get(failed.instruction).ok_or(DebugError::NoInstruction(0))?;
    if ins.keyword == "FROM" || failed.instruction == 0 {
        return Err(DebugError::FromFailed(ins.line));
    }
    let build = builds.get(failed.build).map(|b| &b.build).ok_or(DebugError::NoRecord)?;
    let network = inputs.meta.and_then(|m| network_flag(&m.command));
    let mut plan = Plan {
        legacy: false,
        line: ins.line,
        failing: ins.original.trim_end().to_string(),
        rerun: rerun(ins),
        env: Vec::new(),
        checks: Vec::new(),
        truncated: None,
        build: None,
        run: Vec::new(),
        cleanup: None,
    };
    let legacy_ids = build.steps.iter().any(|s| s.image_id.is_some());
    let image = match build.format {
        Format::Legacy => legacy_image(build, failed, ins.line, &mut plan)?,
        Format::EngineApi if legacy_ids => legacy_image(build, failed, ins.line, &mut plan)?,
        Format::Podman => return Err(DebugError::Unsupported("podman")),
        _ => buildkit_image(df, text, failed.instruction, inputs, (network.as_deref(), opts.classic), &mut plan)?,
    };
    plan.run = run_args(&image, network.as_deref(), opts);
    if !plan.legacy && !opts.keep {
        plan.cleanup = Some(vec!["rmi".into(), image]);
    }
    Ok(plan)
}

/// Classic builder: the image id the step before the failing one committed.
fn legacy_image(build: &crate::log::Build, failed: Failed, line: u32, plan: &mut Plan) -> Result<String, DebugError> {
    let step = build.steps.get(failed.step).ok_or(DebugError::NoRecord)?;
    let k = step.k.unwrap_or(0);
    let prev = k.saturating_sub(1);
    let id = build.steps.iter().find(|s| s.k == Some(prev) && s.n == step.n).and_then(|s| s.image_id.clone());
    let id = id.ok_or(DebugError::NoImageId { line, k, prev })?;
    plan.legacy = true;
    plan.checks.push(Check {
        image: id.clone(),
        missing: format!(
            "the image {id} that step {prev} committed is no longer in the daemon (removed or pruned since the build): run the build again with `buildlens record` and debug that record"
        ),
    });
    Ok(id)
}

/// BuildKit: the cut Dockerfile, the base images it needs, and its build (`how`: the recorded network,
/// and whether the classic builder builds it).
fn buildkit_image(
    df: &Dockerfile,
    text: &str,
    failing: usize,
    inputs: &Inputs<'_>,
    (network, classic): (Option<&str>, bool),
    plan: &mut Plan,
) -> Result<String, DebugError> {
    let context = inputs.context.as_ref().ok_or(DebugError::NoContext)?;
    let prev = df.instructions.get(failing.saturating_sub(1)).ok_or(DebugError::NoInstruction(0))?;
    let cut = text.get(..prev.span[1]).unwrap_or(text);
    plan.truncated = Some(format!("{cut}\n"));
    plan.checks = base_images(df, failing)
        .into_iter()
        .map(|image| Check {
            missing: format!(
                "the base image {image} is no longer in the daemon, so the state before line {} cannot be rebuilt from the build cache: `docker pull {image}` (it may be newer than the one the build used) or build it again, then run buildlens debug again",
                plan.line
            ),
            image,
        })
        .collect();
    let tag = tag(plan.line);
    // The classic builder takes no `--progress` (docker build: "unknown flag").
    let mut args: Vec<String> = vec!["build".into()];
    args.extend((!classic).then(|| "--progress=plain".into()));
    args.extend(network.map(|n| format!("--network={n}")));
    for (name, value) in inputs.meta.map(|m| m.build_args.as_slice()).unwrap_or_default() {
        args.push("--build-arg".into());
        args.push(value.as_ref().map_or_else(|| name.clone(), |v| format!("{name}={v}")));
    }
    args.extend(["-f".into(), inputs.copy.display().to_string(), "-t".into(), tag.clone(), context.display().to_string()]);
    plan.build = Some(args);
    plan.env = vec![("DOCKER_BUILDKIT".into(), if classic { "0" } else { "1" }.into())];
    Ok(tag)
}

/// The images (not stages, not `scratch`, not `$ARG`-built names) the failing instruction's stage needs
/// before it: its base chain and the `COPY --from=<image|stage>` edges above the cut.
fn base_images(df: &Dockerfile, failing: usize) -> Vec<String> {
    let Some(start) = df.instructions.get(failing).and_then(|i| i.stage) else { return Vec::new() };
    let (mut todo, mut seen, mut out) = (vec![start], Vec::new(), Vec::new());
    while let Some(s) = todo.pop() {
        if seen.contains(&s) {
            continue;
        }
        seen.push(s);
        let Some(stage) = df.stages.get(s) else { continue };
        let edges = stage.copies_from.iter().filter(|c| c.instruction < failing).map(|c| &c.source);
        for base in std::iter::once(&stage.base).chain(edges) {
            match base {
                Base::Stage(i) => todo.push(*i),
                Base::Image(name) if !name.contains('$') && !out.contains(name) => out.push(name.clone()),
                _ => {}
            }
        }
    }
    out
}

/// `docker run` arguments: interactive shell, or `<shell> -c CMD` for `--exec`.
fn run_args(image: &str, network: Option<&str>, opts: &Options) -> Vec<String> {
    let mut args: Vec<String> = vec!["run".into(), "--rm".into()];
    if opts.exec.is_none() {
        args.push(if opts.tty { "-it" } else { "-i" }.into());
    }
    args.extend(network.map(|n| format!("--network={n}")));
    // The stage's ENTRYPOINT would wrap the shell otherwise.
    args.extend(["--entrypoint".into(), opts.shell.clone(), image.to_string()]);
    if let Some(cmd) = &opts.exec {
        args.extend(["-c".into(), cmd.clone()]);
    }
    args
}

/// The recorded command's `--network` value (`--network=none`, `--network none`), only when it has one.
pub fn network_flag(command: &[String]) -> Option<String> {
    let mut words = command.iter();
    while let Some(w) = words.next() {
        if let Some(v) = w.strip_prefix("--network=") {
            return Some(v.to_string());
        }
        if w == "--network" {
            return words.next().cloned();
        }
    }
    None
}

/// A RUN's command as it would be typed in the shell: the shell form's text, the exec form's JSON.
pub(super) fn rerun(ins: &Instruction) -> Option<String> {
    if ins.keyword != "RUN" {
        return None;
    }
    let args = ins.args();
    let words = args.split_whitespace();
    // `RUN --mount=… --network=… cmd`: the flags are the builder's, not the command's.
    let command: Vec<&str> = words.skip_while(|w| w.starts_with("--")).collect();
    let command = if ins.flags.is_empty() { args.trim().to_string() } else { command.join(" ") };
    match ins.form {
        Form::Json => Some(format!("{command}  (exec form)")),
        Form::Shell => Some(command),
    }
}

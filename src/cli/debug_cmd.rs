//! `buildlens debug [DOCKERFILE[:LINE]]`: a shell in the state just before a failed step. The plan is
//! `debug::plan` (pure); this runs it: every docker command is printed before it runs, the debug image
//! is removed when the shell exits (unless `--keep`), and each failure says what happened and what to do.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{bail, Context};

use crate::debug::{self, failure, plan, DebugError};
use crate::dockerfile;
use crate::store::{select, RecordMeta, Store};
use crate::workspace::{Batch, Options, MIN_RECORDS};

/// The command line of `buildlens debug`.
#[derive(Debug)]
pub struct Args {
    pub target: Option<String>,
    pub store: Option<PathBuf>,
    pub shell: String,
    pub exec: Option<String>,
    pub keep: bool,
    pub docker: Option<PathBuf>,
}

pub fn run(args: Args, cwd: &Path) -> anyhow::Result<i32> {
    let (path, line) = args.target.as_deref().map(debug::split_target).unwrap_or(("Dockerfile", None));
    let dockerfile = absolute(cwd, Path::new(path));
    let text = std::fs::read(&dockerfile).with_context(|| {
        format!("cannot read the Dockerfile {} (give its path: `buildlens debug path/to/Dockerfile:LINE`)", dockerfile.display())
    })?;
    let text = String::from_utf8_lossy(&text).into_owned();
    let dir = dockerfile.parent().unwrap_or(cwd);
    let store = Store::locate_for(args.store.as_deref(), cwd, dir);
    let df = dockerfile::parse(&text);
    let (batch, chosen) = choose(store, &dockerfile, text, &df, line);
    let (store, text, builds) = (batch.store(), batch.text(), batch.builds());
    let failed = chosen.map_err(|e| explain_choice(e, path, &dockerfile, store))?;
    let rb = &builds[failed.build];
    let meta = store.record(rb.id.split('#').next().unwrap_or(&rb.id)).and_then(|r| r.meta().ok());
    let context = meta.as_ref().and_then(|m| m.context.as_ref()).map(|c| select::resolve(store, c));
    let tmp = TempDir::new()?;
    let inputs = plan::Inputs { meta: meta.as_ref(), context: context.clone(), copy: &tmp.0.join("Dockerfile") };
    let classic = std::env::var("DOCKER_BUILDKIT").is_ok_and(|v| v.trim() == "0");
    let opts = plan::Options { shell: args.shell, exec: args.exec, keep: args.keep, tty: std::io::stdin().is_terminal(), classic };
    let plan = plan::plan(&df, text, builds, failed, &inputs, &opts).map_err(|e| explain(e, &dockerfile, store))?;
    if let (Some(c), false) = (&context, plan.legacy) {
        if !c.is_dir() {
            bail!("the build context {} of record {} is gone (moved or deleted): restore it there, or record the build again from its new place", c.display(), rb.id);
        }
    }
    introduce(&plan, &dockerfile, &rb.id, failed.changed, meta.as_ref());
    if classic && !plan.legacy {
        eprintln!("note: DOCKER_BUILDKIT=0: the classic builder rebuilds the state (every step runs again: BuildKit's cache is not shared with it)");
    }
    let docker = Docker { bin: args.docker.unwrap_or_else(|| PathBuf::from("docker")), env: plan.env.clone() };
    execute(&docker, &plan, &inputs)
}

/// The failure to debug (`debug::choose`) among the builds of the newest records, as many as the server
/// reads (`MIN_RECORDS`); among every record's only when none of those has it (`LINE` failed longer ago).
fn choose(
    store: Store,
    dockerfile: &Path,
    text: String,
    df: &dockerfile::Dockerfile,
    line: Option<u32>,
) -> (Batch, Result<debug::Failed, DebugError>) {
    let newest = Batch::open(store.clone(), dockerfile, text.clone(), &Options { limit: MIN_RECORDS, ..Options::default() });
    let chosen = debug::choose(df, newest.builds(), line);
    // Without a line the last build decides: reading older records would not change the answer.
    if chosen.is_ok() || newest.older() == 0 || (line.is_none() && !newest.builds().is_empty()) {
        return (newest, chosen);
    }
    let all = Batch::open(store, dockerfile, text, &Options { limit: usize::MAX, ..Options::default() });
    let chosen = debug::choose(df, all.builds(), line);
    (all, chosen)
}

/// `explain`, plus the command to try, with the Dockerfile's path as the user gave it (quoted for a shell).
fn explain_choice(e: DebugError, typed: &str, dockerfile: &Path, store: &Store) -> anyhow::Error {
    let next = match (&e, e.suggested_line()) {
        (_, Some(line)) => format!(": `buildlens debug {}`", shell_quote(&format!("{typed}:{line}"))),
        (DebugError::LastDidNotFail { .. }, _) => format!(" (`buildlens debug {}`)", shell_quote(&format!("{typed}:LINE"))),
        _ => String::new(),
    };
    anyhow::anyhow!("{}: {e}{next} (store {})", dockerfile.display(), store.root().display())
}

/// Adds where to look to the planner's errors.
fn explain(e: DebugError, dockerfile: &Path, store: &Store) -> anyhow::Error {
    anyhow::anyhow!("{}: {e} (store {})", dockerfile.display(), store.root().display())
}

fn introduce(plan: &plan::Plan, dockerfile: &Path, build: &str, changed: bool, meta: Option<&RecordMeta>) {
    let build = crate::present::inline(build);
    eprintln!("buildlens debug: the step at {}:{} failed in build {build}:", dockerfile.display(), plan.line);
    for line in plan.failing.lines() {
        eprintln!("    {}", crate::present::inline(line));
    }
    if changed {
        eprintln!("note: this instruction changed since that build; today's Dockerfile is what gets rebuilt");
    }
    if meta.is_none() && !plan.legacy {
        eprintln!("note: the record has no meta.json; no build args are passed");
    }
    let how = if plan.legacy {
        "from the image the step before it committed"
    } else {
        "by building the Dockerfile up to the step before it (cache hits)"
    };
    eprintln!("buildlens debug: preparing the state before it {how}");
}

fn execute(docker: &Docker, plan: &plan::Plan, inputs: &plan::Inputs<'_>) -> anyhow::Result<i32> {
    docker.check_daemon()?;
    for check in &plan.checks {
        let out = docker.output(&["image", "inspect", "--format", "{{.Id}}", &check.image])?;
        if !out.status.success() {
            bail!("{} ({})", check.missing, first_line(&out.stderr));
        }
    }
    if let (Some(text), Some(build)) = (&plan.truncated, &plan.build) {
        std::fs::write(inputs.copy, text).with_context(|| format!("cannot write {}", inputs.copy.display()))?;
        eprintln!(
            "buildlens debug: {} holds the Dockerfile up to line {} (the step before the failing one)",
            inputs.copy.display(),
            plan.line - 1
        );
        let (status, output) = docker.status_teed(build)?;
        if !status.success() {
            let context = failure::Context { docker: &docker.bin.display().to_string(), line: plan.line };
            bail!("{}", failure::message(&output, &status.to_string(), &context));
        }
    }
    if let Some(rerun) = &plan.rerun {
        eprintln!("buildlens debug: the failing command, to run again in the shell:");
        eprintln!("    {}", crate::present::visible(rerun));
    }
    let status = run_shell(docker, &plan.run)?;
    if let Some(cleanup) = &plan.cleanup {
        let removed = docker.status(cleanup, Stdio::from(std::io::stderr()))?;
        if !removed.success() {
            eprintln!("buildlens debug: could not remove the debug image ({removed}); remove it with `docker {}`", cleanup.join(" "));
        }
    } else if !plan.legacy {
        eprintln!("buildlens debug: kept the image {} (--keep)", plan::tag(plan.line));
    }
    Ok(status.code().unwrap_or(1))
}

/// How much of a debug build's standard error is kept for `debug::failure` (its end: errors come last).
const TEED_BYTES: usize = 64 * 1024;

/// The docker binary: `--docker PATH`, else `docker` on PATH; never one named in a log.
struct Docker {
    bin: PathBuf,
    env: Vec<(String, String)>,
}

impl Docker {
    fn command(&self, args: &[String]) -> Command {
        let env: String = self.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        eprintln!("$ {env}{} {}", self.bin.display(), args.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" "));
        let mut cmd = Command::new(&self.bin);
        cmd.args(args).envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn spawn_error(&self, e: std::io::Error) -> anyhow::Error {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("cannot run {}: not found; install the Docker CLI or give its path with --docker PATH", self.bin.display())
        } else {
            anyhow::anyhow!("cannot run {}: {e}", self.bin.display())
        }
    }

    fn output(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.command(&args).stdin(Stdio::null()).output().map_err(|e| self.spawn_error(e))
    }

    fn status(&self, args: &[String], stdout: Stdio) -> anyhow::Result<ExitStatus> {
        self.command(args).stdout(stdout).status().map_err(|e| self.spawn_error(e))
    }

    /// Runs `args` with stdout on our stderr and stderr both shown as it comes and kept (its last
    /// `TEED_BYTES`), for `debug::failure` to read when the command fails.
    fn status_teed(&self, args: &[String]) -> anyhow::Result<(ExitStatus, String)> {
        let mut child =
            self.command(args).stdout(Stdio::from(std::io::stderr())).stderr(Stdio::piped()).spawn().map_err(|e| self.spawn_error(e))?;
        let mut kept: Vec<u8> = Vec::new();
        if let Some(mut pipe) = child.stderr.take() {
            let mut buf = [0u8; 8192];
            let mut shown = std::io::stderr();
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let chunk = buf.get(..n).unwrap_or_default();
                let _ = shown.write_all(chunk);
                kept.extend_from_slice(chunk);
                if kept.len() > 2 * TEED_BYTES {
                    kept.drain(..kept.len() - TEED_BYTES);
                }
            }
        }
        let status = child.wait()?;
        Ok((status, String::from_utf8_lossy(&kept).into_owned()))
    }

    /// `docker version` answers only with a daemon behind it.
    fn check_daemon(&self) -> anyhow::Result<()> {
        let out = self.output(&["version", "--format", "{{.Server.Version}}"])?;
        if !out.status.success() {
            let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the default socket".into());
            bail!(
                "no Docker daemon answers at {host} ({}): start it, or point DOCKER_HOST at the daemon that ran the build",
                first_line(&out.stderr)
            );
        }
        Ok(())
    }
}

/// Runs the shell. Ctrl-C belongs to it: buildlens ignores SIGINT while it waits, so it outlives the
/// shell to clean up. Set after the spawn (std returns once the child has exec'd), so the child keeps
/// its own disposition (an ignored signal would be inherited through exec).
fn run_shell(docker: &Docker, args: &[String]) -> anyhow::Result<ExitStatus> {
    let mut child = docker.command(args).spawn().map_err(|e| docker.spawn_error(e))?;
    // SAFETY: signal(2) with SIG_IGN, then the previous disposition back.
    let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let status = child.wait();
    unsafe { libc::signal(libc::SIGINT, previous) };
    Ok(status?)
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim().to_string()
}

/// Quotes a word for the printed command line, so it can be copied into a shell.
fn shell_quote(word: &str) -> String {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%{}".contains(&b)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// A private temporary folder for the cut Dockerfile, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("buildlens-debug-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_store::{make_log, store_of};

    /// Thirty records, the oldest failed at `RUN make`: the last failure of a line is looked for among the
    /// newest records first, among all of them when it is older; without a line only the newest are read.
    #[test]
    fn debug_reads_every_record_only_for_a_failure_older_than_the_newest() {
        let mut logs = vec![make_log(false); 30];
        logs[0] = make_log(true);
        let (_dir, dockerfile, store, _) = store_of(&logs);
        let text = std::fs::read_to_string(&dockerfile).unwrap();
        let df = dockerfile::parse(&text);
        let (batch, chosen) = choose(store.clone(), &dockerfile, text.clone(), &df, Some(2));
        assert_eq!(batch.records_read(), 30, "the failure of line 2 is in the oldest record");
        assert_eq!(chosen.map(|f| f.build), Ok(0));
        let (batch, chosen) = choose(store, &dockerfile, text, &df, None);
        assert_eq!(batch.records_read(), MIN_RECORDS, "the last build decides");
        assert!(matches!(chosen, Err(DebugError::LastDidNotFail { .. })), "{chosen:?}");
    }
}

//! End-to-end tests of `buildlens record` with real builders: BuildKit v0.8 plain and the legacy builder of
//! the private dockerd 20.10 that `scripts/test.sh` starts, podman 4.3, and an act-style prefixed log. Each
//! records a passing, a failing or a fully cached build of `fixtures/daemon/*`, then checks that the stored
//! log is what was printed, the record's `meta.json`, and the steps `buildlens parse --json` finds in it.
//! The Ctrl-C tests need no daemon and always run.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::checks::{assert_log_is_what_was_printed, assert_meta, assert_steps, only_build, MetaExpect, Stage};
use support::{fresh_context, parse, record, run, unique, Recorded, BUILD_DEADLINE, DOCKER};

/// A real builder and how the tests call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builder {
    /// `DOCKER_BUILDKIT=1 /usr/bin/docker build --progress=plain -f <abs>/Dockerfile -t T .`
    BuildkitPlain,
    /// `DOCKER_BUILDKIT=0 /usr/bin/docker build -f Dockerfile -t T <abs ctx>` (relative -f, absolute context).
    Legacy,
    /// `podman build -t T .` (Dockerfile found in the context).
    Podman,
}

impl Builder {
    fn require(self) {
        match self {
            Builder::Podman => support::require_podman(),
            _ => support::require_docker(),
        }
    }

    fn env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Builder::BuildkitPlain => &[("DOCKER_BUILDKIT", "1")],
            Builder::Legacy => &[("DOCKER_BUILDKIT", "0")],
            Builder::Podman => &[],
        }
    }

    /// The build command for the context `ctx` (the recorder runs it in `ctx`).
    fn command(self, ctx: &Path, tag: &str) -> Vec<String> {
        let ctx = ctx.display().to_string();
        let words: Vec<String> = match self {
            Builder::BuildkitPlain => {
                vec![DOCKER, "build", "--network=none", "--progress=plain", "-f", &format!("{ctx}/Dockerfile"), "-t", tag, "."]
                    .into_iter()
                    .map(String::from)
                    .collect()
            }
            Builder::Legacy => [DOCKER, "build", "--network=none", "-f", "Dockerfile", "-t", tag, &ctx].map(String::from).to_vec(),
            Builder::Podman => ["podman", "build", "--network=none", "-t", tag, "."].map(String::from).to_vec(),
        };
        words
    }

    fn format(self) -> &'static str {
        match self {
            Builder::BuildkitPlain => "buildkit-plain",
            Builder::Legacy => "legacy",
            Builder::Podman => "podman",
        }
    }

    /// How steps are told apart: BuildKit names stages; the legacy builder numbers all steps of the file
    /// (`Step 6/8`); podman numbers per stage with a stage index (`[2/2] STEP 2/4`).
    fn stage(self) -> Stage {
        match self {
            Builder::BuildkitPlain => Stage::Named,
            Builder::Legacy | Builder::Podman => Stage::Ignored,
        }
    }

    /// The steps of `fixtures/daemon/multistage` (FROMs left out), all with `status`.
    fn multistage_steps(self, status: &str) -> Vec<String> {
        let steps: &[&str] = match self {
            Builder::BuildkitPlain => {
                &["builder 2/4 COPY", "builder 3/4 RUN", "builder 4/4 RUN", "stage-1 2/4 COPY", "stage-1 3/4 COPY", "stage-1 4/4 RUN"]
            }
            Builder::Legacy => &["2/8 COPY", "3/8 RUN", "4/8 RUN", "6/8 COPY", "7/8 COPY", "8/8 RUN"],
            Builder::Podman => &["1:2/4 COPY", "1:3/4 RUN", "1:4/4 RUN", "2:2/4 COPY", "2:3/4 COPY", "2:4/4 RUN"],
        };
        steps.iter().map(|s| format!("{s} {status}")).collect()
    }

    /// Cleans up after the podman builds recorded in `store` when dropped (also when the test fails):
    /// declare it after the store, so it goes first. The docker builds go to the private daemon, which
    /// scripts/test.sh throws away whole.
    fn clean_up_after(self, tag: &str, store: &Path) -> Option<PodmanCleanup> {
        (self == Builder::Podman).then(|| PodmanCleanup { tag: tag.to_string(), store: store.to_path_buf() })
    }
}

/// Removes what our podman builds left in podman's shared storage: the tag and the image ids their
/// recorded logs print.
struct PodmanCleanup {
    tag: String,
    store: PathBuf,
}

impl Drop for PodmanCleanup {
    fn drop(&mut self) {
        let logs: Vec<u8> = buildlens::store::Store::at(&self.store)
            .records()
            .iter()
            .flat_map(|r| std::fs::read(r.log_path()).unwrap_or_default())
            .collect();
        support::podman_remove(&self.tag, &logs);
    }
}

/// The steps of `fixtures/daemon/failing`: step 4/5 exits 3, step 5/5 never starts.
const FAILING_STEPS: &[&str] = &["2/5 COPY executed", "3/5 RUN executed", "4/5 RUN error exit=3"];

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Records `builder`'s build of `ctx` in `store`, checks the log and meta.json, and returns the record.
fn record_build(builder: Builder, store: &Path, ctx: &Path, tag: &str, exit_code: i32) -> Recorded {
    let command = builder.command(ctx, tag);
    let rec = record(store, ctx, builder.env(), &[], &strs(&command));
    assert_eq!(rec.status.code(), Some(exit_code), "exit code of record\n{}", support::text(&rec.stderr));
    assert_log_is_what_was_printed(&rec);
    let dockerfile = ctx.join("Dockerfile");
    let want = MetaExpect { exit_code, dockerfile: Some(&dockerfile), context: Some(ctx), tags: &[tag] };
    assert_meta(&rec.meta, &strs(&command), ctx, &want);
    rec
}

fn passing(builder: Builder) {
    builder.require();
    let ctx = fresh_context("multistage");
    let tag = unique("buildlens-e2e-pass");
    let store = tempfile::tempdir().unwrap();
    let _cleanup = builder.clean_up_after(&tag, store.path());
    let rec = record_build(builder, store.path(), ctx.path(), &tag, 0);
    let parsed = parse(&rec.log_path);
    assert_steps(only_build(&parsed, builder.format(), "success"), &strs(&builder.multistage_steps("executed")), builder.stage());
}

fn failing(builder: Builder) {
    builder.require();
    let ctx = fresh_context("failing");
    let tag = unique("buildlens-e2e-fail");
    // BuildKit's docker client exits 1 whatever the step's code; the legacy builder and podman pass it on.
    let code = if builder == Builder::BuildkitPlain { 1 } else { 3 };
    let store = tempfile::tempdir().unwrap();
    let _cleanup = builder.clean_up_after(&tag, store.path());
    let rec = record_build(builder, store.path(), ctx.path(), &tag, code);
    let parsed = parse(&rec.log_path);
    let build = only_build(&parsed, builder.format(), "failed");
    assert!(build["error"].as_str().is_some_and(|e| e.contains('3')), "the build's error names exit code 3: {build:#}");
    assert_steps(build, FAILING_STEPS, builder.stage());
}

fn fully_cached(builder: Builder) {
    builder.require();
    let ctx = fresh_context("multistage");
    let tag = unique("buildlens-e2e-cached");
    let store = tempfile::tempdir().unwrap();
    let _cleanup = builder.clean_up_after(&tag, store.path());
    let mut first = Command::new(&builder.command(ctx.path(), &tag)[0]);
    first.args(&builder.command(ctx.path(), &tag)[1..]).current_dir(ctx.path()).envs(builder.env().iter().copied());
    let out = run(&mut first, BUILD_DEADLINE);
    assert!(out.status.success(), "first build failed: {}{}", support::text(&out.stdout), support::text(&out.stderr));
    let rec = record_build(builder, store.path(), ctx.path(), &tag, 0);
    let parsed = parse(&rec.log_path);
    assert_steps(only_build(&parsed, builder.format(), "success"), &strs(&builder.multistage_steps("cached")), builder.stage());
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn buildkit_plain_passing_multistage() {
    passing(Builder::BuildkitPlain);
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn buildkit_plain_failing() {
    failing(Builder::BuildkitPlain);
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn buildkit_plain_fully_cached() {
    fully_cached(Builder::BuildkitPlain);
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn legacy_passing_multistage() {
    passing(Builder::Legacy);
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn legacy_failing() {
    failing(Builder::Legacy);
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn legacy_fully_cached() {
    fully_cached(Builder::Legacy);
}

#[test]
#[ignore = "needs podman prepared by scripts/test.sh"]
fn podman_passing_multistage() {
    passing(Builder::Podman);
}

#[test]
#[ignore = "needs podman prepared by scripts/test.sh"]
fn podman_failing() {
    failing(Builder::Podman);
}

#[test]
#[ignore = "needs podman prepared by scripts/test.sh"]
fn podman_fully_cached() {
    fully_cached(Builder::Podman);
}

/// act runs `docker build` inside a job and prints each output line behind `[<workflow>/<job>]   | `.
/// The command is a shell pipeline, so the Dockerfile comes from `--dockerfile`.
#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn act_prefixed_buildkit_failing() {
    support::require_docker();
    let ctx = fresh_context("failing");
    let tag = unique("buildlens-e2e-act");
    let script = format!(
        "set -o pipefail; DOCKER_BUILDKIT=1 {DOCKER} build --network=none --progress=plain -t {tag} . 2>&1 | sed 's/^/[CI\\/build]   | /'"
    );
    let command = ["bash", "-c", script.as_str()];
    let store = tempfile::tempdir().unwrap();
    let rec = record(store.path(), ctx.path(), &[], &["--dockerfile", "Dockerfile"], &command);
    assert_eq!(rec.status.code(), Some(1), "exit code of record\n{}", support::text(&rec.stderr));
    // BuildKit 0.8 numbers `load build definition` and `load .dockerignore` in either order: any `#N`.
    assert!(rec.log.starts_with(b"[CI/build]   | #"), "every line has act's prefix: {}", support::text(&rec.log));
    assert_log_is_what_was_printed(&rec);
    let dockerfile = ctx.path().join("Dockerfile");
    assert_meta(&rec.meta, &command, ctx.path(), &MetaExpect { exit_code: 1, dockerfile: Some(&dockerfile), context: None, tags: &[] });
    let parsed = parse(&rec.log_path);
    let build = only_build(&parsed, "buildkit-plain", "failed");
    assert_eq!(build["job"].as_str(), Some("CI/build"), "{build:#}");
    assert_steps(build, FAILING_STEPS, Stage::Named);
}

/// Starts `buildlens record -- sh -c SCRIPT` in its own process group and returns once "start" came
/// through the recorder's stdout (read from the pipe: no sleeping). In SCRIPT, `$1` is a file holding
/// "start": `tail -f -n +1 "$1"` prints it and then blocks, so the line proves that the blocking process
/// runs (with `echo start; sleep 30` a signal could land between the echo and the fork of sleep).
fn record_follower(store: &Path, script: &str) -> (std::process::Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let start = dir.path().join("start.txt");
    std::fs::write(&start, "start\n").unwrap();
    let mut cmd = Command::new(support::BIN);
    cmd.current_dir(store).arg("record").arg("--store").arg(store).args(["--", "sh", "-c", script, "sh"]).arg(&start);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).process_group(0);
    // As from a terminal: scripts/test.sh runs the tests as a background job, which inherits SIGINT ignored.
    // SAFETY: signal(2) is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("buildlens record starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) if line == "start" => (child, dir),
        other => {
            support::kill_group(child.id(), libc::SIGKILL);
            panic!("expected `start` on the recorder's stdout, got {other:?}");
        }
    }
}

/// Waits (bounded) for the recorder to exit after a signal, then checks what it stored.
fn assert_stopped_and_stored(mut child: std::process::Child, store: &Path) {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            support::kill_group(pid, libc::SIGKILL);
            panic!("buildlens record did not exit within 20 s of SIGINT (the command kept running)");
        }
    };
    assert!(status.code().is_some_and(|c| c != 0), "record exits with a failure code of its own, not by the signal: {status:?}");
    let (log_path, meta) = support::only_record(store);
    assert_eq!(std::fs::read(log_path).unwrap(), b"start\n", "the log keeps what was printed before Ctrl-C");
    assert!(meta["finished"].is_string(), "meta.finished set: {meta:#}");
    assert!(meta["exit_code"].is_i64() || meta["signal"].is_i64(), "meta has an exit code or a signal: {meta:#}");
}

/// A signal sent to the recorder alone (`kill -INT <pid>`, an IDE stopping a task) reaches the command.
#[test]
fn sigint_to_the_recorder_stops_the_command_and_keeps_the_log() {
    let store = tempfile::tempdir().unwrap();
    let (child, _files) = record_follower(store.path(), "exec tail -f -n +1 \"$1\"");
    sigint_to(child.id() as i32);
    assert_stopped_and_stored(child, store.path());
}

/// The same for a build run by a script (`sh -c 'docker build …; docker push …'`, `make image`): the
/// shell waits for its foreground child, and sh (dash) acts on a SIGINT of its own only once that child
/// ended ("wait and cooperative exit"). A SIGINT forwarded to the recorder's child alone leaves the build
/// running: it has to reach the whole tree, as a terminal's Ctrl-C does.
#[test]
fn sigint_to_the_recorder_stops_a_script_and_the_build_it_waits_for() {
    let store = tempfile::tempdir().unwrap();
    let (child, _files) = record_follower(store.path(), "tail -f -n +1 \"$1\"; echo after");
    sigint_to(child.id() as i32);
    assert_stopped_and_stored(child, store.path());
}

/// Ctrl-C in a terminal signals the whole foreground process group: the recorder, sh and tail.
#[test]
fn ctrl_c_to_the_process_group_stops_the_command_and_keeps_the_log() {
    let store = tempfile::tempdir().unwrap();
    let (child, _files) = record_follower(store.path(), "tail -f -n +1 \"$1\"; echo after");
    sigint_to(-(child.id() as i32));
    assert_stopped_and_stored(child, store.path());
}

fn sigint_to(pid: i32) {
    // SAFETY: kill(2) on our own child (pid) or the process group it leads (-pid).
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
}

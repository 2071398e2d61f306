//! Hostile stores through the real CLI (issue 19): files that are not what their names say (a FIFO, a
//! symlink to `/dev/zero`, a 3 GB sparse file), a lying summary cache, record folders and store folders
//! symlinked out of the store, a closed stdout. Every command runs as a child process with a deadline
//! (killed and failed past it) under a memory limit (`MAX_DATA`: an allocation past it aborts the
//! command and fails the test); symlink cases check that no file outside the store changed.

mod support_lsp;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_buildlens");
/// Past this a command is taken as blocked (the example's three logs index in well under a second).
const DEADLINE: Duration = Duration::from_secs(30);
/// Memory any command here may take (`RLIMIT_DATA`: heap, anonymous mappings, thread stacks); reading a
/// 3 GB file, `/dev/zero` or a lying cache would pass it. These commands take about 10 MB on the example.
const MAX_DATA: u64 = 256 << 20;

/// A finished command: exit code, output, and its write calls (from `/proc/<pid>/io`).
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    writes: u64,
}

/// Runs `buildlens args` in `dir` with stdout to `stdout` and stderr to a file; fails the test past
/// `DEADLINE`. `Ran::stdout` is left empty (see `run`).
fn run_with(dir: &Path, args: &[&str], stdout: Stdio) -> Ran {
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new(BIN);
    // SAFETY: setrlimit is async-signal-safe and touches only the child's own limits.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: MAX_DATA, rlim_max: MAX_DATA };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command
        .current_dir(dir)
        .args(args)
        .env_remove("BUILDLENS_STORE")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: waitid/wait4 only write into the structs passed; the pid is our own child.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT);
            let writes = syscw(pid);
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -libc::WTERMSIG(status) };
            let _ = tx.send((code, writes));
        }
        drop(child);
    });
    let Ok((code, writes)) = rx.recv_timeout(DEADLINE) else {
        // SAFETY: kill only sends a signal to our own child, still unreaped (the thread waits on it).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("`buildlens {}` still running after {DEADLINE:?}: blocked", args.join(" "));
    };
    let stderr = fs::read_to_string(err.path()).unwrap();
    assert!(!stderr.contains("panicked"), "`buildlens {}` panicked: {stderr}", args.join(" "));
    assert!(code >= 0, "`buildlens {}` killed by signal {} (memory past {MAX_DATA} bytes?): {stderr}", args.join(" "), -code);
    Ran { code, stdout: String::new(), stderr, writes }
}

fn run(dir: &Path, args: &[&str]) -> Ran {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut ran = run_with(dir, args, Stdio::from(out.reopen().unwrap()));
    ran.stdout = fs::read_to_string(out.path()).unwrap();
    ran
}

fn syscw(pid: libc::pid_t) -> u64 {
    let io = fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    io.lines().find_map(|l| l.strip_prefix("syscw: ")).and_then(|n| n.trim().parse().ok()).unwrap_or(u64::MAX)
}

/// A copy of the bundled example (Dockerfile, context, a store of three recorded builds).
fn example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().canonicalize().unwrap().join("ws");
    support_lsp::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &ws);
    (dir, ws)
}

/// The example's record folders, oldest first.
fn records(ws: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(ws.join(".buildlens/builds")).unwrap().flatten().map(|e| e.path()).collect();
    out.sort();
    out
}

fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

fn sparse(path: &Path, len: u64) {
    let _ = fs::remove_file(path);
    fs::File::create(path).unwrap().set_len(len).unwrap();
}

/// Every file under `dir` with its contents (symlinks as their target): to show nothing changed there.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let (path, kind) = (entry.path(), entry.file_type().unwrap());
        if kind.is_dir() {
            out.extend(snapshot(&path));
        } else if kind.is_symlink() {
            out.insert(path.clone(), fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes());
        } else {
            out.insert(path.clone(), fs::read(&path).unwrap());
        }
    }
    out
}

/// `report`, `builds --json` and `explain` all finish (the deadline) and exit 0.
fn every_command_finishes(ws: &Path, case: &str) -> Value {
    let report = run(ws, &["report", "Dockerfile", "--json"]);
    assert_eq!(report.code, 0, "{case}: report: {}", report.stderr);
    let builds = run(ws, &["builds", "--json"]);
    assert_eq!(builds.code, 0, "{case}: builds: {}", builds.stderr);
    let explain = run(ws, &["explain", "Dockerfile"]);
    assert_eq!(explain.code, 0, "{case}: explain: {}", explain.stderr);
    serde_json::from_str(&report.stdout).unwrap_or_else(|e| panic!("{case}: {e}: {}", report.stdout))
}

/// Issue 19, 1: a FIFO where each store file is expected, and as the Dockerfile a `meta.json` names.
#[test]
fn a_fifo_in_place_of_any_store_file_blocks_no_command() {
    for file in ["build.log", "summary.json", "meta.json", "image.json", "inputs.json", "Dockerfile meta.json names"] {
        let (_dir, ws) = example();
        let newest = records(&ws).pop().unwrap();
        let older = &records(&ws)[1];
        match file {
            "Dockerfile meta.json names" => {
                mkfifo(&ws.join("fifo.Dockerfile"));
                let meta = newest.join("meta.json");
                let mut m: Value = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
                m["dockerfile"] = json!("fifo.Dockerfile");
                fs::write(&meta, m.to_string()).unwrap();
            }
            "image.json" => mkfifo(&older.join(file)),
            _ => mkfifo(&newest.join(file)),
        }
        let report = every_command_finishes(&ws, file);
        let problems = report["problems"].to_string();
        if file == "build.log" {
            assert!(problems.contains("not a regular file"), "{file}: {problems}");
        }
    }
}

/// Issue 19, 2: `image.json` / `inputs.json` a symlink to `/dev/zero`; store files as 3 GB sparse files
/// (no disk used): refused by type or size, never read.
#[test]
fn dev_zero_and_sparse_store_files_are_not_read() {
    for (file, how) in [
        ("image.json", "zero"),
        ("inputs.json", "zero"),
        ("image.json", "sparse"),
        ("inputs.json", "sparse"),
        ("summary.json", "sparse"),
        ("meta.json", "sparse"),
    ] {
        let (_dir, ws) = example();
        let target = records(&ws)[1].join(file);
        let _ = fs::remove_file(&target);
        match how {
            "zero" => symlink("/dev/zero", &target).unwrap(),
            _ => sparse(&target, 3 << 30),
        }
        let case = format!("{file} {how}");
        let report = every_command_finishes(&ws, &case);
        let builds = report["builds"].as_u64().unwrap();
        let expected = if file == "meta.json" { 2 } else { 3 };
        assert_eq!(builds, expected, "{case}: the other records still count");
        let problems = report["problems"].to_string();
        let said = if how == "zero" { "is not a regular file" } else { "larger than" };
        assert!(problems.contains(file) && problems.contains(said), "{case}: a problem says so: {problems}");
    }
}

/// Issue 19, 3: a `summary.json` with the right version and log size that lies about everything else
/// (a 50 MB excerpt line, a 20 MB error, `u64::MAX` durations, 100,000 extra steps).
#[test]
fn a_lying_summary_cache_is_discarded_and_the_log_read_again() {
    // The case (about 100 MB: over the cache's size cap, so not even parsed), then lies under the
    // cap that only the bounds check catches (a 50 MB excerpt line; `u64::MAX` durations).
    for (case, huge) in [("the issue's lying cache", true), ("a lying cache under the size cap", false)] {
        let (_dir, ws) = example();
        let honest = run(&ws, &["report", "Dockerfile", "--json"]);
        assert_eq!(honest.code, 0, "{}", honest.stderr);
        let newest = records(&ws).pop().unwrap();
        let mut summary: Value = serde_json::from_slice(&fs::read(newest.join("summary.json")).unwrap()).unwrap();
        let steps = summary["parsed"]["builds"][0]["steps"].as_array_mut().unwrap();
        let mut extra = steps[0].clone();
        extra["duration_ms"] = json!(u64::MAX);
        for step in steps.iter_mut() {
            step["duration_ms"] = json!(u64::MAX);
        }
        steps[1]["excerpt"] = json!(["x".repeat(50 << 20)]);
        if huge {
            steps[1]["error"] = json!("e".repeat(20 << 20));
            steps.extend(std::iter::repeat_n(extra, 100_000));
        }
        fs::write(newest.join("summary.json"), serde_json::to_vec(&summary).unwrap()).unwrap();
        let mut report = every_command_finishes(&ws, case);
        let problems = report["problems"].take().to_string();
        assert_eq!(problems.contains("summary.json is larger than its cap"), huge, "{case}: {problems}");
        let mut expected: Value = serde_json::from_str(&honest.stdout).unwrap();
        expected["problems"].take();
        assert_eq!(report, expected, "{case}: the report is the honest one");
        let rewritten = fs::metadata(newest.join("summary.json")).unwrap().len();
        assert!(rewritten < 1 << 20, "{case}: the cache was replaced by the log's own summary ({rewritten} bytes)");
    }
}

/// Issue 19, 4 and 7: a record folder symlinked to a folder outside the store is read but gets nothing
/// written; a store whose `builds` folder leaves it gets no new record from `import` or `record`.
#[test]
fn nothing_is_written_through_a_symlink_that_leaves_the_store() {
    let (dir, ws) = example();
    let outside = dir.path().canonicalize().unwrap().join("outside");
    let newest = records(&ws).pop().unwrap();
    fs::rename(&newest, &outside).unwrap();
    symlink(&outside, &newest).unwrap();
    let before = snapshot(&outside);
    let r = run(&ws, &["report", "Dockerfile", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["builds"], 3, "the record is still read");
    assert!(report["problems"].to_string().contains("through a symlink"), "{report:#}");
    assert_eq!(snapshot(&outside), before, "no file outside the store changed");

    // The whole `builds` folder elsewhere: import and record refuse to create a record there.
    let builds = ws.join(".buildlens/builds");
    let elsewhere = dir.path().join("elsewhere");
    fs::rename(&builds, &elsewhere).unwrap();
    symlink(&elsewhere, &builds).unwrap();
    let before = snapshot(&elsewhere);
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs/plain/bk20-plain-failing.log");
    let import = run(&ws, &["import", log.to_str().unwrap()]);
    assert_ne!(import.code, 0);
    assert!(import.stderr.contains("leaves the store"), "{}", import.stderr);
    let record = run(&ws, &["record", "--", "true"]);
    assert_ne!(record.code, 0);
    assert!(record.stderr.contains("leaves the store"), "{}", record.stderr);
    assert_eq!(snapshot(&elsewhere), before, "no file outside the store changed");
}

/// Issue 19, 7: a planted `.gitignore` symlink in a fresh store is not written through.
#[test]
fn a_planted_gitignore_symlink_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    fs::create_dir_all(ws.join(".buildlens")).unwrap();
    fs::create_dir(ws.join(".git")).unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, "keep").unwrap();
    symlink(&victim, ws.join(".buildlens/.gitignore")).unwrap();
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs/plain/bk20-plain-failing.log");
    let import = run(&ws, &["import", log.to_str().unwrap()]);
    assert_eq!(import.code, 0, "{}", import.stderr);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
}

/// Issue 19, 5: standard output is buffered (a handful of writes, not one per line) and a reader that
/// went away ends the command quietly (141, as SIGPIPE would), never a panic.
#[test]
fn stdout_is_buffered_and_a_closed_pipe_is_quiet() {
    let (_dir, ws) = example();
    run(&ws, &["report", "Dockerfile", "--json"]); // Indexes (writes the caches) once.
    for args in
        [&["report", "Dockerfile", "--json"][..], &["report", "Dockerfile"], &["builds", "--json"], &["explain", "Dockerfile", "--json"]]
    {
        let r = run(&ws, args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let lines = r.stdout.lines().count() as u64;
        assert!(lines > 20, "{args:?}: enough output to tell ({lines} lines)");
        assert!(r.writes < 16, "{args:?}: {} write calls for {lines} lines", r.writes);
    }
    for args in [
        &["report", "Dockerfile", "--json"][..],
        &["builds", "--json"],
        &["parse", ".buildlens/builds/20261124T083038.435Z-d008/build.log", "--json"],
    ] {
        let (read, write) = std::io::pipe().unwrap();
        drop(read);
        let r = run_with(&ws, args, Stdio::from(write));
        assert_eq!(r.code, 141, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("pipe"), "{args:?}: quiet: {}", r.stderr);
    }
}

//! `buildlens parse` (text and `--json`) of a log holding 100,000 builds (issue 19, 11): builds are
//! written as they close (`log::stream`), so peak memory does not grow with their number. The child's peak
//! is its `ru_maxrss` (`wait4`); this test is alone in its binary so the test process, whose resident pages
//! a forked child starts with, stays small. A deadline kills the child and fails the test.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `buildlens parse ARGS` with its output thrown away; its peak resident memory (`wait4`) and
/// time. Killed (and the test failed) past `within`.
// The child is reaped by `wait4` (for its rusage), which clippy does not see.
#[allow(clippy::zombie_processes)]
fn parse_cli(args: &[&str], within: Duration) -> (u64, Duration) {
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .arg("parse")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(within).is_err() {
            // SAFETY: kill only signals the child this test started (not yet reaped: wait4 below).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
        false
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; the pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let _ = tx.send(());
    let killed = watchdog.join().unwrap();
    assert!(!killed && waited == pid, "buildlens parse {args:?} did not finish within {within:?}");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "buildlens parse {args:?}: status {status}");
    (usage.ru_maxrss as u64 * 1024, started.elapsed())
}

/// Peak resident memory of `buildlens parse` (text and `--json`) on a log of 100,000 builds (35 MB):
/// builds are written as they close, so memory does not grow with their number (measured: about
/// 10 MiB in the test profile; all builds held: 277 MiB, and 922 MiB / 1.45 GB before issue 19).
const PEAK_100K_BUILDS: u64 = 40 << 20;

#[test]
fn a_log_of_100000_builds_parses_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("builds.log");
    // Written as it is made: this process stays small, and its memory is no part of the child's.
    let mut log = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..100_000 {
        write!(
            log,
            "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/alpine:3.19\n\
             #2 CACHED\n\n#3 [2/2] RUN echo build {i}\n#3 0.101 build {i}\n#3 DONE 0.2s\n\n#4 exporting to image\n\
             #4 writing image sha256:{i:064x} done\n#4 DONE 0.0s\n"
        )
        .unwrap();
    }
    log.flush().unwrap();
    drop(log);
    let path = path.to_str().unwrap();
    for args in [vec![path], vec!["--json", path]] {
        let (peak, took) = parse_cli(&args, Duration::from_secs(60));
        eprintln!("parse {args:?}: peak RSS {} MiB, {took:?}", peak >> 20);
        assert!(peak < PEAK_100K_BUILDS, "parse {args:?}: peak RSS {} MiB, bound {} MiB", peak >> 20, PEAK_100K_BUILDS >> 20);
    }
}

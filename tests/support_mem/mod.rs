//! Peak resident memory of the processes a test starts (issue 19: each hostile case states its figure).
//! A live child (the server): its `VmHWM` from /proc/<pid>/status, read while it still runs. A command
//! that runs to its end (`record`, `parse`): run under GNU time (`/usr/bin/time -f %M`), which forks it
//! from its own small process. The command's own `wait4` rusage is not used for that: `exec` records the
//! resident size of the process it replaced, which for a child spawned by the test (vfork) is the test
//! process's, so a test holding a big log in memory would be counted (measured: a 300 MiB parent makes
//! `/bin/true` report 313 MiB; under GNU time, 1 MiB). `scripts/lib/deps.sh` installs `time`.
#![allow(dead_code)] // each test crate uses a different part

use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// GNU time (Debian package `time`).
pub const GNU_TIME: &str = "/usr/bin/time";

/// The peak resident memory (bytes) of the live process `pid` so far (`VmHWM`).
pub fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/<pid>/status");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("VmHWM in kB") * 1024
}

/// What a command run to its end under GNU time gave.
pub struct Measured {
    pub output: Output,
    /// Its peak resident memory, bytes.
    pub peak: u64,
    pub took: Duration,
}

/// Runs `command` (its program, arguments, environment and folder; stdin null, stdout and stderr
/// captured) under GNU time. `Err` when it was still running after `within`: then it was killed, with
/// everything in its process group.
pub fn run_measured(command: &Command, within: Duration) -> Result<Measured, String> {
    assert!(std::path::Path::new(GNU_TIME).is_file(), "{GNU_TIME} (Debian package `time`) measures peak memory: install it");
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut timed = Command::new(GNU_TIME);
    timed.args(["-f", "peak_kib %M", "-o"]).arg(report.path()).arg("--").arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let started = Instant::now();
    let child = timed.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn().unwrap();
    let group = child.id() as libc::pid_t;
    let (done, rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(within).is_err() {
            // SAFETY: signals the process group this function started (GNU time and the command).
            unsafe { libc::kill(-group, libc::SIGKILL) };
            return true;
        }
        false
    });
    let output = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let _ = done.send(());
    if watchdog.join().unwrap() {
        return Err(format!("{:?} still running after {within:?}: killed", command.get_program()));
    }
    let text = std::fs::read_to_string(report.path()).unwrap();
    let peak = text.lines().rev().find_map(|l| l.strip_prefix("peak_kib ")).and_then(|kib| kib.trim().parse::<u64>().ok());
    let peak = peak.unwrap_or_else(|| panic!("no peak in GNU time's report: {text:?}")) * 1024;
    Ok(Measured { output, peak, took })
}

//! `record` and a daemonised grandchild (issue 19, 12): `setsid sleep 60 &` keeps the command's output
//! open after the command exited. `record` stops reading once the command exited and its process group
//! is gone (2 s grace), finishes `meta.json` and says so; the test fails if it takes 20 s.

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn record_returns_while_a_daemonised_grandchild_holds_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let pidfile = dir.path().join("grandchild.pid");
    let script = format!("setsid sleep 60 & echo $! > {}; echo hi", pidfile.display());
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .args(["record", "--store", store.to_str().unwrap(), "--", "sh", "-c", &script])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx.recv_timeout(Duration::from_secs(20));
    // The grandchild is ours to end, whatever happened.
    if let Some(gpid) = std::fs::read_to_string(&pidfile).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
        // SAFETY: kill sends a signal to the sleep this test started (through the recorded command).
        unsafe { libc::kill(gpid, libc::SIGKILL) };
    }
    let out = out.unwrap_or_else(|_| {
        // SAFETY: kill sends a signal to the recorder this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        panic!("record did not return within 20 s")
    });
    let out = out.unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped recording"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let records: Vec<_> = std::fs::read_dir(store.join("builds")).unwrap().flatten().collect();
    assert_eq!(records.len(), 1);
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(records[0].path().join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["exit_code"], 0, "{meta}");
    assert!(meta["finished"].is_string(), "{meta}");
    assert_eq!(std::fs::read_to_string(records[0].path().join("build.log")).unwrap(), "hi\n");
}

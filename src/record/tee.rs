//! Copies a child's stdout and stderr to ours, live and unchanged, and into the record's log file.
//!
//! Each stream has its own thread; chunks go to the terminal first (so the user sees output without
//! delay), then to the log under one lock, so the log holds both streams in arrival order.

use std::fs::File;
use std::io::{Read, Write};
use std::process::Child;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the streams may stay open once the command and its process group are gone: a process that
/// left the group (`setsid … &`, a daemon) may hold them for good.
pub const GRACE: Duration = Duration::from_secs(2);

/// The running copy threads.
pub struct Pumps {
    running: usize,
    done: mpsc::Receiver<()>,
}

impl Pumps {
    /// Waits until both streams reached their end, as long as the command's process group `pgid` has a
    /// member, then `GRACE` more at most. False when it stopped waiting (a process outside the group
    /// still holds the output; its threads are left to end with the process).
    pub fn join(mut self, pgid: u32) -> bool {
        let mut gone_since: Option<Instant> = None;
        while self.running > 0 {
            if self.done.recv_timeout(Duration::from_millis(50)).is_ok() {
                self.running -= 1;
                continue;
            }
            if group_alive(pgid) {
                gone_since = None;
            } else if gone_since.get_or_insert_with(Instant::now).elapsed() >= GRACE {
                return false;
            }
        }
        true
    }
}

/// Whether any process is left in process group `pgid`.
fn group_alive(pgid: u32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return false };
    // SAFETY: signal 0 only checks that the group exists and may be signalled; nothing is sent.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Starts copying the child's piped stdout and stderr.
pub fn start(child: &mut Child, log: File) -> Pumps {
    let log = Arc::new(Mutex::new(log));
    let (tx, done) = mpsc::channel();
    let mut running = 0;
    if let Some(out) = child.stdout.take() {
        let (log, tx) = (Arc::clone(&log), tx.clone());
        std::thread::spawn(move || {
            pump(out, std::io::stdout(), &log);
            let _ = tx.send(());
        });
        running += 1;
    }
    if let Some(err) = child.stderr.take() {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            pump(err, std::io::stderr(), &log);
            let _ = tx.send(());
        });
        running += 1;
    }
    Pumps { running, done }
}

fn pump(mut from: impl Read, mut to: impl Write, log: &Mutex<File>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        // A closed terminal must not stop the recording: ignore write errors to it.
        let _ = to.write_all(&buf[..n]).and_then(|_| to.flush());
        if let Ok(mut file) = log.lock() {
            let _ = file.write_all(&buf[..n]);
        }
    }
}

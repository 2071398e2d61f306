//! Copies a child's stdout and stderr to ours, live and unchanged, and into the record's log file.
//!
//! Each stream has its own thread; chunks go to the terminal first (so the user sees output without
//! delay), then to the log under one lock, so the log holds both streams in arrival order.

use std::fs::File;
use std::io::{Read, Write};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The running copy threads.
pub struct Pumps {
    threads: Vec<JoinHandle<()>>,
}

impl Pumps {
    /// Waits until both streams reached their end (the child and every process holding them exited).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Starts copying the child's piped stdout and stderr.
pub fn start(child: &mut Child, log: File) -> Pumps {
    let log = Arc::new(Mutex::new(log));
    let mut threads = Vec::new();
    if let Some(out) = child.stdout.take() {
        let log = Arc::clone(&log);
        threads.push(std::thread::spawn(move || pump(out, std::io::stdout(), &log)));
    }
    if let Some(err) = child.stderr.take() {
        let log = Arc::clone(&log);
        threads.push(std::thread::spawn(move || pump(err, std::io::stderr(), &log)));
    }
    Pumps { threads }
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

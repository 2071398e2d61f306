//! Keeps the recorder alive through Ctrl-C and delivers stop signals to the whole build command.
//!
//! The command runs in a process group of its own, so a signal reaches the script *and* the build it
//! waits for (`sh -c 'docker build …'`: sh alone would wait for docker before acting). When standard
//! input is the terminal, that group becomes the terminal's foreground group, as a shell would do: Ctrl-C
//! then goes to the build directly and not to the recorder. Any SIGINT, SIGTERM or SIGHUP the recorder
//! itself receives (`kill -INT <pid>`, an IDE stopping a task, Ctrl-C when stdin is not the terminal) is
//! forwarded to the group once.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

static GROUP: AtomicI32 = AtomicI32::new(0);
const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Forwarding stays on until this is dropped; dropping also gives the terminal back to the recorder.
pub struct Forwarding {
    previous: Vec<(libc::c_int, libc::sigaction)>,
    terminal: bool,
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        GROUP.store(0, Ordering::SeqCst);
        if self.terminal {
            take_terminal_back();
        }
        for (sig, old) in &self.previous {
            // SAFETY: restoring the handler we replaced, with a sigaction the kernel gave us.
            unsafe {
                libc::sigaction(*sig, old, std::ptr::null_mut());
            }
        }
    }
}

impl Forwarding {
    /// The command was started as `pid`, leader of its own group.
    pub fn set_child(&self, pid: u32) {
        let pid = i32::try_from(pid).unwrap_or(0);
        // Also set here (not only in the child) so the group exists before any signal is forwarded.
        // SAFETY: plain syscalls on a child of ours.
        unsafe {
            libc::setpgid(pid, pid);
        }
        if self.terminal {
            give_terminal_to(pid);
        }
        GROUP.store(pid, Ordering::SeqCst);
    }
}

/// True when stdin is a terminal whose foreground group is ours.
fn owns_terminal() -> bool {
    // SAFETY: read-only queries.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp() }
}

/// Makes `command` start in a group of its own (the terminal's foreground group when we own it).
pub fn own_group(command: &mut Command, terminal: bool) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::setpgid(0, 0);
            if terminal {
                let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
                libc::signal(libc::SIGTTOU, old);
            }
            Ok(())
        });
    }
}

fn take_terminal_back() {
    // SAFETY: a query of our own group.
    give_terminal_to(unsafe { libc::getpgrp() });
}

/// Makes `group` the terminal's foreground group. Once the command's group has the terminal, the recorder
/// is a background process, which SIGTTOU would stop for changing it: ignore SIGTTOU meanwhile.
fn give_terminal_to(group: libc::pid_t) {
    // SAFETY: plain syscalls; the previous SIGTTOU disposition is restored.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        libc::tcsetpgrp(libc::STDIN_FILENO, group);
        libc::signal(libc::SIGTTOU, old);
    }
}

/// Installs the handlers before the command starts, so an early signal cannot kill the recorder.
pub fn install() -> Forwarding {
    GROUP.store(0, Ordering::SeqCst);
    let mut previous = Vec::new();
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe `kill`.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, &action, &mut old) == 0 {
                previous.push((sig, old));
            }
        }
    }
    Forwarding { previous, terminal: owns_terminal() }
}

impl Forwarding {
    /// Whether the command's group takes over the terminal.
    pub fn terminal(&self) -> bool {
        self.terminal
    }
}

extern "C" fn handler(sig: libc::c_int) {
    let group = GROUP.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill is async-signal-safe; a negative pid addresses the whole group.
        unsafe {
            libc::kill(-group, sig);
        }
    }
}

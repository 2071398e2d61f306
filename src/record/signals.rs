//! Keeps the recorder alive through Ctrl-C and forwards signals sent to it alone to the build command.
//!
//! A terminal's Ctrl-C goes to the whole foreground process group, so the command already has it: it is
//! not forwarded again (a second SIGINT makes `docker build` abort without cleanup). A signal sent to the
//! recorder by another process (`kill -INT <pid>`, an IDE stopping a task) is forwarded once.

use std::sync::atomic::{AtomicI32, Ordering};

static CHILD: AtomicI32 = AtomicI32::new(0);
const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Forwarding stays on until this is dropped.
pub struct Forwarding {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        CHILD.store(0, Ordering::SeqCst);
        for (sig, old) in &self.previous {
            // SAFETY: restoring the handler we replaced, with a sigaction the kernel gave us.
            unsafe {
                libc::sigaction(*sig, old, std::ptr::null_mut());
            }
        }
    }
}

impl Forwarding {
    /// From now on, signals sent to the recorder go to `pid`.
    pub fn set_child(&self, pid: u32) {
        CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    }
}

/// Installs the handlers (before the child starts, so an early Ctrl-C cannot kill the recorder).
pub fn install() -> Forwarding {
    CHILD.store(0, Ordering::SeqCst);
    let mut previous = Vec::new();
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe `kill`.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, &action, &mut old) == 0 {
                previous.push((sig, old));
            }
        }
    }
    Forwarding { previous }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let child = CHILD.load(Ordering::SeqCst);
    if child <= 0 || info.is_null() {
        return;
    }
    // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO.
    let code = unsafe { (*info).si_code };
    // SI_USER / SI_QUEUE: sent by a process with kill(2); terminal signals come from the kernel.
    if code == libc::SI_USER || code == libc::SI_QUEUE {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(child, sig);
        }
    }
}

//! The state of the server's registry pull loop (`remote_loop`): what it was started for, its task, the
//! Dockerfiles pulled for since, and the wake-up a newly opened Dockerfile gives it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// What a pull loop was started for; a change restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub remote: String,
    pub last: usize,
    pub interval: Duration,
    pub store: PathBuf,
}

/// The server's pull loop (one at a time).
#[derive(Default)]
pub struct RemotePull {
    inner: Mutex<Inner>,
    /// Wakes the loop early: a Dockerfile was opened that was never pulled for.
    pub opened: tokio::sync::Notify,
}

#[derive(Default)]
struct Inner {
    wanted: Option<Wanted>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Dockerfiles (repository-relative) pulled for since the loop started.
    pulled: HashSet<String>,
}

fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RemotePull {
    /// Stops the loop and starts `spawn(wanted)` instead, unless it already runs for `wanted`.
    pub fn restart(&self, wanted: Option<Wanted>, spawn: impl FnOnce(Wanted) -> Option<tokio::task::JoinHandle<()>>) {
        let mut inner = lock(&self.inner);
        if inner.wanted == wanted {
            return;
        }
        if let Some(task) = inner.task.take() {
            task.abort();
        }
        inner.pulled.clear();
        inner.wanted = wanted.clone();
        inner.task = wanted.and_then(spawn);
    }

    /// Of the open Dockerfiles `names`, those to pull for now: all when `all`, else the ones never pulled
    /// for. Marks them pulled for.
    pub fn due(&self, names: Vec<String>, all: bool) -> Vec<String> {
        let mut inner = lock(&self.inner);
        let fresh: Vec<String> = names.iter().filter(|n| !inner.pulled.contains(*n)).cloned().collect();
        inner.pulled.extend(fresh.iter().cloned());
        if all {
            names
        } else {
            fresh
        }
    }
}

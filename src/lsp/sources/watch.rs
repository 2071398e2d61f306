//! Live and current: new and growing records are picked up without a restart. Where the client offers
//! `workspace/didChangeWatchedFiles` with dynamic registration, it watches the store and the
//! `buildlens.logGlobs` files for us (registered from a spawned task); else a `notify` watcher does.
//! Either way a change marks the touched records stale (`Source::invalidate`) and wakes one worker, which
//! re-indexes (reporting `$/progress` for large runs where the client supports it), then asks the client
//! to refresh lenses and hints (only where advertised) and republishes diagnostics.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tower_lsp_server::ls_types::{
    DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, OneOf, ProgressToken, Registration, RelativePattern,
    Unregistration, Uri,
};
use tower_lsp_server::{Bounded, Client, NotCancellable, OngoingProgress};

use super::watching::Target;
use crate::lsp::config::ClientSupport;
use crate::lsp::protocol::guard;
use crate::lsp::state::Shared;
use crate::workspace::log_globs::{glob_base, glob_match};
use crate::workspace::{Indexing, LogGlobs};

/// Registration id of the server's file watchers.
const WATCH_ID: &str = "buildlens-watch";
const WATCHED_FILES: &str = "workspace/didChangeWatchedFiles";
/// A burst of events (a log appended line by line, a record being written) becomes one re-index.
const COALESCE: Duration = Duration::from_millis(100);

fn target(shared: &Shared) -> (Target, ClientSupport) {
    let st = shared.lock();
    (Target { store: st.store().root().to_path_buf(), root: st.root.clone(), globs: st.settings.log_globs.clone() }, st.support)
}

/// Starts watching (after `initialized`), or moves the watch after a settings change. Idempotent.
pub fn start(client: &Client, shared: &Arc<Shared>) {
    let (target, support) = target(shared);
    shared.source().set_log_globs(LogGlobs { root: target.root.clone(), globs: target.globs.clone() });
    let mut w = shared.watching.lock().unwrap_or_else(|e| e.into_inner());
    if w.target.as_ref() == Some(&target) {
        return;
    }
    let moved = w.target.replace(target.clone()).is_some();
    if support.watched_files_dynamic {
        let unregister = std::mem::replace(&mut w.registered, true);
        register(client.clone(), unregister, registration(&target, support.watched_files_relative));
    } else {
        if let Some(old) = w.fs.take() {
            old.abort();
        }
        w.fs = Some(tokio::spawn(watch_fs(target, shared.clone())));
    }
    drop(w);
    if moved {
        shared.source().invalidate_all();
        shared.wake.notify_one();
    }
}

/// Paths that changed (from the client's `didChangeWatchedFiles` or from `notify`).
pub fn changed(shared: &Shared, paths: &[PathBuf]) {
    let (target, _) = target(shared);
    let records = shared.source().invalidate(&crate::store::Store::at(&target.store), paths);
    let logs = paths.iter().any(|p| {
        let relative = p.strip_prefix(&target.root).unwrap_or(p);
        target.globs.iter().any(|g| glob_match(g, relative) || glob_match(g, p))
    });
    if records || logs {
        shared.wake.notify_one();
    }
}

/// The one re-indexing worker: indexes the store once at start-up (requests that arrive meanwhile wait
/// for it, so no refresh is needed after it), then once per burst of changes.
/// `changed`: what the server does when records changed (ask for lenses and hints again, republish).
pub fn spawn_worker(client: Client, shared: Arc<Shared>, changed: fn(&Client, &Arc<Shared>)) {
    tokio::spawn(async move {
        reindex(&client, &shared).await;
        loop {
            shared.wake.notified().await;
            tokio::time::sleep(COALESCE).await;
            reindex(&client, &shared).await;
            changed(&client, &shared);
        }
    });
}

async fn reindex(client: &Client, shared: &Arc<Shared>) {
    let support = shared.lock().support;
    let (tx, rx) = mpsc::unbounded_channel();
    let reporter = tokio::spawn(report(client.clone(), support.work_done_progress, rx));
    let s = shared.clone();
    let _ = guard::request("buildlens/index", move || {
        let store = s.lock().store();
        s.source().refresh(&store, &move |e| {
            let _ = tx.send(e);
        });
    })
    .await;
    let _ = reporter.await;
}

/// Turns indexing events into `window/workDoneProgress/create` + `$/progress` begin/report/end.
async fn report(client: Client, supported: bool, mut events: mpsc::UnboundedReceiver<Indexing>) {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut ongoing: Option<(OngoingProgress<Bounded, NotCancellable>, u32)> = None;
    while let Some(event) = events.recv().await {
        match event {
            Indexing::Begin { records, bytes } if supported => {
                let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let token = ProgressToken::String(format!("buildlens/index/{n}"));
                if let Err(e) = client.create_work_done_progress(token.clone()).await {
                    eprintln!("buildlens: window/workDoneProgress/create: {e}");
                    continue;
                }
                let message = format!("{records} record(s), {} MiB", bytes >> 20);
                let p = client.progress(token, "Indexing build logs").with_message(message).with_percentage(0).begin().await;
                ongoing = Some((p, 0));
            }
            Indexing::Report { done, records } => {
                if let Some((p, last)) = ongoing.as_mut() {
                    let pct = u32::try_from(done.saturating_mul(100) / records.max(1)).unwrap_or(100);
                    if pct > *last {
                        *last = pct;
                        p.report_with_message(format!("{done}/{records}"), pct).await;
                    }
                }
            }
            Indexing::End => {
                if let Some((p, _)) = ongoing.take() {
                    p.finish().await;
                }
            }
            Indexing::Begin { .. } => {}
        }
    }
}

/// The watchers to register: the store's records, and the log globs.
fn registration(target: &Target, relative: bool) -> Option<Registration> {
    let store = if target.store == target.root.join(crate::store::DEFAULT_DIR) {
        GlobPattern::String(format!("**/{}/builds/**", crate::store::DEFAULT_DIR))
    } else if let (true, Some(base)) = (relative, Uri::from_file_path(&target.store)) {
        GlobPattern::Relative(RelativePattern { base_uri: OneOf::Right(base), pattern: "builds/**".into() })
    } else {
        GlobPattern::String(format!("{}/builds/**", target.store.display()))
    };
    let mut watchers = vec![FileSystemWatcher { glob_pattern: store, kind: None }];
    watchers.extend(target.globs.iter().map(|g| FileSystemWatcher { glob_pattern: GlobPattern::String(g.clone()), kind: None }));
    let options = serde_json::to_value(DidChangeWatchedFilesRegistrationOptions { watchers }).ok()?;
    Some(Registration { id: WATCH_ID.into(), method: WATCHED_FILES.into(), register_options: Some(options) })
}

/// `client/registerCapability` (after unregistering the previous watchers), from a spawned task.
fn register(client: Client, unregister: bool, registration: Option<Registration>) {
    let Some(registration) = registration else { return };
    tokio::spawn(async move {
        if unregister {
            let old = Unregistration { id: WATCH_ID.into(), method: WATCHED_FILES.into() };
            if let Err(e) = client.unregister_capability(vec![old]).await {
                eprintln!("buildlens: client/unregisterCapability: {e}");
            }
        }
        if let Err(e) = client.register_capability(vec![registration]).await {
            eprintln!("buildlens: client/registerCapability: {e}");
        }
    });
}

/// The `notify` watch: the store recursively once it exists (until then its nearest existing ancestor,
/// to see it appear), and the fixed folder each log glob starts with. Owns the watcher until aborted.
async fn watch_fs(target: Target, shared: Arc<Shared>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<PathBuf>>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
        // Reads (inotify's open/close-nowrite) are not changes: indexing reads every record, and counting
        // those would re-index forever.
        Ok(event) if matches!(event.kind, notify::EventKind::Access(_)) => {}
        Ok(event) => {
            let _ = tx.send(event.paths);
        }
        Err(e) => eprintln!("buildlens: watching the store: {e}"),
    });
    let watcher = match watcher {
        Ok(w) => w,
        Err(e) => return eprintln!("buildlens: cannot watch the store ({e}); restart the server to see new records"),
    };
    // A recursive watch walks every folder (a year of CI is 10,000 record folders, a third of a second):
    // on the blocking pool, never on the protocol thread, so the first requests are answered meanwhile.
    let (store, root, globs) = (target.store.clone(), target.root.clone(), target.globs.clone());
    let first = tokio::task::spawn_blocking(move || {
        let mut watcher = watcher;
        for dir in globs.iter().filter_map(|g| glob_base(g, &root)).filter(|d| d.is_dir()) {
            if let Err(e) = watcher.watch(&dir, RecursiveMode::Recursive) {
                crate::present::eprint_line(format_args!("buildlens: watching {}: {e}", dir.display()));
            }
        }
        let placed = place(&mut watcher, &store, None);
        (watcher, placed)
    });
    let Ok((mut watcher, mut placed)) = first.await else { return eprintln!("buildlens: setting up the store watch failed") };
    // Whatever happened before the watch was in place was not seen.
    shared.source().invalidate_all();
    shared.wake.notify_one();
    while let Some(paths) = rx.recv().await {
        let store = target.store.clone();
        let current = placed.clone();
        let again = tokio::task::spawn_blocking(move || {
            let now = place(&mut watcher, &store, current);
            (watcher, now)
        });
        let Ok((back, now)) = again.await else { return eprintln!("buildlens: moving the store watch failed") };
        watcher = back;
        if now != placed {
            placed = now;
            shared.source().invalidate_all();
            shared.wake.notify_one();
        }
        changed(&shared, &paths);
    }
}

/// Watches the store (recursively) if it exists, else its nearest existing ancestor (not recursively).
/// Returns what is watched now; changes nothing when that is already `current`.
fn place(watcher: &mut impl Watcher, store: &Path, current: Option<(PathBuf, bool)>) -> Option<(PathBuf, bool)> {
    let want =
        if store.is_dir() { (store.to_path_buf(), true) } else { (store.ancestors().skip(1).find(|a| a.is_dir())?.to_path_buf(), false) };
    if current.as_ref() == Some(&want) {
        return current;
    }
    if let Some((old, _)) = &current {
        let _ = watcher.unwatch(old);
    }
    let mode = if want.1 { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
    match watcher.watch(&want.0, mode) {
        Ok(()) => Some(want),
        Err(e) => {
            crate::present::eprint_line(format_args!("buildlens: watching {}: {e}", want.0.display()));
            None
        }
    }
}

/// Turns the client's file events into paths.
pub fn event_paths(changes: &[tower_lsp_server::ls_types::FileEvent]) -> Vec<PathBuf> {
    changes.iter().filter_map(|c| c.uri.to_file_path().map(|p| p.into_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_bases() {
        let root = Path::new("/ws");
        assert_eq!(glob_base("ci/logs/*.txt", root), Some(PathBuf::from("/ws/ci/logs")));
        assert_eq!(glob_base("**/*.log", root), Some(PathBuf::from("/ws")));
        assert_eq!(glob_base("/var/log/ci/**", root), Some(PathBuf::from("/var/log/ci")));
        assert_eq!(glob_base("./build.txt", root), Some(PathBuf::from("/ws")));
    }

    #[test]
    fn store_watchers_follow_the_store_and_the_client() {
        let t = |store: &str| Target { store: store.into(), root: "/ws".into(), globs: vec!["ci/*.txt".into()] };
        let patterns = |r: Option<Registration>| serde_json::to_value(r.unwrap().register_options).unwrap()["watchers"].clone();
        let w = patterns(registration(&t("/ws/.buildlens"), true));
        assert_eq!(w[0]["globPattern"], "**/.buildlens/builds/**");
        assert_eq!(w[1]["globPattern"], "ci/*.txt");
        let w = patterns(registration(&t("/st"), true));
        assert_eq!(w[0]["globPattern"]["pattern"], "builds/**");
        assert_eq!(w[0]["globPattern"]["baseUri"], "file:///st");
        assert_eq!(patterns(registration(&t("/st"), false))[0]["globPattern"], "/st/builds/**");
    }
}

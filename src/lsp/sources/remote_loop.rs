//! A team's CI builds in the editor (`buildlens.remote`, issue 17): the newest records of each open
//! Dockerfile are pulled from the OCI registry at start, when a Dockerfile is first opened, and every
//! `buildlens.remoteIntervalSeconds`, on a blocking thread of their own (never on a request's path).
//! Records that arrive re-index the store and ask the client to refresh (the re-index worker does).
//!
//! Offline, the server shows what the store has. A failure is one `window/logMessage` line per episode
//! (never a popup, never a token: `RemoteError` words only the registry's answer); the next success
//! ends the episode. A new setting stops the old loop and starts one for the new target.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::MessageType;
use tower_lsp_server::Client;

use crate::lsp::documents::Kind;
use crate::lsp::sources::remote_pull::Wanted;
use crate::lsp::state::Shared;
use crate::remote::{self, PullOptions, Target};
use crate::store::Store;

/// Shortest interval between pulls (a setting below it is raised to it).
const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// Starts, restarts or stops the loop after the settings (or the store) may have changed.
pub fn apply(client: &Client, shared: &Arc<Shared>) {
    let wanted = {
        let st = shared.lock();
        let remote = st.settings.remote.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_string);
        remote.map(|remote| Wanted {
            remote,
            last: st.settings.remote_last.clamp(1, 1000),
            interval: Duration::from_secs(st.settings.remote_interval_seconds).max(MIN_INTERVAL),
            store: st.store().root().to_path_buf(),
        })
    };
    let spawn = |wanted: Wanted| {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        Some(runtime.spawn(run(client.clone(), shared.clone(), wanted)))
    };
    shared.live.remote.restart(wanted, spawn);
}

/// A Dockerfile was opened: pull for it now if it was never pulled for.
pub fn opened(shared: &Shared) {
    shared.live.remote.opened.notify_one();
}

async fn run(client: Client, shared: Arc<Shared>, wanted: Wanted) {
    let target = match Target::parse(&wanted.remote, false) {
        Ok(t) => t,
        Err(e) => {
            let line = format!("buildlens: the setting buildlens.remote ({}) is not REGISTRY/REPOSITORY: {e}", wanted.remote);
            return client.log_message(MessageType::WARNING, line).await;
        }
    };
    let mut failing = false;
    let mut due_all = true;
    loop {
        let names = shared.live.remote.due(open_dockerfiles(&shared, &wanted.store), due_all);
        let outcome = pull_each(&target, &wanted, names).await;
        note(&client, &shared, &target, outcome, &mut failing).await;
        due_all = tokio::select! {
            () = tokio::time::sleep(wanted.interval) => true,
            () = shared.live.remote.opened.notified() => false,
        };
    }
}

/// What one round of pulls gave: records fetched, refusals, the first failure.
#[derive(Default)]
struct Outcome {
    fetched: usize,
    refused: Vec<String>,
    failed: Option<String>,
}

async fn pull_each(target: &Target, wanted: &Wanted, names: Vec<String>) -> Outcome {
    let mut outcome = Outcome::default();
    for name in names {
        let (target, store, last) = (target.clone(), Store::at(&wanted.store), wanted.last);
        let what = PullOptions { dockerfile: Some(name), last };
        let pulled = tokio::task::spawn_blocking(move || remote::pull(&store, &target, &what, &remote::Options::from_env())).await;
        match pulled {
            Ok(Ok(report)) => {
                outcome.fetched += report.fetched.len();
                outcome.refused.extend(report.refused);
            }
            Ok(Err(e)) => {
                outcome.failed = Some(e.to_string());
                break;
            }
            Err(e) => {
                outcome.failed = Some(format!("the pull stopped: {e}"));
                break;
            }
        }
    }
    outcome
}

/// Logs what the user should know (a failure once per episode, each refused artifact) and re-indexes
/// when records arrived.
async fn note(client: &Client, shared: &Shared, target: &Target, outcome: Outcome, failing: &mut bool) {
    for why in outcome.refused {
        client.log_message(MessageType::WARNING, format!("buildlens: refused a record from {target}: {why}")).await;
    }
    match outcome.failed {
        Some(why) if !*failing => {
            *failing = true;
            let line =
                format!("buildlens: cannot pull records from {target}: {why} (showing what the store has; retrying in the background)");
            client.log_message(MessageType::WARNING, line).await;
        }
        Some(_) => {}
        None => *failing = false,
    }
    if outcome.fetched > 0 {
        shared.source().invalidate_all();
        shared.wake.notify_one();
    }
}

/// The open Dockerfiles, named as the registry names them (relative to the workspace root).
fn open_dockerfiles(shared: &Shared, store: &Path) -> Vec<String> {
    let uris = shared.lock().docs.uris();
    let store = Store::at(store);
    let mut names: Vec<String> = uris
        .into_iter()
        .filter(|(_, kind, _)| *kind == Kind::Dockerfile)
        .filter_map(|(uri, _, _)| uri.to_file_path().map(|p| remote::repo_relative(&store, &p)))
        .collect();
    names.sort();
    names.dedup();
    names
}

//! `buildlens record -- <command…>`.

use std::path::{Path, PathBuf};

use crate::record::{self, RecordRequest};
use crate::store::{index, Store};

pub fn run(store: Option<&Path>, dockerfile: Option<PathBuf>, command: Vec<String>, cwd: &Path) -> anyhow::Result<i32> {
    let store = Store::locate(store, cwd);
    let req = RecordRequest { command, dockerfile, cwd: cwd.to_path_buf() };
    let done = match record::run(&store, &req) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("buildlens: {e:#}");
            return Ok(127); // like a shell whose command was not found
        }
    };
    // Index now, so editors find the summary ready; a parse problem never changes the exit code.
    let summary = index::summary(&done.record, true).ok();
    let builds = summary.as_ref().map_or(0, |(s, _)| s.parsed.builds.len());
    eprintln!(
        "buildlens: recorded {} ({} build{} found) in {}",
        done.record.id,
        builds,
        if builds == 1 { "" } else { "s" },
        store.root().display()
    );
    Ok(done.exit_code)
}

//! `buildlens record -- <command…>`.

use std::path::{Path, PathBuf};

use crate::engine;
use crate::log::{Build, BuildResult};
use crate::record::{self, RecordRequest};
use crate::store::{index, Record, Store};

pub fn run(store: Option<&Path>, dockerfile: Option<PathBuf>, command: Vec<String>, cwd: &Path) -> anyhow::Result<i32> {
    let store = Store::locate(store, cwd);
    let req = RecordRequest { command, dockerfile, cwd: cwd.to_path_buf() };
    let done = match record::run(&store, &req) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("buildlens: {}", crate::present::visible(&format!("{e:#}")));
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
    if done.exit_code == 0 {
        if let Some((summary, _)) = &summary {
            snapshot_image(&done.record, &summary.parsed.builds);
        }
    }
    Ok(done.exit_code)
}

/// Stores the built image's history with the record (`image.json`), so sizes survive `docker rmi` and a
/// daemon outage. Any failure is one line on stderr: the build's exit code stays the command's.
fn snapshot_image(record: &Record, builds: &[Build]) {
    let Ok(meta) = record.meta() else { return };
    if meta.tool == "podman-build" {
        return; // podman's images are not in the Docker engine
    }
    let Some(image) = builds.iter().rev().find(|b| b.result == BuildResult::Success).and_then(|b| engine::image_of(b, &meta.tags)) else {
        return;
    };
    match engine::history_blocking(&engine::Config::default(), &image) {
        Ok(history) => {
            if let Err(e) = record.write_image(&history) {
                crate::present::eprint_line(format_args!("buildlens: could not store the image history: {e:#}"));
            }
        }
        Err(e) => crate::present::eprint_line(format_args!("buildlens: no layer sizes for {image}: {e}")),
    }
}

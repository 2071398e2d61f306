//! Which builds of a record belong to a Dockerfile: the one decision the server's index and the CLI's read
//! of the newest records both make. A record that names the Dockerfile gives all its builds; a compose
//! record that lists its services gives their steps (a build printed without service names: the one its
//! text matches best among the services' Dockerfiles); a record that names none leaves it to the compose
//! file, else to the text: a build belongs to the workspace Dockerfile its steps match best (ties: to each
//! tied one), never to every file of the same name.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::dockerfile::Dockerfile;
use crate::log::{Build, BuildResult};
use crate::mapping;
use crate::store::compose::{self, Belongs, ComposeInfo};
use crate::store::{safe_fs, select, RecordMeta, Store};

/// What a record's metadata says about one Dockerfile (the target).
#[derive(Debug, Clone)]
pub enum Named {
    /// The record names the target: all its builds count.
    Whole,
    /// A compose record listing its services, some of which built the target.
    Services(Arc<Listed>),
    /// The record names no Dockerfile: each build's compose services or text decide.
    Unnamed,
}

/// The services of a compose record that built the target, and every Dockerfile its services built (the
/// target first), parsed when a build without service names needs them.
#[derive(Debug)]
pub struct Listed {
    pub mine: Vec<String>,
    dockerfiles: Vec<PathBuf>,
    parsed: OnceLock<Vec<(String, Dockerfile)>>,
}

impl Named {
    /// What `meta` says about `target` (canonical); `None` when the record built other Dockerfiles only.
    /// Paths in `meta.json` are resolved against the store's workspace (`store::select::resolve`).
    pub fn of(store: &Store, meta: &RecordMeta, target: &Path) -> Option<Named> {
        let resolve = |p: &Path| canonical(&select::resolve(store, p));
        if !meta.services.is_empty() {
            let mine: Vec<String> = meta.services.iter().filter(|s| resolve(&s.dockerfile) == target).map(|s| s.service.clone()).collect();
            if mine.is_empty() {
                return None;
            }
            let mut dockerfiles = vec![target.to_path_buf()];
            for s in &meta.services {
                let path = resolve(&s.dockerfile);
                if !dockerfiles.contains(&path) {
                    dockerfiles.push(path);
                }
            }
            return Some(Named::Services(Arc::new(Listed { mine, dockerfiles, parsed: OnceLock::new() })));
        }
        match meta.dockerfile.as_deref().map(resolve) {
            Some(d) if d != target => None,
            Some(_) => Some(Named::Whole),
            None => Some(Named::Unnamed),
        }
    }
}

/// Whether `build`, of a record `named` describes, belongs to the target, and which of its services.
/// `compose`: the compose file of the target; `by_text`: the workspace's text match
/// (`store::select::by_text` with the target's buffer first).
pub fn belongs(named: &Named, build: &Build, compose: Option<&ComposeInfo>, by_text: &dyn Fn(&Build) -> Belongs) -> Belongs {
    match named {
        Named::Whole => Belongs::Whole,
        Named::Services(listed) if mapping::services(&build.steps).is_empty() => listed.by_text(build),
        Named::Services(listed) => Belongs::Services(listed.mine.clone()),
        Named::Unnamed => compose::belongs(build, compose, by_text),
    }
}

impl Listed {
    /// One build per service (docker-compose 1.x with BuildKit: no service in the step names): the target's
    /// when its text matches the target best among the Dockerfiles the record's services built.
    fn by_text(&self, build: &Build) -> Belongs {
        let parsed = self.parsed.get_or_init(|| {
            let name = |p: &Path| p.to_string_lossy().into_owned();
            let read = |p: &Path| safe_fs::read_text(p, safe_fs::DOCKERFILE_CAP).unwrap_or_default();
            self.dockerfiles.iter().map(|p| (name(p), crate::dockerfile::parse(&read(p)))).collect()
        });
        let refs: Vec<(&str, &Dockerfile)> = parsed.iter().map(|(n, d)| (n.as_str(), d)).collect();
        if mapping::best_match(&refs, build).is_some_and(|(i, _)| i == 0) {
            Belongs::Whole
        } else {
            Belongs::No
        }
    }
}

/// Whether a build of a record is still running: its recorder is still writing the record
/// (`RecordMeta::is_live`) and the log has not shown this build end. A record can hold several builds
/// (a script's `docker build`s one after the other, compose v1's one per service, `docker build &`s
/// interleaved in one log): any the log has not seen end may still run, whichever its place, and one it
/// saw end (exported, failed, canceled) does not, however alive the recorder. The server's index and
/// the CLI's read of the newest records both ask this.
pub fn still_running(record_live: bool, build: &Build) -> bool {
    record_live && build.result == BuildResult::Running
}

/// `path` resolved (symlinks, `..`) where it exists.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(log: &str, ended: bool) -> Build {
        let mut parser = crate::log::LogParser::new();
        parser.feed(log.as_bytes());
        // A live record's log is read as it stands (`store::index::summary`, not complete).
        let parsed = if ended { parser.finish() } else { parser.snapshot() };
        parsed.builds.into_iter().next().expect("a build")
    }

    #[test]
    fn a_build_is_running_while_its_record_is_live_and_its_log_has_not_shown_it_end() {
        let head =
            "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/alpine\n#2 DONE 0.1s\n\n";
        let exported = format!("{head}#3 [2/2] RUN make\n#3 DONE 2.0s\n\n#4 exporting to image\n#4 DONE 0.1s\n");
        let failed =
            format!("{head}#3 [2/2] RUN make\n#3 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2\n");
        let running = format!("{head}#3 [2/2] RUN make\n#3 0.120 cc -c main.c\n");
        assert!(still_running(true, &build(&running, false)), "unfinished in a live record");
        assert!(!still_running(true, &build(&exported, false)), "exported: ended, however alive the recorder");
        assert!(!still_running(true, &build(&failed, false)), "failed: ended");
        assert!(!still_running(false, &build(&running, false)), "a finished record runs nothing");
    }
}

//! Which compose services built a Dockerfile: the compose file beside it or in a parent folder up to the
//! workspace root (or the one given), read with `crate::compose`; and how a build relates to a
//! Dockerfile (`Belongs`), from the record's own services, the compose file, or the caller's text match.
//! A compose file that cannot be read gives a problem line, and the steps are matched per service.

use std::path::{Path, PathBuf};

use crate::compose::{self, FILE_NAMES};
use crate::log::Build;
use crate::mapping;

/// How a build relates to a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Belongs {
    No,
    /// Every step (a build of this Dockerfile only).
    Whole,
    /// Only the steps of these compose services (the others built other Dockerfiles).
    Services(Vec<String>),
}

/// What a compose file says about one Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeInfo {
    pub path: PathBuf,
    /// Services whose `build:` names this Dockerfile.
    pub building: Vec<String>,
    /// Every service with a `build:`.
    pub all: Vec<String>,
    pub problems: Vec<String>,
}

impl ComposeInfo {
    /// For a compose build: its services that built this Dockerfile, when the file knows any of the
    /// build's services (else `None`: this file says nothing about that build).
    pub fn scope(&self, build: &Build) -> Option<Belongs> {
        let mut services = mapping::services(&build.steps);
        // A service that failed before its first instruction (its base image's `load metadata` denied, a
        // parse error the final line names: `target web: failed to solve: …`) built this build too: its
        // error belongs to its own Dockerfile.
        let failed = build.steps.iter().filter(|s| s.status == crate::log::StepStatus::Error).map(|s| s.service.clone());
        for service in failed.chain([mapping::failed_service(build)]).flatten() {
            if !services.contains(&service) {
                services.push(service);
            }
        }
        if !services.iter().any(|s| self.all.contains(s)) {
            return None;
        }
        let mine: Vec<String> = services.into_iter().filter(|s| self.building.contains(s)).collect();
        Some(if mine.is_empty() { Belongs::No } else { Belongs::Services(mine) })
    }
}

/// How a build relates to `dockerfile`: the compose file decides for compose builds it knows; `fallback`
/// (a text match) decides the rest.
pub fn belongs(build: &Build, compose: Option<&ComposeInfo>, fallback: &dyn Fn(&Build) -> Belongs) -> Belongs {
    compose.and_then(|c| c.scope(build)).unwrap_or_else(|| fallback(build))
}

/// The compose file for `dockerfile`: `given`, else the nearest (beside it, then each parent up to
/// `root`) that has a service building it, else the nearest at all. `None` when there is none.
pub fn for_dockerfile(dockerfile: &Path, root: &Path, given: Option<&Path>) -> Option<ComposeInfo> {
    let target = canonical(dockerfile);
    if let Some(path) = given {
        return Some(read(path, &target));
    }
    let mut nearest: Option<ComposeInfo> = None;
    for path in candidates(&target, &canonical(root)) {
        let info = read(&path, &target);
        if !info.building.is_empty() {
            return Some(info);
        }
        nearest.get_or_insert(info);
    }
    nearest
}

/// Compose files in the Dockerfile's folder and its parents up to `root` (at most 16 levels).
fn candidates(dockerfile: &Path, root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dir = dockerfile.parent();
    for _ in 0..16 {
        let Some(d) = dir else { break };
        out.extend(FILE_NAMES.iter().map(|n| d.join(n)).filter(|p| p.is_file()));
        if d == root || !d.starts_with(root) {
            break;
        }
        dir = d.parent();
    }
    out
}

/// Reads a compose file for `target` (canonical). Never fails: an unreadable file is a problem line.
pub fn read(path: &Path, target: &Path) -> ComposeInfo {
    let mut info = ComposeInfo { path: path.to_path_buf(), ..ComposeInfo::default() };
    let text = match super::safe_fs::read_text(path, super::safe_fs::DOCKERFILE_CAP) {
        Ok(text) => text,
        Err(e) => {
            info.problems.push(format!("compose file {}: {e}; steps matched per service", path.display()));
            return info;
        }
    };
    let parsed = compose::parse(&text);
    let dir = path.parent().unwrap_or(Path::new("."));
    for service in &parsed.services {
        info.all.push(service.name.clone());
        if service.dockerfile_path(dir).is_some_and(|p| canonical(&p) == target) {
            info.building.push(service.name.clone());
        }
    }
    info.problems.extend(parsed.problems.iter().map(|p| format!("compose file {}: {p}", path.display())));
    info
}

/// Every service of the compose file at `path` with the Dockerfile it builds (absolute), for `record`.
pub fn service_dockerfiles(path: &Path) -> Vec<(String, PathBuf)> {
    let Ok(text) = super::safe_fs::read_text(path, super::safe_fs::DOCKERFILE_CAP) else { return Vec::new() };
    let dir = path.parent().unwrap_or(Path::new("."));
    let parsed = compose::parse(&text);
    parsed.services.iter().filter_map(|s| Some((s.name.clone(), s.dockerfile_path(dir)?))).collect()
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

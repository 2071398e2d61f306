//! A record's builds as one Dockerfile sees them (`select::belongs`): of a build of several services only
//! the steps of the services that built it. Which: the record's `services` (from `record -- docker
//! compose build`), else the compose file beside the Dockerfile or above it (`store::compose`); without
//! either, the text match (`store::select::by_text`: each build, each service, to the workspace
//! Dockerfile its steps match best), the workspace's Dockerfiles read only when a build needs it.

use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

use super::select::{self, Named};
use crate::analysis::RecordedBuild;
use crate::dockerfile::Dockerfile;
use crate::log::Build;
use crate::mapping;
use crate::store::compose::{self, Belongs, ComposeInfo};
use crate::store::Store;

/// The workspace's Dockerfiles (the open one first, with its buffer's text), read on first use.
pub struct Fallback<'a> {
    root: &'a Path,
    path: &'a Path,
    text: Option<&'a str>,
    candidates: OnceLock<Vec<(String, Dockerfile)>>,
}

impl<'a> Fallback<'a> {
    /// `text`: the buffer of the Dockerfile at `path` (`None`: read it from disk).
    pub fn new(root: &'a Path, path: &'a Path, text: Option<&'a str>) -> Fallback<'a> {
        Fallback { root, path, text, candidates: OnceLock::new() }
    }

    /// The text match: `build` belongs to this Dockerfile when its steps match it best (a compose build's
    /// services each on their own).
    pub fn belongs(&self, build: &Build) -> Belongs {
        let candidates = self.candidates.get_or_init(|| {
            let read = || crate::store::safe_fs::read_text(self.path, crate::store::safe_fs::DOCKERFILE_CAP).ok();
            let text = self.text.map(str::to_string).or_else(read).unwrap_or_default();
            crate::store::select::candidates(self.root, self.path, &text)
        });
        let names: Vec<(&str, &Dockerfile)> = candidates.iter().map(|(n, d)| (n.as_str(), d)).collect();
        let decide = crate::store::select::by_text(&names);
        decide(build)
    }
}

/// The Dockerfile names a build loaded: one per service of a compose build (`[web internal] load build
/// definition from web.Dockerfile`), else the build's own (`None`: not printed).
pub fn loaded_names(build: &Build) -> Vec<Option<String>> {
    const LOAD: &str = "load build definition from ";
    let mut out: Vec<Option<String>> = vec![build.dockerfile.clone()];
    for step in build.steps.iter().filter(|s| s.k.is_none()) {
        if let Some(name) = step.name.find(LOAD).and_then(|at| step.name.get(at + LOAD.len()..)) {
            let name = Some(name.trim().to_string());
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The compose file for the Dockerfile at `path` (nothing when there is none).
pub fn compose_for(store: &Store, path: &Path) -> Option<ComposeInfo> {
    let root = store.root().parent().unwrap_or(store.root());
    compose::for_dockerfile(path, root, None)
}

/// The build as the target saw it (`select::belongs`): borrowed when all its steps count, a copy with only
/// its services' steps, or `None` when it did not build the target.
pub fn scoped<'a>(
    rb: &'a RecordedBuild,
    named: &Named,
    compose: Option<&ComposeInfo>,
    fallback: &Fallback<'_>,
) -> Option<Cow<'a, RecordedBuild>> {
    match select::belongs(named, &rb.build, compose, &|b| fallback.belongs(b)) {
        Belongs::No => None,
        Belongs::Whole => Some(Cow::Borrowed(rb)),
        Belongs::Services(s) => {
            let mut owned = rb.clone();
            mapping::keep_services(&mut owned.build, &s);
            Some(Cow::Owned(owned))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Step;

    #[test]
    fn every_service_names_the_dockerfile_it_loaded() {
        let mut build = Build::new(crate::log::Format::BuildkitPlain, 0);
        build.dockerfile = Some("Dockerfile".into());
        for name in [
            "[web internal] load build definition from Dockerfile",
            "[api internal] load build definition from api.Dockerfile",
            "[api 1/2] FROM a",
        ] {
            build.steps.push(Step::named(name));
        }
        assert_eq!(loaded_names(&build), [Some("Dockerfile".to_string()), Some("api.Dockerfile".to_string())]);
    }
}

//! Which recorded builds belong to a Dockerfile: the record's own `dockerfile` when it names one, else
//! the best text match among the workspace's Dockerfiles.
//!
//! Paths in `meta.json` may be relative (the bundled example ships its store): they are relative to the
//! workspace root, the folder that holds the store.

use std::path::{Path, PathBuf};

pub use super::compose::Belongs;
use super::{index, Record, RecordMeta, Store};
use crate::analysis::RecordedBuild;
use crate::dockerfile::Dockerfile;
use crate::mapping;

/// Every build of every record in `store` that belongs to `dockerfile`, oldest first; of a compose
/// build only the steps of the services that built it. Which: the record's own services or Dockerfile
/// when it names them, else the compose file (`compose`, else found beside the Dockerfile or above it),
/// else `belongs` (the caller's text match, per service for compose builds).
pub fn builds_for(
    store: &Store,
    dockerfile: &Path,
    compose: Option<&Path>,
    belongs: &dyn Fn(&crate::log::Build) -> Belongs,
) -> (Vec<RecordedBuild>, Vec<String>) {
    let (records, _) = store.catalog().newest_for(store, dockerfile, usize::MAX);
    read_builds(store, dockerfile, compose, belongs, records.into_iter().rev())
}

/// `builds_for` of the newest `limit` records that may hold builds of `dockerfile` (the store's catalog
/// says which without reading the others), and how many older records may hold some.
pub fn newest_builds_for(
    store: &Store,
    dockerfile: &Path,
    compose: Option<&Path>,
    belongs: &dyn Fn(&crate::log::Build) -> Belongs,
    limit: usize,
) -> (Vec<RecordedBuild>, Vec<String>, usize) {
    let (records, older) = store.catalog().newest_for(store, dockerfile, limit);
    let (builds, problems) = read_builds(store, dockerfile, compose, belongs, records.into_iter().rev());
    (builds, problems, older)
}

/// The builds of `records` (oldest first) that belong to `dockerfile`.
fn read_builds(
    store: &Store,
    dockerfile: &Path,
    compose: Option<&Path>,
    belongs: &dyn Fn(&crate::log::Build) -> Belongs,
    records: impl Iterator<Item = Record>,
) -> (Vec<RecordedBuild>, Vec<String>) {
    let target = canonical(dockerfile);
    let root = store.root().parent().unwrap_or(store.root());
    let compose = super::compose::for_dockerfile(dockerfile, root, compose);
    let mut problems: Vec<String> = compose.iter().flat_map(|c| c.problems.iter().cloned()).collect();
    let mut out = Vec::new();
    for record in records.filter(|r| r.meta_path().is_file()) {
        // Read, but never written: its summary is not cached (`safe_fs::write_atomic`).
        problems.extend(record.leaves_store());
        problems.extend(record.refused_files());
        let meta = match record.meta() {
            Ok(meta) => meta,
            Err(e) => {
                problems.push(format!("skipped record {}: {e:#}", record.id));
                continue;
            }
        };
        let Some(decide) = record_decides(store, &meta, &target) else { continue };
        let live = meta.is_live();
        // One build per service (docker-compose 1.x with BuildKit: no service in the step names): which
        // service's build it is, the text says, among the Dockerfiles the record's services built.
        // Read only when such a build comes (compose v2 names its services in every step).
        let services = std::cell::OnceCell::new();
        let by_services = |build: &crate::log::Build| {
            let services = services.get_or_init(|| service_dockerfiles(store, &meta, &target));
            let refs: Vec<(&str, &Dockerfile)> = services.iter().map(|(n, d)| (n.as_str(), d)).collect();
            if mapping::best_match(&refs, build).is_some_and(|(i, _)| i == 0) {
                Belongs::Whole
            } else {
                Belongs::No
            }
        };
        let by_record = |build: &crate::log::Build| match &decide {
            Some(Belongs::Services(_)) if mapping::services(&build.steps).is_empty() => by_services(build),
            Some(decided) => decided.clone(),
            None => super::compose::belongs(build, compose.as_ref(), belongs),
        };
        match index::summary(&record, !live) {
            Ok((summary, _)) => push_builds(&mut out, &record, &meta, summary.parsed.builds, &by_record, live),
            Err(e) => problems.push(format!("skipped record {}: {e:#}", record.id)),
        }
    }
    (out, problems)
}

/// What the record's metadata decides for `target`: `None` to skip the record, `Some(None)` to decide
/// per build, `Some(Some(b))` for all its builds.
fn record_decides(store: &Store, meta: &RecordMeta, target: &Path) -> Option<Option<Belongs>> {
    if !meta.services.is_empty() {
        let mine: Vec<String> =
            meta.services.iter().filter(|s| canonical(&resolve(store, &s.dockerfile)) == target).map(|s| s.service.clone()).collect();
        return (!mine.is_empty()).then_some(Some(Belongs::Services(mine)));
    }
    match meta.dockerfile.as_ref().map(|d| canonical(&resolve(store, d))) {
        Some(d) if d != target => None,
        Some(_) => Some(Some(Belongs::Whole)),
        None => Some(None),
    }
}

/// `target`, then every other Dockerfile the record's services built, parsed (`(file name, parsed)`).
fn service_dockerfiles(store: &Store, meta: &RecordMeta, target: &Path) -> Vec<(String, Dockerfile)> {
    let mut paths = vec![target.to_path_buf()];
    for s in &meta.services {
        let path = canonical(&resolve(store, &s.dockerfile));
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    let name = |p: &Path| p.to_string_lossy().into_owned();
    paths
        .iter()
        .map(|p| {
            let text = super::safe_fs::read_text(p, super::safe_fs::DOCKERFILE_CAP).unwrap_or_default();
            (name(p), crate::dockerfile::parse(&text))
        })
        .collect()
}

fn push_builds(
    out: &mut Vec<RecordedBuild>,
    record: &Record,
    meta: &RecordMeta,
    builds: Vec<crate::log::Build>,
    belongs: &dyn Fn(&crate::log::Build) -> Belongs,
    live: bool,
) {
    let count = builds.len();
    let built: Option<std::sync::Arc<str>> = record.built_dockerfile().map(Into::into);
    for (i, mut build) in builds.into_iter().enumerate() {
        match belongs(&build) {
            Belongs::No => continue,
            Belongs::Whole => {}
            Belongs::Services(services) => mapping::keep_services(&mut build, &services),
        }
        let id = if count > 1 { format!("{}#{}", record.id, i + 1) } else { record.id.clone() };
        let started = build.started.clone().or_else(|| Some(meta.started.clone()));
        let live = live && i + 1 == count;
        out.push(RecordedBuild { id, started, build, log_path: record.log_path(), live, built_dockerfile: built.clone() });
    }
}

/// The caller's text match: a build belongs to `candidates[0]` (`(file name, parsed)`, the Dockerfile
/// first, then the workspace's others) when it matches it best; a compose build's services each on
/// their own.
pub fn by_text<'a>(candidates: &'a [(&'a str, &'a Dockerfile)]) -> impl Fn(&crate::log::Build) -> Belongs + 'a {
    move |build| match mapping::services_matching_first(candidates, build) {
        Some(services) if services.is_empty() => Belongs::No,
        Some(services) => Belongs::Services(services),
        None if mapping::best_match(candidates, build).is_some_and(|(i, _)| i == 0) => Belongs::Whole,
        None => Belongs::No,
    }
}

/// `dockerfile` (with `text`) first, then the other Dockerfiles of the workspace at `root`, parsed: the
/// candidates of `by_text`.
pub fn candidates(root: &Path, dockerfile: &Path, text: &str) -> Vec<(String, Dockerfile)> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = vec![(name(dockerfile), crate::dockerfile::parse(text))];
    let me = std::fs::canonicalize(dockerfile).ok();
    for other in workspace_dockerfiles(root) {
        if std::fs::canonicalize(&other).ok() == me {
            continue;
        }
        if let Ok(t) = super::safe_fs::read_text(&other, super::safe_fs::DOCKERFILE_CAP) {
            out.push((name(&other), crate::dockerfile::parse(&t)));
        }
    }
    out
}

/// Makes the record's paths relative to the workspace root when they lie inside it, so a store keeps
/// working when the project moves (and can be shipped with it).
pub fn relativize(store: &Store, meta: &mut RecordMeta) {
    let root = store.root().parent().unwrap_or(store.root()).to_path_buf();
    let services = meta.services.iter_mut().map(|s| &mut s.dockerfile);
    for path in [&mut meta.dockerfile, &mut meta.context, &mut meta.cwd].into_iter().flatten().chain(services) {
        if let Ok(rel) = path.strip_prefix(&root) {
            *path = if rel.as_os_str().is_empty() { PathBuf::from(".") } else { rel.to_path_buf() };
        }
    }
}

/// A path from `meta.json`: absolute as is, relative to the workspace root (the store's parent).
pub fn resolve(store: &Store, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        store.root().parent().unwrap_or(store.root()).join(path)
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Dockerfiles of the workspace under `root` (`Dockerfile`, `*.Dockerfile`, `Dockerfile.*`,
/// `Containerfile`), a few levels deep, skipping the store, VCS and dependency folders.
pub fn workspace_dockerfiles(root: &Path) -> Vec<PathBuf> {
    const SKIP: &[&str] = &[".git", ".buildlens", "node_modules", "target", ".venv", "vendor"];
    let mut out = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() && depth < 4 && !SKIP.contains(&name.as_str()) => dirs.push((path, depth + 1)),
                Ok(t) if t.is_file() && is_dockerfile_name(&name) && out.len() < 500 => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// `Dockerfile`, `app.Dockerfile`, `Dockerfile.dev`, `Containerfile` (case-insensitive).
pub fn is_dockerfile_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "dockerfile" || lower == "containerfile" || lower.ends_with(".dockerfile") || lower.starts_with("dockerfile.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Source;

    #[test]
    fn paths_inside_the_workspace_are_stored_relative_and_resolved_back() {
        let store = Store::at("/ws/.buildlens");
        let mut meta = RecordMeta::new("id".into(), Source::Record, String::new());
        meta.dockerfile = Some(PathBuf::from("/ws/build/Dockerfile"));
        meta.context = Some(PathBuf::from("/ws"));
        meta.cwd = Some(PathBuf::from("/elsewhere"));
        relativize(&store, &mut meta);
        assert_eq!(meta.dockerfile.as_deref(), Some(Path::new("build/Dockerfile")));
        assert_eq!(meta.context.as_deref(), Some(Path::new(".")));
        assert_eq!(meta.cwd.as_deref(), Some(Path::new("/elsewhere")));
        assert_eq!(resolve(&store, Path::new("build/Dockerfile")), PathBuf::from("/ws/build/Dockerfile"));
    }

    #[test]
    fn dockerfile_names() {
        for yes in ["Dockerfile", "dockerfile", "app.Dockerfile", "Dockerfile.dev", "Containerfile"] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in ["Dockerfile-notes.md.bak2", "README.md", "docker-compose.yml"] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }
}

//! Which recorded builds belong to a Dockerfile: the record's own `dockerfile` when it names one, else
//! the best text match among the workspace's Dockerfiles.
//!
//! Paths in `meta.json` may be relative (the bundled example ships its store): they are relative to the
//! workspace root, the folder that holds the store.

use std::path::{Path, PathBuf};

use super::{index, Record, RecordMeta, Store};
use crate::analysis::RecordedBuild;

/// Every build of every record in `store` that belongs to `dockerfile`, oldest first. `belongs` decides
/// for records that name no Dockerfile (it gets the build; the caller scores the text match).
pub fn builds_for(store: &Store, dockerfile: &Path, belongs: &dyn Fn(&crate::log::Build) -> bool) -> (Vec<RecordedBuild>, Vec<String>) {
    let target = canonical(dockerfile);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for record in store.records() {
        let meta = match record.meta() {
            Ok(meta) => meta,
            Err(e) => {
                problems.push(format!("skipped record {}: {e:#}", record.id));
                continue;
            }
        };
        let named = meta.dockerfile.as_ref().map(|d| canonical(&resolve(store, d)));
        if named.as_ref().is_some_and(|d| *d != target) {
            continue;
        }
        let live = meta.is_live();
        match index::summary(&record, !live) {
            Ok((summary, _)) => push_builds(&mut out, &record, &meta, summary.parsed.builds, named.is_some(), belongs, live),
            Err(e) => problems.push(format!("skipped record {}: {e:#}", record.id)),
        }
    }
    (out, problems)
}

fn push_builds(
    out: &mut Vec<RecordedBuild>,
    record: &Record,
    meta: &RecordMeta,
    builds: Vec<crate::log::Build>,
    named: bool,
    belongs: &dyn Fn(&crate::log::Build) -> bool,
    live: bool,
) {
    let count = builds.len();
    let built: Option<std::sync::Arc<str>> = record.built_dockerfile().map(Into::into);
    for (i, build) in builds.into_iter().enumerate() {
        if !named && !belongs(&build) {
            continue;
        }
        let id = if count > 1 { format!("{}#{}", record.id, i + 1) } else { record.id.clone() };
        let started = build.started.clone().or_else(|| Some(meta.started.clone()));
        let live = live && i + 1 == count;
        out.push(RecordedBuild { id, started, build, log_path: record.log_path(), live, built_dockerfile: built.clone() });
    }
}

/// Makes the record's paths relative to the workspace root when they lie inside it, so a store keeps
/// working when the project moves (and can be shipped with it).
pub fn relativize(store: &Store, meta: &mut RecordMeta) {
    let root = store.root().parent().unwrap_or(store.root()).to_path_buf();
    for path in [&mut meta.dockerfile, &mut meta.context, &mut meta.cwd].into_iter().flatten() {
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

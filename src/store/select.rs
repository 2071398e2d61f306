//! The pieces of selecting a Dockerfile's builds that belong to the store: the text match among the
//! workspace's Dockerfiles (`by_text`, `candidates`), paths in `meta.json` (`resolve`, `relativize`). Which
//! builds belong to a Dockerfile is decided in `workspace::select`.
//!
//! Paths in `meta.json` may be relative (the bundled example ships its store): they are relative to the
//! workspace root, the folder that holds the store.

use std::path::{Path, PathBuf};

pub use super::compose::Belongs;
use super::{RecordMeta, Store};
use crate::dockerfile::Dockerfile;
use crate::mapping;

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

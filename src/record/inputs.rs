//! Takes what a later `explain` compares, before the build starts: the Dockerfile and `.dockerignore` as
//! they are, and a manifest of the build context (path, size, mtime; no contents, no hashing) that honours
//! `.dockerignore`. It runs on its own thread, bounded in files and time, so the build is never delayed;
//! the result goes to `inputs.json` when the build has ended.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::analysis::inputs::{self, FileEntry, Inputs, Manifest, INPUTS_SCHEMA};
use crate::glob::Glob;
use crate::store::Record;

/// Files listed at most; a larger context gives a truncated manifest.
pub const MAX_FILES: usize = 20_000;
/// Time the walk may take.
pub const MAX_WALK: Duration = Duration::from_secs(3);
/// Largest Dockerfile or `.dockerignore` kept.
pub const MAX_TEXT_BYTES: u64 = 1 << 20;

/// The snapshot being taken.
pub struct Taking(Option<JoinHandle<Inputs>>);

/// Starts taking the snapshot of `dockerfile` and the manifest of `context` (either may be unknown).
pub fn start(dockerfile: Option<PathBuf>, context: Option<PathBuf>) -> Taking {
    if dockerfile.is_none() && context.is_none() {
        return Taking(None);
    }
    let handle = std::thread::Builder::new().name("buildlens-inputs".into()).spawn(move || take(dockerfile.as_deref(), context.as_deref()));
    Taking(handle.ok())
}

impl Taking {
    /// Waits for the snapshot (it is bounded) and writes `inputs.json`; a failure is one line on stderr.
    pub fn finish(self, record: &Record) {
        let Some(handle) = self.0 else { return };
        if let Ok(inputs) = handle.join() {
            if let Err(e) = record.write_inputs(&inputs) {
                crate::present::eprint_line(format_args!("buildlens: could not store the build's inputs: {e:#}"));
            }
        }
    }
}

/// Reads the texts and walks the context.
pub fn take(dockerfile: Option<&Path>, context: Option<&Path>) -> Inputs {
    let dockerfile_text = dockerfile.filter(|d| d.as_os_str() != "-").and_then(read_small);
    let dockerignore = context.and_then(|c| read_small(&c.join(".dockerignore")));
    let patterns = inputs::ignore_patterns(dockerignore.as_deref().unwrap_or(""));
    let manifest = context.filter(|c| c.is_dir()).map(|c| walk(c, &patterns, MAX_FILES, MAX_WALK));
    Inputs { schema: INPUTS_SCHEMA, dockerfile: dockerfile_text, dockerignore, manifest }
}

fn read_small(path: &Path) -> Option<String> {
    crate::store::safe_fs::read_text(path, MAX_TEXT_BYTES).ok()
}

/// The context's files, not following symlinks, skipping what `.dockerignore` excludes (a folder it
/// excludes is not entered unless a `!` pattern could re-include something under it).
pub fn walk(root: &Path, patterns: &[(bool, Glob)], max_files: usize, max_time: Duration) -> Manifest {
    let started = Instant::now();
    let has_exceptions = patterns.iter().any(|(negated, _)| *negated);
    let mut files = Vec::new();
    let mut truncated = false;
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            if files.len() >= max_files || started.elapsed() > max_time {
                truncated = true;
                break;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            let skip = inputs::ignored(patterns, &path);
            if meta.is_dir() {
                if !skip || has_exceptions {
                    dirs.push((entry.path(), path));
                }
            } else if !skip {
                files.push(FileEntry { path, size: meta.len(), mtime_ns: mtime_ns(&meta) });
            }
        }
        if truncated {
            break;
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Manifest { files, truncated }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_honours_dockerignore_and_its_caps() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (p, text) in [
            ("Dockerfile", "FROM a\n"),
            (".dockerignore", ".buildlens\n*.log\n!keep.log\n"),
            ("src/a.rs", "x"),
            ("b.log", "l"),
            ("keep.log", "k"),
        ] {
            std::fs::create_dir_all(root.join(p).parent().unwrap()).unwrap();
            std::fs::write(root.join(p), text).unwrap();
        }
        std::fs::create_dir_all(root.join(".buildlens/builds/x")).unwrap();
        std::fs::write(root.join(".buildlens/builds/x/build.log"), "log").unwrap();
        let inputs = take(Some(&root.join("Dockerfile")), Some(root));
        assert_eq!(inputs.dockerfile.as_deref(), Some("FROM a\n"));
        let m = inputs.manifest.unwrap();
        let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec![".dockerignore", "Dockerfile", "keep.log", "src/a.rs"]);
        assert!(!m.truncated);
        assert_eq!(m.files[3].size, 1);
        let capped = walk(root, &[], 2, MAX_WALK);
        assert!(capped.truncated && capped.files.len() == 2);
        assert_eq!(take(Some(Path::new("-")), None).dockerfile, None);
    }
}

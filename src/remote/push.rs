//! `push`: each record becomes one artifact under its own tag (`artifact::tag`). A tag already there is
//! the same record (its hash is in the tag): nothing is sent. Otherwise the blobs the registry lacks are
//! uploaded, then the manifest under the tag, last: a push that dies halfway leaves blobs no tag names,
//! never a listed half record.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::artifact::{self, Annotations, Descriptor, Manifest};
use super::client::{Connection, RemoteError};
use super::{Options, Target};
use crate::store::{safe_fs, Record, RecordMeta, Store};

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Pushed { id: String, tag: String, bytes: u64 },
    AlreadyThere { id: String, tag: String },
    Skipped { id: String, why: String },
}

/// Pushes `records` of `store` to `target` (blocking; its own one-thread runtime).
pub fn push(store: &Store, records: &[Record], target: &Target, options: &Options) -> Result<Vec<PushOutcome>, RemoteError> {
    super::runtime()?.block_on(push_async(store, records, target, options))
}

/// `push` on the caller's runtime.
pub async fn push_async(store: &Store, records: &[Record], target: &Target, options: &Options) -> Result<Vec<PushOutcome>, RemoteError> {
    let connection = Connection::open(target, options, true).await?;
    let git = GitInfo::from_env_or(&crate::store::workspace_root(store.root().parent().unwrap_or(store.root())));
    let mut outcomes = Vec::with_capacity(records.len());
    for record in records {
        let prepared = match Prepared::of(store, record, &git) {
            Ok(prepared) => prepared,
            Err(why) => {
                outcomes.push(PushOutcome::Skipped { id: record.id.clone(), why });
                continue;
            }
        };
        outcomes.push(prepared.send(&connection).await?);
    }
    Ok(outcomes)
}

/// A record read and packed, ready to send.
struct Prepared {
    id: String,
    tag: String,
    blobs: Vec<(Vec<u8>, Descriptor)>,
    manifest: Vec<u8>,
}

impl Prepared {
    fn of(store: &Store, record: &Record, git: &GitInfo) -> Result<Prepared, String> {
        let meta_bytes = safe_fs::read_capped(&record.meta_path(), safe_fs::META_CAP).map_err(|e| e.to_string())?;
        let meta: RecordMeta = serde_json::from_slice(&meta_bytes).map_err(|e| format!("meta.json is not a record's: {e}"))?;
        if meta.is_live() {
            return Err("still being recorded: push it when the build ended".to_string());
        }
        if meta.origin.is_some() {
            return Err("pulled from a registry: only local records are pushed".to_string());
        }
        let started = chrono::DateTime::parse_from_rfc3339(&meta.started).map_err(|_| "meta.json has no valid start time".to_string())?;
        let (log_gz, log_sha) = compress_log(&record.log_path())?;
        let mut blobs = vec![(log_gz, artifact::LOG)];
        blobs.push((meta_bytes.clone(), artifact::FILES[1]));
        for kind in artifact::FILES.iter().skip(2) {
            match safe_fs::read_capped(&record.dir.join(kind.name), kind.cap) {
                Ok(bytes) => blobs.push((bytes, *kind)),
                Err(e) if e.is_not_found() => {}
                Err(e) => crate::present::eprint_line(format_args!("buildlens: record {}: {e}: not pushed", record.id)),
            }
        }
        let dockerfile = repo_relative(store, meta.dockerfile.as_deref());
        let hash = artifact::record_hash(&log_sha, &meta_bytes);
        let key = artifact::dockerfile_key(dockerfile.as_deref());
        let annotations = Annotations {
            dockerfile,
            commit: git.commit.clone(),
            branch: git.branch.clone(),
            started: meta.started.clone(),
            result: result_of(&meta).to_string(),
            record_id: record.id.clone(),
            ci: git.ci,
        };
        let blobs: Vec<(Vec<u8>, Descriptor)> = blobs
            .into_iter()
            .map(|(bytes, kind)| {
                let mut d = Descriptor::of(kind.media_type, &bytes);
                d.annotations.insert(artifact::TITLE.to_string(), kind.name.to_string());
                (bytes, d)
            })
            .collect();
        let manifest = Manifest::new(blobs.iter().map(|(_, d)| d.clone()).collect(), annotations.to_map());
        let manifest = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
        Ok(Prepared { id: record.id.clone(), tag: artifact::tag(&key, started.timestamp_millis(), &hash), blobs, manifest })
    }

    async fn send(self, connection: &Connection) -> Result<PushOutcome, RemoteError> {
        if connection.tag_exists(&self.tag).await? {
            return Ok(PushOutcome::AlreadyThere { id: self.id, tag: self.tag });
        }
        let config = Descriptor::of(artifact::EMPTY_MEDIA_TYPE, artifact::EMPTY_CONFIG);
        let mut bytes = 0;
        let blobs = self.blobs.into_iter().chain(std::iter::once((artifact::EMPTY_CONFIG.to_vec(), config)));
        for (data, descriptor) in blobs {
            if !connection.blob_exists(&descriptor.digest).await? {
                bytes += data.len() as u64;
                connection.push_blob(data, &descriptor.digest).await?;
            }
        }
        connection.push_manifest(&self.tag, self.manifest).await?;
        Ok(PushOutcome::Pushed { id: self.id, tag: self.tag, bytes })
    }
}

/// The log gzip-compressed, and the sha256 (hex) of its raw bytes.
fn compress_log(path: &Path) -> Result<(Vec<u8>, String), String> {
    let mut file = safe_fs::open_regular(path).map_err(|e| e.to_string())?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = file.read(&mut buf).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else { break };
        hasher.update(chunk);
        encoder.write_all(chunk).map_err(|e| e.to_string())?;
    }
    let gz = encoder.finish().map_err(|e| e.to_string())?;
    Ok((gz, artifact::hex(&hasher.finalize())))
}

/// `success`, `failure`, `unknown`.
fn result_of(meta: &RecordMeta) -> &'static str {
    match meta.exit_code {
        Some(0) => "success",
        Some(_) => "failure",
        None if meta.signal.is_some() => "failure",
        None => "unknown",
    }
}

/// The Dockerfile relative to the workspace (repository) root, `/`-separated; none when it lies outside.
fn repo_relative(store: &Store, dockerfile: Option<&Path>) -> Option<String> {
    let path = dockerfile?;
    let root = store.root().parent().unwrap_or(store.root());
    let relative = if path.is_absolute() { path.strip_prefix(root).ok()? } else { path };
    let text = relative.to_str()?.trim_start_matches("./").replace('\\', "/");
    artifact::check_relative_path(&text).is_ok().then_some(text)
}

/// Where the build came from: CI variables (GitHub Actions, GitLab CI, `BUILDLENS_GIT_*`), else the
/// workspace's `.git/HEAD` (read as a file: no program runs).
#[derive(Debug, Clone, Default)]
pub struct GitInfo {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub ci: bool,
}

impl GitInfo {
    pub fn from_env_or(root: &Path) -> GitInfo {
        let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        let ci = var(&["CI", "GITHUB_ACTIONS", "GITLAB_CI"]).is_some_and(|v| v != "false" && v != "0");
        let commit = var(&["BUILDLENS_GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"]);
        let branch = var(&["BUILDLENS_GIT_BRANCH", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME"]);
        let (head_commit, head_branch) = if commit.is_none() || branch.is_none() { git_head(root) } else { (None, None) };
        GitInfo { commit: commit.or(head_commit), branch: branch.or(head_branch), ci }
    }
}

/// The commit and branch `.git/HEAD` names (a loose ref, else `packed-refs`).
fn git_head(root: &Path) -> (Option<String>, Option<String>) {
    let git = root.join(".git");
    let read = |p: &Path| safe_fs::read_text(p, 1 << 20).ok();
    let Some(head) = read(&git.join("HEAD")) else { return (None, None) };
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return (is_hex(head).then(|| head.to_string()), None);
    };
    let branch = reference.strip_prefix("refs/heads/").map(str::to_string);
    let loose = artifact::check_relative_path(reference).ok().and_then(|()| read(&git.join(reference)));
    let commit = loose.map(|c| c.trim().to_string()).or_else(|| {
        let packed = read(&git.join("packed-refs"))?;
        packed.lines().find_map(|l| l.strip_suffix(reference)?.strip_suffix(' ').map(str::to_string))
    });
    (commit.filter(|c| is_hex(c)), branch)
}

fn is_hex(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_head_reads_loose_and_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(git.join("packed-refs"), "# pack-refs\n0123456789abcdef0123456789abcdef01234567 refs/heads/main\n").unwrap();
        assert_eq!(git_head(dir.path()), (Some("0123456789abcdef0123456789abcdef01234567".into()), Some("main".into())));
        std::fs::write(git.join("refs/heads/main"), "89abcdef0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(git_head(dir.path()).0.as_deref(), Some("89abcdef0123456789abcdef0123456789abcdef"));
        std::fs::write(git.join("HEAD"), "ref: ../../../etc/passwd\n").unwrap();
        assert_eq!(git_head(dir.path()).0, None, "a ref that climbs out is not read");
    }

    #[test]
    fn dockerfile_paths_become_repository_relative() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join(".buildlens"));
        assert_eq!(repo_relative(&store, Some(&dir.path().join("app/Dockerfile"))).as_deref(), Some("app/Dockerfile"));
        assert_eq!(repo_relative(&store, Some(Path::new("./Dockerfile"))).as_deref(), Some("Dockerfile"));
        assert_eq!(repo_relative(&store, Some(Path::new("/elsewhere/Dockerfile"))), None);
        assert_eq!(repo_relative(&store, Some(Path::new("../Dockerfile"))), None);
    }
}

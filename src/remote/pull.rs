//! `pull`: the newest tags of a Dockerfile (one `tags/list?n=N&last=<key>` request: tags sort newest
//! first within a key), then each record the store lacks: its manifest checked (`artifact::check`) before
//! any blob, each blob written under its claimed size and digest, the log decompressed under a cap, the
//! record's hash checked against its tag, meta.json rewritten from the checked facts, and the whole
//! record renamed into `remote/` last (`store::remote::begin`).

use std::collections::BTreeMap;
use std::io::Write;

use super::artifact::{self, Checked, TagInfo};
use super::client::{Connection, RemoteError};
use super::sink::{Capped, Sink};
use super::{Options, Target};
use crate::store::{remote, safe_fs, Origin, RecordMeta, Store};

/// Tags asked per page when listing every Dockerfile's.
const PAGE: usize = 1000;
/// Pages read at most (a million tags).
const MAX_PAGES: usize = 1000;

/// What to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Only this Dockerfile's records (repository-relative, `/`-separated); none: every Dockerfile's.
    pub dockerfile: Option<String>,
    /// The newest N records (of the Dockerfile, or of each Dockerfile).
    pub last: usize,
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Records the registry listed (within `last`).
    pub listed: usize,
    /// Ids of the records written into the store.
    pub fetched: Vec<String>,
    /// Records the store had already.
    pub already: usize,
    /// One line per artifact refused (`<tag>: why`).
    pub refused: Vec<String>,
    /// Registry requests made (listing, manifests, blobs; not the auth handshake).
    pub requests: usize,
}

/// Pulls into `store` (blocking; its own one-thread runtime).
pub fn pull(store: &Store, target: &Target, what: &PullOptions, options: &Options) -> Result<PullReport, RemoteError> {
    super::runtime()?.block_on(pull_async(store, target, what, options))
}

/// `pull` on the caller's runtime.
pub async fn pull_async(store: &Store, target: &Target, what: &PullOptions, options: &Options) -> Result<PullReport, RemoteError> {
    let connection = Connection::open(target, options, false).await?;
    let tags = newest_tags(&connection, what.dockerfile.as_deref(), what.last).await?;
    let mut report = PullReport { listed: tags.len(), ..PullReport::default() };
    let key = target.key();
    for (tag, info) in tags {
        let Some(id) = remote::remote_id(info.started_ms, &info.record_hash, &key) else { continue };
        let Some(pending) = remote::begin(store, &id).map_err(RemoteError::Local)? else {
            report.already += 1;
            continue;
        };
        match fetch(&connection, &tag, &info, &id, pending.dir()).await? {
            Ok(()) if pending.commit().map_err(RemoteError::Local)? => report.fetched.push(id),
            Ok(()) => report.already += 1,
            Err(why) => report.refused.push(format!("{tag}: {why}")),
        }
    }
    report.requests = connection.requests();
    Ok(report)
}

/// The newest `last` record tags of the Dockerfile (or of each), newest first.
pub async fn newest_tags(connection: &Connection, dockerfile: Option<&str>, last: usize) -> Result<Vec<(String, TagInfo)>, RemoteError> {
    let want_key = dockerfile.map(|d| artifact::dockerfile_key(Some(d)));
    let page = want_key.as_ref().map_or(PAGE, |_| last.clamp(1, PAGE));
    let mut cursor = want_key.clone();
    let mut per_key: BTreeMap<String, Vec<(String, TagInfo)>> = BTreeMap::new();
    for _ in 0..MAX_PAGES {
        let tags = connection.list_tags(Some(page), cursor.as_deref()).await?;
        let mut past_key = false;
        for tag in &tags {
            let Some(info) = artifact::parse_tag(tag) else { continue };
            match &want_key {
                Some(key) if info.dockerfile_key != *key => past_key |= info.dockerfile_key > *key,
                _ => per_key.entry(info.dockerfile_key.clone()).or_default().push((tag.clone(), info)),
            }
        }
        let enough = want_key.as_ref().is_some_and(|k| per_key.get(k).is_some_and(|v| v.len() >= last));
        let next = tags.iter().max().cloned();
        // Done: a short page, enough of the Dockerfile's, beyond its key, or a registry that does not page.
        if tags.len() < page || enough || past_key || next.is_none() || next <= cursor {
            break;
        }
        cursor = next;
    }
    let mut out = Vec::new();
    for (_, mut tags) in per_key {
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        tags.dedup_by(|a, b| a.0 == b.0);
        tags.truncate(last);
        out.extend(tags);
    }
    Ok(out)
}

/// Downloads one record into `dir`; `Ok(Err(why))`: the artifact was refused.
async fn fetch(
    connection: &Connection,
    tag: &str,
    info: &TagInfo,
    id: &str,
    dir: &std::path::Path,
) -> Result<Result<(), String>, RemoteError> {
    let manifest = connection.pull_manifest(tag).await?;
    let checked = match artifact::check(&manifest) {
        Ok(checked) => checked,
        Err(why) => return Ok(Err(why)),
    };
    let mut log_sha = String::new();
    let mut meta_bytes = Vec::new();
    for (kind, descriptor) in &checked.files {
        let written = if kind.name == artifact::LOG.name {
            download_log(connection, descriptor, dir).await?.map(|sha| log_sha = sha)
        } else {
            download_json(connection, descriptor, kind.name, dir, &mut meta_bytes).await?
        };
        if let Err(why) = written {
            return Ok(Err(format!("{}: {why}", kind.name)));
        }
    }
    if artifact::record_hash(&log_sha, &meta_bytes).get(..12) != Some(info.record_hash.as_str()) {
        return Ok(Err("its log and meta.json do not match the hash in its tag".to_string()));
    }
    Ok(write_meta(&meta_bytes, &checked, connection, tag, id, dir))
}

/// The log blob, decompressed into `build.log` under `LOG_CAP`; the sha256 of the log.
async fn download_log(
    connection: &Connection,
    d: &artifact::Descriptor,
    dir: &std::path::Path,
) -> Result<Result<String, String>, RemoteError> {
    let file = match safe_fs::create_new(&dir.join(crate::store::LOG_FILE)) {
        Ok(file) => std::io::BufWriter::with_capacity(256 << 10, file),
        Err(e) => return Err(RemoteError::Local(format!("writing into {}: {e}", dir.display()))),
    };
    let mut sink = Sink::new(flate2::write::GzDecoder::new(Capped::new(file, artifact::LOG_CAP)), d.size);
    if let Err(e) = connection.pull_blob(d, &mut sink).await {
        return refused_or(e);
    }
    let finished = sink.finish().and_then(|gz| gz.finish().map_err(|e| format!("not gzip: {e}")));
    Ok(finished.and_then(|capped| {
        let (mut file, sha) = capped.finish();
        file.flush().map_err(|e| e.to_string())?;
        Ok(sha)
    }))
}

/// A JSON file (under its cap, which `check` held the size to); meta.json is kept for `write_meta`.
async fn download_json(
    connection: &Connection,
    d: &artifact::Descriptor,
    name: &str,
    dir: &std::path::Path,
    meta: &mut Vec<u8>,
) -> Result<Result<(), String>, RemoteError> {
    let mut sink = Sink::new(Vec::with_capacity(usize::try_from(d.size.min(1 << 20)).unwrap_or(0)), d.size);
    if let Err(e) = connection.pull_blob(d, &mut sink).await {
        return refused_or::<()>(e);
    }
    let bytes = match sink.finish() {
        Ok(bytes) => bytes,
        Err(why) => return Ok(Err(why)),
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
        return Ok(Err("not JSON".to_string()));
    }
    if name == crate::store::META_FILE {
        *meta = bytes;
        return Ok(Ok(()));
    }
    Ok(write_new(&dir.join(name), &bytes))
}

/// meta.json as the store keeps a pulled record's: the record's own, checked by type, with the id, the
/// Dockerfile and the origin from the checked annotations, and nothing that names a place on the pusher's
/// machine (cwd, context, imported file).
fn write_meta(bytes: &[u8], checked: &Checked, connection: &Connection, tag: &str, id: &str, dir: &std::path::Path) -> Result<(), String> {
    let mut meta: RecordMeta = serde_json::from_slice(bytes).map_err(|e| format!("meta.json is not a record's: {e}"))?;
    let a = &checked.annotations;
    meta.id = id.to_string();
    meta.dockerfile = a.dockerfile.as_ref().map(Into::into);
    meta.services.retain(|s| s.dockerfile.to_str().is_some_and(|p| artifact::check_relative_path(p).is_ok()));
    meta.cwd = None;
    meta.context = None;
    meta.imported_from = None;
    meta.recorder_pid = None;
    meta.origin = Some(Origin {
        remote: connection.target.to_string(),
        tag: tag.to_string(),
        branch: a.branch.clone(),
        commit: a.commit.clone(),
        ci: a.ci,
        record_id: a.record_id.clone(),
        pulled: chrono::Utc::now().to_rfc3339(),
    });
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| e.to_string())?;
    write_new(&dir.join(crate::store::META_FILE), &json)
}

fn write_new(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    let mut file = safe_fs::create_new(path).map_err(|e| format!("writing {}: {e}", path.display()))?;
    file.write_all(bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// A blob the registry sent wrong (size, digest) refuses the artifact; a failing registry fails the pull.
fn refused_or<T>(e: RemoteError) -> Result<Result<T, String>, RemoteError> {
    match e {
        RemoteError::Refused(why) => Ok(Err(why)),
        other => Err(other),
    }
}

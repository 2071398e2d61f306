//! A record as an OCI artifact (pure): the manifest `push` writes, the tag it goes under, and the checks
//! of a manifest `pull` reads before downloading anything.
//!
//! One image manifest per record: `artifactType` `application/vnd.buildlens.record.v1+json`, the empty
//! config, one layer per record file (`build.log` gzip-compressed, the JSON files as they are), each
//! titled with its file name; annotations carry the Dockerfile (repository-relative), git commit and
//! branch, start time, result and the record's id.
//!
//! Tags list records without downloading them: `<dockerfile key>.<inverted start ms>.<record hash>`,
//! 12 hex, 14 digits, 12 hex. The registry lists tags in lexical order, so one
//! `tags/list?n=N&last=<key>` answers a Dockerfile's N newest records; every record has its own tag, so
//! concurrent pushers never overwrite each other, and the same record (same log and meta.json) always
//! gets the same tag: pushing it again is a no-op.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ARTIFACT_TYPE: &str = "application/vnd.buildlens.record.v1+json";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_CONFIG: &[u8] = b"{}";
/// The layer annotation naming its file.
pub const TITLE: &str = "org.opencontainers.image.title";

pub const ANN_CREATED: &str = "org.opencontainers.image.created";
pub const ANN_DOCKERFILE: &str = "dev.buildlens.dockerfile";
pub const ANN_COMMIT: &str = "dev.buildlens.git.commit";
pub const ANN_BRANCH: &str = "dev.buildlens.git.branch";
pub const ANN_RESULT: &str = "dev.buildlens.result";
pub const ANN_RECORD_ID: &str = "dev.buildlens.record.id";
pub const ANN_CI: &str = "dev.buildlens.ci";

/// The largest manifest read (a record's has six descriptors).
pub const MANIFEST_CAP: usize = 64 << 10;
/// The largest compressed `build.log` blob pulled.
pub const LOG_BLOB_CAP: u64 = 1 << 30;
/// The largest `build.log` written from one (decompressed).
pub const LOG_CAP: u64 = 4 << 30;

/// One file of a record as a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    pub name: &'static str,
    pub media_type: &'static str,
    /// The largest blob accepted.
    pub cap: u64,
    pub required: bool,
}

pub const LOG: FileKind =
    FileKind { name: crate::store::LOG_FILE, media_type: "application/vnd.buildlens.build-log.v1+gzip", cap: LOG_BLOB_CAP, required: true };
pub const FILES: [FileKind; 5] = [
    LOG,
    json_kind(crate::store::META_FILE, "meta", crate::store::safe_fs::META_CAP, true),
    json_kind(crate::store::SUMMARY_FILE, "summary", crate::store::safe_fs::SUMMARY_CAP, false),
    json_kind(crate::store::IMAGE_FILE, "image", crate::store::safe_fs::IMAGE_CAP, false),
    json_kind(crate::store::INPUTS_FILE, "inputs", crate::store::safe_fs::INPUTS_CAP, false),
];

const fn json_kind(name: &'static str, what: &'static str, cap: u64, required: bool) -> FileKind {
    let media_type = match what.as_bytes() {
        b"meta" => "application/vnd.buildlens.meta.v1+json",
        b"summary" => "application/vnd.buildlens.summary.v1+json",
        b"image" => "application/vnd.buildlens.image.v1+json",
        _ => "application/vnd.buildlens.inputs.v1+json",
    };
    FileKind { name, media_type, cap, required }
}

/// The kind of a file name, if it is one of a record's.
pub fn kind_of(name: &str) -> Option<FileKind> {
    FILES.into_iter().find(|k| k.name == name)
}

/// An OCI descriptor (only the fields buildlens writes and reads; wrong types fail the parse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: format!("sha256:{}", sha256_hex(bytes)),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
        }
    }

    pub fn title(&self) -> Option<&str> {
        self.annotations.get(TITLE).map(String::as_str)
    }
}

/// An OCI image manifest with an `artifactType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// The manifest of a record: `layers` already titled, `annotations` as `Annotations::to_map`.
    pub fn new(layers: Vec<Descriptor>, annotations: BTreeMap<String, String>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: MANIFEST_MEDIA_TYPE.to_string(),
            artifact_type: Some(ARTIFACT_TYPE.to_string()),
            config: Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_CONFIG),
            layers,
            annotations,
        }
    }
}

/// What the annotations say about a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// The Dockerfile, relative to the repository root.
    pub dockerfile: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// RFC 3339.
    pub started: String,
    /// `success`, `failure`, `unknown`.
    pub result: String,
    pub record_id: String,
    /// Pushed from a CI job.
    pub ci: bool,
}

impl Annotations {
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let mut put = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                map.insert(k.to_string(), v.clone());
            }
        };
        put(ANN_CREATED, Some(&self.started));
        put(ANN_DOCKERFILE, self.dockerfile.as_ref());
        put(ANN_COMMIT, self.commit.as_ref());
        put(ANN_BRANCH, self.branch.as_ref());
        put(ANN_RESULT, Some(&self.result));
        put(ANN_RECORD_ID, Some(&self.record_id));
        if self.ci {
            map.insert(ANN_CI.to_string(), "true".to_string());
        }
        map
    }

    /// The annotations of a pulled manifest, checked: a path that is not a plain relative one, an id that
    /// could name a folder elsewhere, a time that is not one, text with control characters: refused.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Annotations, String> {
        let get = |k: &str| map.get(k).cloned();
        let started = get(ANN_CREATED).ok_or("no start time annotation")?;
        chrono::DateTime::parse_from_rfc3339(&started).map_err(|_| format!("start time `{}` is not RFC 3339", clip(&started)))?;
        let dockerfile = get(ANN_DOCKERFILE);
        if let Some(path) = &dockerfile {
            check_relative_path(path).map_err(|why| format!("Dockerfile path `{}`: {why}", clip(path)))?;
        }
        let record_id = get(ANN_RECORD_ID).unwrap_or_default();
        check_id(&record_id).map_err(|why| format!("record id `{}`: {why}", clip(&record_id)))?;
        let short = |k: &str| -> Result<Option<String>, String> {
            match get(k) {
                Some(v) if v.len() > 256 || v.chars().any(char::is_control) => Err(format!("annotation {k} is not a short line of text")),
                v => Ok(v),
            }
        };
        Ok(Annotations {
            dockerfile,
            commit: short(ANN_COMMIT)?,
            branch: short(ANN_BRANCH)?,
            started,
            result: short(ANN_RESULT)?.unwrap_or_else(|| "unknown".to_string()),
            record_id,
            ci: get(ANN_CI).as_deref() == Some("true"),
        })
    }
}

/// A checked manifest: each record file's descriptor (known titles only, each once, under its cap).
#[derive(Debug, Clone)]
pub struct Checked {
    pub files: Vec<(FileKind, Descriptor)>,
    pub annotations: Annotations,
}

/// Checks a manifest read from a registry before anything else is downloaded.
pub fn check(bytes: &[u8]) -> Result<Checked, String> {
    if bytes.len() > MANIFEST_CAP {
        return Err(format!("manifest of {} bytes is over {MANIFEST_CAP}", bytes.len()));
    }
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| format!("not a buildlens manifest: {e}"))?;
    if manifest.artifact_type.as_deref() != Some(ARTIFACT_TYPE) {
        return Err(format!("artifactType is not {ARTIFACT_TYPE}"));
    }
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for layer in &manifest.layers {
        let title = layer.title().unwrap_or_default();
        let kind = kind_of(title).ok_or_else(|| format!("layer titled `{}` is no record file", clip(title)))?;
        if !seen.insert(kind.name) {
            return Err(format!("layer {} appears twice", kind.name));
        }
        if layer.media_type != kind.media_type {
            return Err(format!("layer {} has media type `{}`", kind.name, clip(&layer.media_type)));
        }
        if !is_sha256(&layer.digest) {
            return Err(format!("layer {} has digest `{}`", kind.name, clip(&layer.digest)));
        }
        if layer.size > kind.cap {
            return Err(format!("layer {} claims {} bytes, over its cap of {}", kind.name, layer.size, kind.cap));
        }
        files.push((kind, layer.clone()));
    }
    if let Some(missing) = FILES.iter().find(|k| k.required && !seen.contains(k.name)) {
        return Err(format!("no {} layer", missing.name));
    }
    Ok(Checked { files, annotations: Annotations::from_map(&manifest.annotations)? })
}

/// What a tag says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    pub dockerfile_key: String,
    /// Milliseconds since the epoch.
    pub started_ms: i64,
    pub record_hash: String,
}

/// Above any start time in milliseconds until the year 5138.
const TIME_TOP: i64 = 99_999_999_999_999;

/// The tag of a record.
pub fn tag(dockerfile_key: &str, started_ms: i64, record_hash: &str) -> String {
    let inverted = TIME_TOP.saturating_sub(started_ms.clamp(0, TIME_TOP));
    format!("{dockerfile_key}.{inverted:014}.{}", record_hash.get(..12).unwrap_or(record_hash))
}

/// The tag's parts, if it is a buildlens record tag.
pub fn parse_tag(tag: &str) -> Option<TagInfo> {
    let mut parts = tag.split('.');
    let (key, time, hash) = (parts.next()?, parts.next()?, parts.next()?);
    let hex12 = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if parts.next().is_some() || !hex12(key) || !hex12(hash) || time.len() != 14 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let started_ms = TIME_TOP.checked_sub(time.parse::<i64>().ok()?)?;
    Some(TagInfo { dockerfile_key: key.to_string(), started_ms, record_hash: hash.to_string() })
}

/// The key of a Dockerfile path (repository-relative, `/`-separated; none: the key of the empty path).
pub fn dockerfile_key(path: Option<&str>) -> String {
    let normal = path.map(|p| p.trim_start_matches("./").replace('\\', "/")).unwrap_or_default();
    sha256_hex(normal.as_bytes()).get(..12).unwrap_or_default().to_string()
}

/// The record's identity: its log's and meta.json's bytes (the tag's hash, checked again after a pull).
pub fn record_hash(log_sha256_hex: &str, meta: &[u8]) -> String {
    sha256_hex(format!("{log_sha256_hex}\n{}", sha256_hex(meta)).as_bytes())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn is_sha256(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// A plain relative path: no `..`, not absolute, no empty or `.` component, no control character.
pub fn check_relative_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() || path.len() > 4096 {
        return Err("empty or too long");
    }
    if path.starts_with('/') || path.starts_with('\\') || path.contains(':') {
        return Err("not a relative path");
    }
    if path.chars().any(char::is_control) {
        return Err("holds control characters");
    }
    if path.split(['/', '\\']).any(|c| c.is_empty() || c == "." || c == "..") {
        return Err("has an empty, `.` or `..` component");
    }
    Ok(())
}

/// A record id as the store makes them: letters, digits, `.`, `-`, `_`, not starting with `.`.
pub fn check_id(id: &str) -> Result<(), &'static str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if id.is_empty() || id.len() > 128 || id.starts_with('.') || !id.chars().all(ok) {
        return Err("not a record id");
    }
    Ok(())
}

/// At most 80 characters of registry text for a message.
fn clip(text: &str) -> String {
    crate::present::inline(&text.chars().take(80).collect::<String>()).into_owned()
}

#[cfg(test)]
#[path = "artifact_tests.rs"]
mod tests;

//! Which image history answers for each recorded build: the record's snapshot (`image.json`) when it has
//! one, else a live query of the engine (through the [`Cache`]) for a successful build whose image is known.
//! Split in two so the language server can show snapshots at once and ask the engine off the request path.

use std::sync::Arc;

use super::{Cache, Config, EngineError};
use crate::analysis::layers::{BuildImage, ImageHistory};
use crate::analysis::RecordedBuild;
use crate::log::BuildResult;
use crate::store::Store;

/// A build with the history of its image.
#[derive(Debug, Clone)]
pub struct KnownImage {
    /// `RecordedBuild::id`.
    pub build: String,
    /// The `--target` stage the record built.
    pub target: Option<String>,
    pub history: Arc<ImageHistory>,
    /// From the record's snapshot (else from a live query).
    pub snapshot: bool,
}

/// A build without a snapshot whose image the engine may still know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub build: String,
    pub target: Option<String>,
    /// An image id or tag (see `engine::image_of`).
    pub image: String,
}

/// The snapshots the store has for `builds`, and the builds that need a live query. Reads only the store.
pub fn from_store(store: &Store, builds: &[RecordedBuild]) -> (Vec<KnownImage>, Vec<Wanted>) {
    let (mut known, mut wanted) = (Vec::new(), Vec::new());
    for rb in builds {
        let (record_id, several) = match rb.id.split_once('#') {
            Some((id, _)) => (id, true),
            None => (rb.id.as_str(), false),
        };
        let Some(record) = store.record(record_id) else { continue };
        let Ok(meta) = record.meta() else { continue };
        match record.image() {
            Some(history) if !several || same_image(rb, &history) => {
                known.push(KnownImage { build: rb.id.clone(), target: meta.target, history: Arc::new(history), snapshot: true });
            }
            Some(_) => {}
            None if rb.build.result == BuildResult::Success && !rb.live && meta.tool != "podman-build" => {
                let tags = if several { &[][..] } else { &meta.tags[..] };
                if let Some(image) = super::image_of(&rb.build, tags) {
                    wanted.push(Wanted { build: rb.id.clone(), target: meta.target, image });
                }
            }
            None => {}
        }
    }
    (known, wanted)
}

/// The snapshot is of this build's image: the log's image id is the snapshot's (or its short form).
fn same_image(rb: &RecordedBuild, history: &ImageHistory) -> bool {
    let logged = rb.build.image.as_ref().and_then(|i| i.id.as_deref());
    match (logged, history.id.as_deref()) {
        (Some(a), Some(b)) => {
            let hex = |s: &str| s.strip_prefix("sha256:").unwrap_or(s).to_ascii_lowercase();
            let (a, b) = (hex(a), hex(b));
            a.len() >= 12 && b.starts_with(&a)
        }
        _ => false,
    }
}

/// Asks the engine for the `wanted` images (cached). The first "engine down" answer (unavailable or
/// timed out) ends the queries: one slow daemon costs one timeout, not one per record.
pub fn fetch_blocking(cache: &Cache, config: &Config, wanted: &[Wanted]) -> Vec<KnownImage> {
    let mut out = Vec::new();
    for w in wanted {
        match cache.fetch_blocking(config, &w.image) {
            Ok(history) => out.push(KnownImage { build: w.build.clone(), target: w.target.clone(), history, snapshot: false }),
            Err(EngineError::Unavailable(_) | EngineError::Timeout(_)) => break,
            Err(_) => {}
        }
    }
    out
}

/// The form `analysis::layers::attach_sizes` takes.
pub fn as_build_images(known: &[KnownImage]) -> Vec<BuildImage<'_>> {
    known.iter().map(|k| BuildImage { build: &k.build, target: k.target.as_deref(), history: &k.history }).collect()
}

//! The CLI's one-shot analysis (`report`, `explain`, `debug`): the records of the whole store that built a
//! Dockerfile (a record that names no Dockerfile belongs to the workspace Dockerfile its text matches
//! best; a compose build's services each to theirs, the compose file's word first), their annotation with
//! layer sizes, and the facts `explain` compares. The server's `StoreSource` answers the same questions
//! from its bounded index; both annotate through `analysis`.

use std::path::{Path, PathBuf};

use crate::analysis::inputs::BuildFacts;
use crate::analysis::{self, layers, Annotated, RecordedBuild};
use crate::dockerfile::{self, Dockerfile};
use crate::engine::{self, images};
use crate::store::{select, Store};

/// A Dockerfile's text and every recorded build of it in the store, oldest first.
pub struct Batch {
    pub store: Store,
    pub dockerfile: PathBuf,
    pub text: String,
    pub builds: Vec<RecordedBuild>,
    /// What selecting the builds could not decide (a compose file it could not read, ...).
    pub problems: Vec<String>,
    /// Older records that may hold builds of this Dockerfile, not read (`load_newest`): the builds are
    /// numbered after them, as the server numbers its newest ones.
    pub older: usize,
}

/// `report`'s view: the annotation and the image histories its sizes came from.
pub struct Annotation {
    pub annotated: Annotated,
    pub known: Vec<images::KnownImage>,
}

impl Batch {
    /// The builds of the Dockerfile at `dockerfile` (buffer `text`) in `store`; `compose`: the compose file
    /// that says which services built it (else the one beside it or above it).
    pub fn load(store: Store, dockerfile: &Path, text: String, compose: Option<&Path>) -> Batch {
        Batch::load_newest(store, dockerfile, text, compose, usize::MAX)
    }

    /// `load` of the newest `limit` records that may hold builds of the Dockerfile (the store's catalog
    /// says which, without reading the others): a year of CI is not read to print its last builds.
    pub fn load_newest(store: Store, dockerfile: &Path, text: String, compose: Option<&Path>, limit: usize) -> Batch {
        let candidates = candidates(&store, dockerfile, &text);
        let names: Vec<(&str, &Dockerfile)> = candidates.iter().map(|(n, d)| (n.as_str(), d)).collect();
        let (builds, problems, older) = select::newest_builds_for(&store, dockerfile, compose, &select::by_text(&names), limit);
        Batch { store, dockerfile: dockerfile.to_path_buf(), text, builds, problems, older }
    }

    /// The annotated instructions, with selection's problems and the layer sizes of the builds' images
    /// (snapshots first, a live engine query, bounded and cached, for the others).
    pub fn annotate(&self) -> Annotation {
        let mut annotated = self.annotated();
        let known = known_images(&self.store, &self.builds);
        layers::attach_sizes(&mut annotated, &dockerfile::parse(&self.text), &images::as_build_images(&known));
        Annotation { annotated, known }
    }

    /// The annotation without layer sizes (no engine asked): the pictures.
    pub fn annotated(&self) -> Annotated {
        let mut annotated = analysis::annotate(&self.text, &self.builds);
        annotated.problems.extend(self.problems.iter().cloned());
        annotated.number_after(self.older);
        annotated
    }

    /// The record facts of each build (`explain`).
    pub fn facts(&self) -> Vec<BuildFacts> {
        self.builds.iter().map(|b| facts_of(&self.store, &b.id)).collect()
    }
}

/// This Dockerfile first, then the workspace's others, parsed.
fn candidates(store: &Store, dockerfile: &Path, text: &str) -> Vec<(String, Dockerfile)> {
    select::candidates(store.root().parent().unwrap_or(store.root()), dockerfile, text)
}

/// The image histories of the builds: snapshots first, a live query (bounded, cached) for the others.
fn known_images(store: &Store, builds: &[RecordedBuild]) -> Vec<images::KnownImage> {
    let (mut known, wanted) = images::from_store(store, builds);
    known.extend(images::fetch_blocking(&engine::Cache::new(), &engine::Config::default(), &wanted));
    known
}

/// A build's record facts (`<id>#<n>` builds share their record's).
pub fn facts_of(store: &Store, build_id: &str) -> BuildFacts {
    let id = build_id.split('#').next().unwrap_or(build_id);
    store.record(id).map(|r| r.facts()).unwrap_or_default()
}

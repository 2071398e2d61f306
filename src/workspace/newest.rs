//! `Newest`: the `Source` of a one-shot host (the CLI's `report`, `explain`, `debug`): the newest records
//! that may hold builds of the Dockerfile, as the store's catalog lists them (the others counted, not
//! read), each build selected by `select::belongs` as the server's `StoreSource` selects it, read once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::compared;
use super::select::{self, Named};
use super::services::Fallback;
use super::source::{Feeds, Source};
use crate::analysis::explain::{Explained, Side};
use crate::analysis::inputs::BuildFacts;
use crate::analysis::{self, Annotated, RecordedBuild};
use crate::engine::images::{self, KnownImage};
use crate::store::compose::Belongs;
use crate::store::{index, Record, RecordMeta, Store};

/// What the records say, read once for one Dockerfile.
pub struct Newest {
    /// The compose file the user named (else the one beside the Dockerfile or above it).
    compose: Option<PathBuf>,
    /// Attach layer sizes (image snapshots, then the engine feed) to the annotation.
    sizes: bool,
    /// Fill `Annotated::explain` (with every record's facts).
    explain: bool,
    feeds: OnceLock<Feeds>,
    selection: OnceLock<Selection>,
    known: OnceLock<Vec<KnownImage>>,
}

/// The builds of the Dockerfile in the newest records, oldest first.
#[derive(Default)]
pub struct Selection {
    pub builds: Vec<RecordedBuild>,
    /// What selecting could not decide or read (a compose file, a skipped record, a refused file).
    pub problems: Vec<String>,
    /// Older records that may hold builds of the Dockerfile, not read: the builds are numbered after them.
    pub older: usize,
    /// Records read (their logs' summaries).
    pub read: usize,
}

impl Newest {
    /// `sizes`: layer sizes on the annotation; `explain`: explain's causes on it.
    pub fn new(compose: Option<&Path>, sizes: bool, explain: bool) -> Newest {
        let compose = compose.map(Path::to_path_buf);
        Newest { compose, sizes, explain, feeds: OnceLock::new(), selection: OnceLock::new(), known: OnceLock::new() }
    }

    /// The selection, once read (empty before the host's first snapshot).
    pub fn selection(&self) -> &Selection {
        static EMPTY: OnceLock<Selection> = OnceLock::new();
        self.selection.get().unwrap_or_else(|| EMPTY.get_or_init(Selection::default))
    }

    /// The image histories the sizes came from (empty without `sizes`).
    pub fn known(&self) -> &[KnownImage] {
        self.known.get().map_or(&[], Vec::as_slice)
    }

    fn select(&self, store: &Store, root: &Path, path: &Path, text: &str, limit: usize) -> &Selection {
        self.selection.get_or_init(|| {
            let (records, older) = store.catalog().newest_for(store, path, limit);
            let read = records.len();
            let (builds, problems) = read_builds(store, root, path, text, self.compose.as_deref(), records.into_iter().rev());
            Selection { builds, problems, older, read }
        })
    }

    fn known_images(&self, store: &Store, builds: &[RecordedBuild]) -> &[KnownImage] {
        self.known.get_or_init(|| {
            let (mut known, wanted) = images::from_store(store, builds);
            known.extend(self.feeds.get().map(|f| f.known(&wanted)).unwrap_or_default());
            known
        })
    }
}

impl Source for Newest {
    fn refresh(&self, _store: &Store, _progress: &dyn Fn(super::Indexing)) -> u64 {
        0
    }

    fn invalidate(&self, _store: &Store, _paths: &[PathBuf]) -> bool {
        false
    }

    fn invalidate_all(&self) {}

    fn current_generation(&self, _store: &Store) -> Option<u64> {
        Some(0)
    }

    fn feed(&self, feeds: Feeds) {
        let _ = self.feeds.set(feeds);
    }

    fn annotate(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize) -> Annotated {
        let selection = self.select(store, root, path, text, depth);
        let mut annotated = analysis::annotate(text, &selection.builds);
        annotated.problems.extend(selection.problems.iter().cloned());
        annotated.number_after(selection.older);
        if self.sizes {
            let known = self.known_images(store, &selection.builds);
            analysis::layers::attach_sizes(&mut annotated, &crate::dockerfile::parse(text), &images::as_build_images(known));
        }
        annotated
    }

    fn last_build(&self, _store: &Store, _root: &Path, _path: &Path) -> Option<RecordedBuild> {
        self.selection().builds.last().cloned()
    }

    fn explain(&self, store: &Store, root: &Path, path: &Path, text: &str, depth: usize, expensive_ms: u64) -> Option<Explained> {
        if !self.explain {
            return None;
        }
        let builds = &self.select(store, root, path, text, depth).builds;
        // What explain reads: `compared`'s rule, the server's too.
        let to = builds.len().checked_sub(1)?;
        let facts = compared::facts(to, None, &mut |i, inputs| builds.get(i).map(|b| facts_of(store, &b.id, inputs)).unwrap_or_default());
        let recent = builds.get(compared::window(to)).unwrap_or_default();
        let sides: Vec<Side<'_>> = recent.iter().zip(&facts).map(|(build, facts)| Side { build, facts }).collect();
        analysis::latest::explain_latest(text, &sides, expensive_ms)
    }
}

/// A build's record facts (`<id>#<n>` builds share their record's): its command line, and its
/// `inputs.json` when `inputs` (`compared::reads_inputs`).
pub fn facts_of(store: &Store, build_id: &str, inputs: bool) -> BuildFacts {
    let id = build_id.split('#').next().unwrap_or(build_id);
    let Some(record) = store.record(id) else { return BuildFacts::default() };
    let meta = record.meta().ok();
    BuildFacts {
        build_args: meta.as_ref().map(|m| m.build_args.clone()).unwrap_or_default(),
        no_cache: meta.as_ref().is_some_and(|m| m.no_cache),
        tool: meta.map(|m| m.tool).unwrap_or_default(),
        inputs: if inputs { record.inputs().map(std::sync::Arc::new) } else { None },
    }
}

/// The builds of `records` (oldest first) that built the Dockerfile at `path` (buffer `text`), each as
/// `select::belongs` decides; the compose file `compose`, else the one beside the Dockerfile or above it.
fn read_builds(
    store: &Store,
    root: &Path,
    path: &Path,
    text: &str,
    compose: Option<&Path>,
    records: impl Iterator<Item = Record>,
) -> (Vec<RecordedBuild>, Vec<String>) {
    let target = select::canonical(path);
    let compose = crate::store::compose::for_dockerfile(path, store.root().parent().unwrap_or(store.root()), compose);
    let mut problems: Vec<String> = compose.iter().flat_map(|c| c.problems.iter().cloned()).collect();
    let fallback = Fallback::new(root, path, Some(text));
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
        let Some(named) = Named::of(store, &meta, &target) else { continue };
        let belongs = |b: &crate::log::Build| select::belongs(&named, b, compose.as_ref(), &|b| fallback.belongs(b));
        match index::summary(&record, !meta.is_live()) {
            Ok((summary, _)) => push_builds(&mut out, &record, &meta, summary.parsed.builds, &belongs),
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
    belongs: &dyn Fn(&crate::log::Build) -> Belongs,
) {
    let count = builds.len();
    let built: Option<std::sync::Arc<str>> = record.built_dockerfile().map(Into::into);
    for (i, mut build) in builds.into_iter().enumerate() {
        match belongs(&build) {
            Belongs::No => continue,
            Belongs::Whole => {}
            Belongs::Services(services) => crate::mapping::keep_services(&mut build, &services),
        }
        let id = if count > 1 { format!("{}#{}", record.id, i + 1) } else { record.id.clone() };
        let started = build.started.clone().or_else(|| Some(meta.started.clone()));
        let live = select::still_running(meta.is_live(), &build);
        out.push(RecordedBuild { id, started, build, log_path: record.log_path(), live, built_dockerfile: built.clone() });
    }
}

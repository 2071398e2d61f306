//! `buildlens explain [DOCKERFILE] [--from ID --to ID] [--json]`: why each step of a build executed
//! instead of coming from the cache, traced to the first step of its chain, and advice where the recorded
//! builds prove it. The terminal twin of the lens and hover causes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::analysis::explain::{self, CauseKind, Explained, Side, StepCause};
use crate::analysis::inputs::BuildFacts;
use crate::analysis::RecordedBuild;
use crate::log::StepStatus;
use crate::present::{self, inline};
use crate::store::Store;
use crate::workspace::{compared, Batch, Options, MIN_RECORDS};

/// What `explain` was asked.
pub struct Args {
    pub dockerfile: Option<PathBuf>,
    pub store: Option<PathBuf>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub json: bool,
    pub expensive_seconds: u64,
}

pub fn run(args: Args, cwd: &Path) -> anyhow::Result<i32> {
    let dockerfile = args.dockerfile.clone().unwrap_or_else(|| cwd.join("Dockerfile"));
    let text = std::fs::read(&dockerfile).with_context(|| {
        format!("cannot read the Dockerfile {} (give its path: `buildlens explain path/to/Dockerfile`)", dockerfile.display())
    })?;
    let text = String::from_utf8_lossy(&text);
    let dir = dockerfile.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(cwd);
    let dir = if dir.is_absolute() { dir.to_path_buf() } else { cwd.join(dir) };
    let store = Store::locate_for(args.store.as_deref(), cwd, &dir);
    let explaining = explain(store, &dockerfile, text.into_owned(), &args)?;
    let mut out = super::stdout(args.json);
    match explaining.explained {
        None if explaining.batch.builds().is_empty() => writeln!(out, "{}: no recorded build", dockerfile.display())?,
        // Builds were offered (a record naming no Dockerfile), but none ran a step of this one.
        None => writeln!(
            out,
            "{}: no recorded build ran a step of this Dockerfile (the {} read built another: see `buildlens builds`)",
            dockerfile.display(),
            explaining.batch.builds().len()
        )?,
        Some(e) if args.json => {
            serde_json::to_writer_pretty(&mut out, &Json { dockerfile: &dockerfile, explained: &e })?;
            writeln!(out)?;
        }
        Some(e) => print_text(&mut out, &dockerfile, &e, explaining.batch.store())?,
    }
    out.flush()?;
    Ok(0)
}

/// What `explain` answered, and the workspace it read.
pub struct Explaining {
    pub explained: Option<Explained>,
    pub batch: Batch,
}

/// The explanation `args` ask for of the Dockerfile at `dockerfile` (its text `text`). Only the newest
/// records are read, as many as the server reads (`MIN_RECORDS`: explain looks at the last
/// `RECENT_BUILDS + 1` builds); every record only when `--from` or `--to` names a build not among them.
pub fn explain(store: Store, dockerfile: &Path, text: String, args: &Args) -> anyhow::Result<Explaining> {
    let options = |limit| Options { limit, explain: Some(args.expensive_seconds), ..Options::default() };
    let batch = Batch::open(store.clone(), dockerfile, text.clone(), &options(MIN_RECORDS));
    let named_older = |batch: &Batch| {
        let missing = |id: &Option<String>| id.as_deref().is_some_and(|id| find(batch.builds(), id).is_none());
        batch.older() > 0 && (missing(&args.from) || missing(&args.to))
    };
    let batch = if named_older(&batch) { Batch::open(store, dockerfile, text, &options(usize::MAX)) } else { batch };
    let explained = explain_builds(&batch, args)?;
    Ok(Explaining { explained, batch })
}

#[derive(serde::Serialize)]
struct Json<'a> {
    dockerfile: &'a Path,
    #[serde(flatten)]
    explained: &'a Explained,
}

/// The build `id` names among `builds` (its record's id names its first build of several).
fn find(builds: &[RecordedBuild], id: &str) -> Option<usize> {
    builds.iter().position(|b| b.id == id || b.id.split('#').next() == Some(id))
}

/// The build `--to` names (default: the latest) against `--from` (default: the one before it), with the
/// advice of the recorded builds up to it.
fn explain_builds(batch: &Batch, args: &Args) -> anyhow::Result<Option<Explained>> {
    let (text, builds) = (batch.text(), batch.builds());
    if builds.is_empty() {
        return Ok(None);
    }
    if args.from.is_none() && args.to.is_none() {
        // The latest build against the one before: the snapshot's, as the editor's hover shows it.
        return Ok(batch.annotated().explain.clone());
    }
    let named = |id: &str| find(builds, id).with_context(|| format!("no recorded build {id} of this Dockerfile (see `buildlens builds`)"));
    let to = match &args.to {
        Some(id) => named(id)?,
        None => builds.len() - 1,
    };
    let from = args.from.as_deref().map(named).transpose()?;
    if from.is_some_and(|f| f == to) {
        bail!("--from and --to name the same build");
    }
    // What explain reads: `compared`'s rule, the server's (the window up to `to`, inputs of the pair).
    let window = compared::window(to);
    let facts: Vec<BuildFacts> = batch.facts(to, from);
    let recent = builds.get(window.clone()).unwrap_or_default();
    let sides: Vec<Side<'_>> = recent.iter().zip(&facts).map(|(build, facts)| Side { build, facts }).collect();
    let mut e = crate::analysis::latest::explain_latest(text, &sides, args.expensive_seconds.saturating_mul(1000))
        .context("no build to explain")?;
    if let (Some(f), Some(latest)) = (from, sides.last()) {
        // The build --from names, with its inputs (read again when it is older than the window).
        let from_facts = match f.checked_sub(window.start).and_then(|i| facts.get(i)) {
            Some(facts) => facts.clone(),
            None => batch.facts_of(f, true),
        };
        let from_side = builds.get(f).map(|build| Side { build, facts: &from_facts });
        let steps = explain::explain(text, from_side, *latest).steps;
        e = Explained { from: from_side.map(|s| s.build.id.clone()), steps, ..e };
    }
    Ok(Some(e))
}

fn print_text(out: &mut impl Write, dockerfile: &Path, e: &Explained, store: &Store) -> std::io::Result<()> {
    // A build pulled from a registry says where it came from (`CI · main · 3h ago`).
    let named = |id: &str| match crate::store::remote::origin_label(store, id) {
        Some(origin) => format!("{} ({origin})", inline(id)),
        None => inline(id).into_owned(),
    };
    match &e.from {
        Some(from) => writeln!(out, "{}: build {} against {}", dockerfile.display(), named(&e.to), named(from))?,
        None => writeln!(out, "{}: build {} (no earlier build)", dockerfile.display(), named(&e.to))?,
    }
    if e.steps.is_empty() {
        writeln!(out, "every step came from the cache")?;
    }
    for s in &e.steps {
        writeln!(out, "{}", line_of(s))?;
    }
    for a in &e.advice {
        writeln!(out, "advice on line {}: {}", a.line, a.message)?;
    }
    Ok(())
}

/// `line 9  RUN for part in …  (8.1s) rebuilt because line 8 (COPY . .) was not cached: its inputs changed`.
pub fn line_of(s: &StepCause) -> String {
    let what = clip(&s.instruction, 48);
    let time = s.duration_ms.map(|d| format!(" ({})", present::duration_ms(d))).unwrap_or_default();
    let failed = if s.status == StepStatus::Error { " failed;" } else { "" };
    let why = match s.cause.kind {
        CauseKind::ParentRebuilt => format!("rebuilt because {}", s.cause.detail),
        CauseKind::NoEarlierBuild => format!("built: {}", s.cause.detail),
        _ => format!("not cached: {}", s.cause.detail),
    };
    format!("line {:<3} {what}{time}{failed} {why}", s.line)
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::test_store::{make_log, store_of};

    fn args(from: Option<&str>) -> Args {
        Args { dockerfile: None, store: None, from: from.map(String::from), to: None, json: false, expensive_seconds: 60 }
    }

    /// Thirty records of the Dockerfile: explain reads the newest `MIN_RECORDS` (the server's), and answers
    /// what it answers after reading all of them; every record only for a `--from` older than those.
    #[test]
    fn explain_reads_the_newest_records_and_all_only_for_an_older_build() {
        let (_dir, dockerfile, store, ids) = store_of(&vec![make_log(false); 30]);
        let text = std::fs::read_to_string(&dockerfile).unwrap();
        let newest = explain(store.clone(), &dockerfile, text.clone(), &args(None)).unwrap();
        assert_eq!(newest.batch.records_read(), MIN_RECORDS);
        let options = Options { limit: usize::MAX, explain: Some(60), ..Options::default() };
        let all = Batch::open(store.clone(), &dockerfile, text.clone(), &options);
        assert_eq!(all.records_read(), 30);
        let explained = newest.explained.expect("the latest build explained");
        assert_eq!(Some(&explained), all.annotated().explain.as_ref(), "the same answer");
        assert_eq!((explained.to.as_str(), explained.from.as_deref()), (ids[29].as_str(), Some(ids[28].as_str())));

        let recent = explain(store.clone(), &dockerfile, text.clone(), &args(Some(&ids[25]))).unwrap();
        assert_eq!(recent.batch.records_read(), MIN_RECORDS, "a recent --from is among the newest");
        assert_eq!(recent.explained.and_then(|e| e.from), Some(ids[25].clone()));
        let oldest = explain(store, &dockerfile, text, &args(Some(&ids[0]))).unwrap();
        assert_eq!(oldest.batch.records_read(), 30, "an older --from reads every record");
        assert_eq!(oldest.explained.and_then(|e| e.from), Some(ids[0].clone()));
    }
}

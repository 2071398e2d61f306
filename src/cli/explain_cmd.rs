//! `buildlens explain [DOCKERFILE] [--from ID --to ID] [--json]`: why each step of a build executed
//! instead of coming from the cache, traced to the first step of its chain, and advice where the recorded
//! builds prove it. The terminal twin of the lens and hover causes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::analysis::explain::{self, CauseKind, Explained, Side, StepCause};
use crate::analysis::inputs::BuildFacts;
use crate::log::StepStatus;
use crate::present::{self, inline};
use crate::store::Store;
use crate::workspace::{Batch, Options};

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
    let options = Options { limit: usize::MAX, explain: Some(args.expensive_seconds), ..Options::default() };
    let batch = Batch::open(store, &dockerfile, text.into_owned(), &options);
    let explained = explain_builds(&batch, &args)?;
    let mut out = super::stdout(args.json);
    match explained {
        None => writeln!(out, "{}: no recorded build", dockerfile.display())?,
        Some(e) if args.json => {
            serde_json::to_writer_pretty(&mut out, &Json { dockerfile: &dockerfile, explained: &e })?;
            writeln!(out)?;
        }
        Some(e) => print_text(&mut out, &dockerfile, &e, batch.store())?,
    }
    out.flush()?;
    Ok(0)
}

#[derive(serde::Serialize)]
struct Json<'a> {
    dockerfile: &'a Path,
    #[serde(flatten)]
    explained: &'a Explained,
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
    let find = |id: &str| builds.iter().position(|b| b.id == id || b.id.split('#').next() == Some(id));
    let to = match &args.to {
        Some(id) => find(id).with_context(|| format!("no recorded build {id} of this Dockerfile (see `buildlens builds`)"))?,
        None => builds.len() - 1,
    };
    let from = match &args.from {
        Some(id) => Some(find(id).with_context(|| format!("no recorded build {id} of this Dockerfile (see `buildlens builds`)"))?),
        None => None,
    };
    if from.is_some_and(|f| f == to) {
        bail!("--from and --to name the same build");
    }
    let facts: Vec<BuildFacts> = batch.facts();
    let sides: Vec<Side<'_>> = builds.iter().zip(&facts).map(|(build, facts)| Side { build, facts }).collect();
    let upto = sides.get(..=to).unwrap_or(&[]);
    let mut e =
        crate::analysis::latest::explain_latest(text, upto, args.expensive_seconds.saturating_mul(1000)).context("no build to explain")?;
    if let (Some(f), Some(latest)) = (from, sides.get(to)) {
        let steps = explain::explain(text, sides.get(f).copied(), *latest).steps;
        e = Explained { from: sides.get(f).map(|s| s.build.id.clone()), steps, ..e };
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

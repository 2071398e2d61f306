//! `buildlens report [DOCKERFILE] [--json]`: the Dockerfile with what the recorded builds say on each
//! instruction; the terminal twin of the editor's code lenses.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::analysis::{self, Annotated, InstructionView, StepRun};
use crate::dockerfile::{self, Dockerfile};
use crate::log::StepStatus;
use crate::mapping;
use crate::present;
use crate::store::{select, Store};

pub fn run(dockerfile: Option<PathBuf>, store: Option<&Path>, json: bool, cwd: &Path) -> anyhow::Result<i32> {
    let dockerfile = dockerfile.unwrap_or_else(|| cwd.join("Dockerfile"));
    let text = std::fs::read(&dockerfile).with_context(|| {
        format!("cannot read the Dockerfile {} (give its path: `buildlens report path/to/Dockerfile`)", dockerfile.display())
    })?;
    let text = String::from_utf8_lossy(&text);
    let dir = dockerfile.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(cwd);
    let store = Store::locate(store, &absolute(cwd, dir));
    let candidates = candidates(&store, &dockerfile, &text);
    let names: Vec<(&str, &Dockerfile)> = candidates.iter().map(|(n, d)| (n.as_str(), d)).collect();
    // A record that names no Dockerfile belongs to the workspace Dockerfile its text matches best.
    let belongs = |build: &crate::log::Build| mapping::best_match(&names, build).is_some_and(|(i, _)| i == 0);
    let (builds, mut problems) = select::builds_for(&store, &dockerfile, &belongs);
    let mut annotated = analysis::annotate(&text, &builds);
    annotated.problems.append(&mut problems);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &Report { dockerfile: &dockerfile, builds: builds.len(), annotated: &annotated })?;
        writeln!(out)?;
    } else {
        print_report(&mut out, &dockerfile, &text, builds.len(), &annotated)?;
    }
    Ok(0)
}

#[derive(serde::Serialize)]
struct Report<'a> {
    dockerfile: &'a Path,
    builds: usize,
    #[serde(flatten)]
    annotated: &'a Annotated,
}

/// This Dockerfile first, then the workspace's others, parsed.
fn candidates(store: &Store, dockerfile: &Path, text: &str) -> Vec<(String, Dockerfile)> {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = vec![(name(dockerfile), dockerfile::parse(text))];
    let me = std::fs::canonicalize(dockerfile).ok();
    let root = store.root().parent().unwrap_or(store.root());
    for other in select::workspace_dockerfiles(root) {
        if std::fs::canonicalize(&other).ok() == me {
            continue;
        }
        if let Ok(t) = std::fs::read_to_string(&other) {
            out.push((name(&other), dockerfile::parse(&t)));
        }
    }
    out
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

fn print_report(out: &mut impl Write, dockerfile: &Path, text: &str, builds: usize, a: &Annotated) -> std::io::Result<()> {
    writeln!(out, "{}: {} recorded build{}", dockerfile.display(), builds, if builds == 1 { "" } else { "s" })?;
    let mut next = a.instructions.iter().peekable();
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        writeln!(out, "{n:>4} | {line}")?;
        while let Some(view) = next.next_if(|v| v.end_line <= n) {
            if view.end_line == n {
                annotation(out, view)?;
            }
        }
    }
    for p in &a.problems {
        writeln!(out, "problem: {p}")?;
    }
    Ok(())
}

fn annotation(out: &mut impl Write, view: &InstructionView) -> std::io::Result<()> {
    let Some(last) = &view.last else { return Ok(()) };
    let ran = view.history.len();
    write!(out, "     ^ {}", summary(last))?;
    write!(out, " · {} build{} ran it", ran, if ran == 1 { "" } else { "s" })?;
    if view.changed_since_build {
        write!(out, " · changed since build")?;
    }
    writeln!(out, " · last {}", last.build)?;
    if last.status == StepStatus::Error {
        for line in last.excerpt.iter().rev().take(5).rev() {
            writeln!(out, "     | {line}")?;
        }
    }
    Ok(())
}

/// `executed in 8.1s`, `cached`, `FAILED after 0.2s (exit 2): …`, `running…`.
pub fn summary(run: &StepRun) -> String {
    let time = run.duration_ms.map(present::duration_ms);
    match run.status {
        StepStatus::Cached => "cached".to_string(),
        StepStatus::Executed => format!("executed in {}", time.unwrap_or_else(|| "?".into())),
        StepStatus::Running => "running when the log ended".to_string(),
        StepStatus::Canceled => "canceled".to_string(),
        StepStatus::Error => {
            let mut s = "FAILED".to_string();
            if let Some(t) = time {
                s += &format!(" after {t}");
            }
            if let Some(code) = run.exit_code {
                s += &format!(" (exit {code})");
            }
            if let Some(e) = &run.error {
                s += &format!(": {e}");
            }
            s
        }
    }
}

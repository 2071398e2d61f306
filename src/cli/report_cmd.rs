//! `buildlens report [DOCKERFILE] [--json]`: the Dockerfile with what the recorded builds say on each
//! instruction; the terminal twin of the editor's code lenses.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::analysis::{layers, Annotated, InstructionView, RecordedBuild, StepRun};
use crate::engine::images;
use crate::log::{BuildResult, StepStatus};
use crate::present;
use crate::store::Store;
use crate::workspace::{Batch, Options};

pub fn run(
    dockerfile: Option<PathBuf>,
    store: Option<&Path>,
    last: usize,
    compose: Option<&Path>,
    json: bool,
    picture: Option<super::picture_cmd::Kind>,
    cwd: &Path,
) -> anyhow::Result<i32> {
    let dockerfile = dockerfile.unwrap_or_else(|| cwd.join("Dockerfile"));
    let text = std::fs::read(&dockerfile).with_context(|| {
        format!("cannot read the Dockerfile {} (give its path: `buildlens report path/to/Dockerfile`)", dockerfile.display())
    })?;
    let text = String::from_utf8_lossy(&text);
    let dir = dockerfile.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(cwd);
    let store = Store::locate_for(store, cwd, &absolute(cwd, dir));
    // The same workspace analysis as the server's: a host with this Dockerfile open, its one snapshot.
    // The markdown picture shows explain's causes and advice: the snapshot's, as the hover's.
    let explain = matches!(picture, Some(super::picture_cmd::Kind::Markdown)).then_some(crate::analysis::advice::DEFAULT_EXPENSIVE_SECONDS);
    let options = Options { compose, limit: last, sizes: picture.is_none(), explain };
    let batch = Batch::open(store, &dockerfile, text.into_owned(), &options);
    let (text, builds, annotated) = (batch.text(), batch.builds(), batch.annotated());
    if let Some(kind) = picture {
        let input = super::picture_cmd::Input { dockerfile: &dockerfile, text, builds, annotated };
        return super::picture_cmd::write(kind, &input);
    }
    let mut out = super::stdout(json);
    if json {
        serde_json::to_writer_pretty(
            &mut out,
            &Report { dockerfile: &dockerfile, builds: builds.len(), older_records: batch.older(), annotated },
        )?;
        writeln!(out)?;
    } else {
        // The newest build's timeline and each instruction's note on it: the host's, as the hover's.
        let timeline = batch.host.timeline(&batch.snapshot);
        let note = |view: &InstructionView| batch.host.critical_note(&batch.snapshot, view);
        let printed = Printed {
            builds,
            older: batch.older(),
            known: batch.known(),
            annotated,
            timeline: timeline.as_deref(),
            critical_note: &note,
            store: batch.store(),
        };
        print_report(&mut out, &dockerfile, text, &printed)?;
    }
    out.flush()?;
    Ok(0)
}

#[derive(serde::Serialize)]
struct Report<'a> {
    dockerfile: &'a Path,
    builds: usize,
    /// Records of this Dockerfile older than those read (`--last`), counted, not read.
    older_records: usize,
    #[serde(flatten)]
    annotated: &'a Annotated,
}

/// What the text report prints.
struct Printed<'a> {
    builds: &'a [RecordedBuild],
    /// Older records not read: the builds are numbered after them.
    older: usize,
    known: &'a [images::KnownImage],
    annotated: &'a Annotated,
    /// The newest build's timeline (`Host::timeline`): its critical path, for the header.
    timeline: Option<&'a crate::analysis::timeline::Timeline>,
    /// Where an instruction's last run stood on that timeline (`Host::critical_note`).
    critical_note: &'a dyn Fn(&InstructionView) -> Option<String>,
    /// Where pulled records came from (`CI · main · 3h ago`).
    store: &'a Store,
}

fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

fn print_report(out: &mut impl Write, dockerfile: &Path, text: &str, p: &Printed<'_>) -> std::io::Result<()> {
    let (builds, a) = (p.builds, p.annotated);
    write!(out, "{}: {} recorded build{}", dockerfile.display(), builds.len(), if builds.len() == 1 { "" } else { "s" })?;
    match p.older {
        0 => writeln!(out)?,
        1 => writeln!(out, " and 1 older record, not read (--all reads it)")?,
        n => writeln!(out, " and {n} older records, not read (--all reads them)")?,
    }
    for (i, b) in builds.iter().enumerate() {
        let when = b.started.as_deref().map(short_time).unwrap_or_else(|| "time unknown".into());
        write!(out, "  #{} {when}  {}  {}", p.older + i + 1, result_word(b), present::inline(&b.id))?;
        if let Some(origin) = crate::store::remote::origin_label(p.store, &b.id) {
            write!(out, "  {origin}")?;
        }
        if let Some(k) = p.known.iter().find(|k| k.build == b.id) {
            write!(out, "  image {}", present::size_bytes(k.history.total_size()))?;
        }
        writeln!(out)?;
    }
    let largest = layers::largest(a, 3);
    let timeline_number = |t: &crate::analysis::timeline::Timeline| {
        builds.iter().position(|b| b.id == t.build).map_or(String::from("?"), |i| format!("#{}", p.older + i + 1))
    };
    if let Some(header) = p.timeline.and_then(|t| crate::picture::text::path_header(t, &timeline_number(t))) {
        writeln!(out, "{header}")?;
    }
    writeln!(out)?;
    let number = |id: &str| builds.iter().position(|b| b.id == id).map_or(String::from("?"), |i| format!("#{}", p.older + i + 1));
    let mut next = a.instructions.iter().peekable();
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        writeln!(out, "{n:>4} | {line}")?;
        while let Some(view) = next.next_if(|v| v.end_line <= n) {
            if view.end_line == n {
                let note = (p.critical_note)(view);
                annotation(out, view, &number, largest.iter().position(|&l| l == view.line), note.as_deref())?;
            }
        }
    }
    for p in &a.problems {
        writeln!(out, "problem: {}", present::inline(p))?;
    }
    Ok(())
}

fn result_word(b: &RecordedBuild) -> &'static str {
    match (b.live, b.build.result) {
        (true, _) | (_, BuildResult::Running) => "running",
        (_, BuildResult::Success) => "succeeded",
        (_, BuildResult::Failed) => "failed",
        (_, BuildResult::Canceled) => "canceled",
    }
}

/// `2026-11-24T06:11:11.36+00:00` → `2026-11-24 06:11:11 UTC`.
fn short_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// `rank`: the place of this instruction's layer among the largest (0 = the largest).
fn annotation(
    out: &mut impl Write,
    view: &InstructionView,
    number: &dyn Fn(&str) -> String,
    rank: Option<usize>,
    critical: Option<&str>,
) -> std::io::Result<()> {
    for c in &view.checks {
        let code = c.code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default();
        writeln!(
            out,
            "     ^ warning (line {}, build {}): {code}{}",
            c.line,
            number(&c.build),
            crate::workspace::words::one_line(&c.message, 300)
        )?;
    }
    let Some(last) = &view.last else { return Ok(()) };
    write!(out, "     ^ {} (build {})", summary(last), number(&last.build))?;
    // Metadata instructions (ENV, CMD, ...) make empty history rows, not layers: no "0 B" on them.
    let makes_layer = matches!(view.keyword.as_str(), "FROM" | "RUN" | "COPY" | "ADD") || last.size_bytes.is_some_and(|s| s > 0);
    if let Some(size) = last.size_bytes.filter(|_| makes_layer) {
        let what = if view.keyword == "FROM" { "base image" } else { "layer" };
        write!(out, " · {what} {}", present::size_bytes(size))?;
        if let Some(rank) = rank {
            write!(out, " (largest #{})", rank + 1)?;
        }
    }
    write!(out, " · {}", runs_summary(&view.history))?;
    if view.changed_since_build {
        write!(out, " · changed since that build")?;
    }
    if let Some(note) = critical {
        write!(out, " · {note}")?;
    }
    writeln!(out)?;
    if last.status == StepStatus::Error {
        for line in last.excerpt.iter().rev().take(5).rev() {
            writeln!(out, "     | {line}")?;
        }
    }
    Ok(())
}

/// `executed in 8.1s`, `cached`, `FAILED after 0.2s (exit 2): <headline>`, `running…`.
/// A multi-platform run says each platform: `executed: amd64 2m10s · arm64 19m32s`, `FAILED (amd64 1.2s ·
/// arm64 failed 3m04s) …`.
pub fn summary(run: &StepRun) -> String {
    let time = run.duration_ms.map(present::duration_ms);
    let platforms = crate::workspace::words::platforms(run);
    match run.status {
        StepStatus::Cached => "cached".to_string(),
        StepStatus::Executed if platforms.is_some() => format!("executed: {}", platforms.unwrap_or_default()),
        StepStatus::Executed => format!("executed in {}", time.unwrap_or_else(|| "?".into())),
        StepStatus::Running => "running when the log ended".to_string(),
        StepStatus::Canceled => "canceled".to_string(),
        StepStatus::Error => {
            let mut s = "FAILED".to_string();
            if let Some(p) = platforms {
                s += &format!(" ({p})");
            } else if let Some(t) = time {
                s += &format!(" after {t}");
            }
            if let Some(code) = run.exit_code {
                s += &format!(" (exit {code})");
            }
            // The same headline as the editor's lens and diagnostic: the cause in the output, else the builder's error.
            if let Some(h) = crate::analysis::headline::of(run) {
                s += &format!(": {}", present::one_line(&h.text, 300));
            }
            s
        }
    }
}

/// `ran in 3 builds: 2 executed, 1 cached` (a failed run executed; canceled and unfinished runs named
/// apart: they did not finish, so they are neither).
fn runs_summary(history: &[crate::analysis::StepRun]) -> String {
    let count = |f: &dyn Fn(StepStatus) -> bool| history.iter().filter(|r| f(r.status)).count();
    let executed = count(&|s| matches!(s, StepStatus::Executed | StepStatus::Error));
    let cached = count(&|s| s == StepStatus::Cached);
    let canceled = count(&|s| s == StepStatus::Canceled);
    let running = history.len() - executed - cached - canceled;
    let plural = if history.len() == 1 { "" } else { "s" };
    let mut text = format!("ran in {} build{plural}: {executed} executed, {cached} cached", history.len());
    if canceled > 0 {
        text.push_str(&format!(", {canceled} canceled"));
    }
    if running > 0 {
        text.push_str(&format!(", {running} unfinished"));
    }
    text
}

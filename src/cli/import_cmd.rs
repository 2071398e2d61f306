//! `buildlens import LOG… | -` and `buildlens builds`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::log::ParsedLog;
use crate::store::{index, Record, RecordMeta, Source, Store};

pub fn run(store: Option<&Path>, dockerfile: Option<&Path>, logs: &[PathBuf], cwd: &Path) -> Result<i32> {
    let store = Store::locate(store, cwd);
    let mut imported = 0;
    let mut out = super::stdout(false);
    for log in logs {
        match import_one(&store, dockerfile, log, cwd) {
            Ok((record, parsed)) => {
                imported += 1;
                writeln!(out, "imported {} as {}: {}", log.display(), crate::present::inline(&record.id), describe(&parsed))?;
            }
            Err(e) => {
                out.flush()?;
                crate::present::eprint_line(format_args!("buildlens: {}: {e:#}", log.display()));
            }
        }
    }
    out.flush()?;
    Ok(if imported == logs.len() { 0 } else { 1 })
}

fn import_one(store: &Store, dockerfile: Option<&Path>, log: &Path, cwd: &Path) -> Result<(Record, ParsedLog)> {
    let stdin = log.as_os_str() == "-";
    let mut source: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(log).with_context(|| format!("cannot open {}", log.display()))?)
    };
    let record = store.create_record(chrono::Utc::now())?;
    let mut meta = RecordMeta::new(record.id.clone(), Source::Import, chrono::Utc::now().to_rfc3339());
    meta.imported_from = (!stdin).then(|| cwd.join(log));
    meta.dockerfile = dockerfile.map(|d| cwd.join(d));
    meta.cwd = Some(cwd.to_path_buf());
    crate::store::select::relativize(store, &mut meta);
    let mut file =
        crate::store::safe_fs::create_new(&record.log_path()).with_context(|| format!("creating {}", record.log_path().display()))?;
    std::io::copy(&mut source, &mut file).context("copying the log into the store")?;
    file.flush()?;
    meta.finished = Some(chrono::Utc::now().to_rfc3339());
    record.write_meta(&meta)?;
    let (summary, _) = index::summary(&record, true)?;
    Ok((record, summary.parsed))
}

fn describe(parsed: &ParsedLog) -> String {
    if parsed.builds.is_empty() {
        return parsed.problems.first().map(|p| p.message.clone()).unwrap_or_else(|| "no builds".into());
    }
    let parts: Vec<String> = parsed
        .builds
        .iter()
        .map(|b| {
            format!("{} {:?} with {} steps", b.format.as_str(), b.result, b.steps.iter().filter(|s| s.is_instruction()).count())
                .to_lowercase()
        })
        .collect();
    parts.join("; ")
}

/// `buildlens builds`: one line per record, oldest first, as the workspace reads them.
pub fn list(store: Option<&Path>, json: bool, cwd: &Path) -> Result<i32> {
    let store = Store::locate(store, cwd);
    let rows: Vec<(Record, Option<RecordMeta>, Option<ParsedLog>)> =
        crate::workspace::records::all(&store).into_iter().map(|r| (r.record, r.meta, r.parsed)).collect();
    let mut out = super::stdout(json);
    if json {
        let items: Vec<serde_json::Value> = rows
            .iter()
            .map(|(r, m, p)| serde_json::json!({"id": r.id, "log": r.log_path(), "meta": m, "builds": p.as_ref().map(|p| &p.builds)}))
            .collect();
        serde_json::to_writer_pretty(&mut out, &items)?;
        writeln!(out)?;
    } else {
        for (record, meta, parsed) in &rows {
            let cmd = meta.as_ref().map(|m| crate::present::inline(&m.command.join(" ")).into_owned()).unwrap_or_default();
            let what = parsed.as_ref().map(describe).unwrap_or_else(|| "unreadable".into());
            let origin = meta.as_ref().and_then(|m| Some(format!("  {}", m.origin.as_ref()?.label(&m.started, chrono::Utc::now()))));
            writeln!(out, "{}  {}{}  {}", crate::present::inline(&record.id), what, origin.unwrap_or_default(), cmd)?;
        }
    }
    out.flush()?;
    Ok(0)
}

//! The parsed-summary cache of a record (`summary.json`), kept with a format version and a parser
//! checkpoint so that a newer parser re-indexes old records and a log that grew is read from where the
//! last indexing stopped, not from the start.
//!
//! A cache is never trusted beyond the bounds the parser itself keeps (`within_bounds`): a `summary.json`
//! with the right version but, say, a 50 MB excerpt line or `u64::MAX` durations is discarded and the log
//! read again. The log is opened only when it is a regular file (`safe_fs`).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{safe_fs, Record};
use crate::log::{LogParser, ParsedLog};

/// Bump when the parsers' output changes: every cached summary with another version is re-read.
pub const FORMAT_VERSION: u32 = 3;

/// Contents of `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: u32,
    /// Log size when it was indexed.
    pub log_len: u64,
    /// Whether the log was complete (the recorder had finished) when indexed.
    pub complete: bool,
    pub parsed: ParsedLog,
    /// Parser state at the last complete line, to resume a growing log; null once the log is complete
    /// (it will not grow, and the state of a long build is tens of kilobytes).
    #[serde(default)]
    pub checkpoint: serde_json::Value,
}

/// How an index call went, for progress reports and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexed {
    /// The cache was current.
    Cached,
    /// Only the bytes from this offset on were parsed.
    Resumed { from: u64 },
    /// The whole log was parsed.
    Full,
}

/// The record's parsed log, from the cache when it is current, else re-indexed (and the cache
/// replaced). `complete` says whether the log has stopped growing.
pub fn summary(record: &Record, complete: bool) -> Result<(Summary, Indexed)> {
    summary_at(record.store_root(), &record.log_path(), &record.summary_path(), complete)
}

/// `summary` for a log anywhere (read only) whose cache is the file `cache` inside the store at `store`
/// (a log matched by the language server's `logGlobs` keeps its cache inside the store, never next to
/// the log; a cache whose folder leaves the store is not written).
pub fn summary_at(store: &Path, log: &Path, cache: &Path, complete: bool) -> Result<(Summary, Indexed)> {
    let file = safe_fs::open_regular(log)?;
    let log_len = file.metadata().with_context(|| format!("reading {}", log.display()))?.len();
    let cached = match read_cache(cache) {
        Some(c) if c.log_len == log_len && (c.complete || !complete) => return Ok((c, Indexed::Cached)),
        other => other,
    };
    let resumable = cached.filter(|c| !c.complete && c.log_len <= log_len).and_then(|c| LogParser::resume(&c.checkpoint));
    let (parser, how) = match resumable {
        Some(p) => {
            let from = p.resume_offset();
            (p, Indexed::Resumed { from })
        }
        None => (LogParser::new(), Indexed::Full),
    };
    let mut summary = read_from(file, parser, log_len, complete)?;
    if how != Indexed::Full && within_bounds(&summary).is_err() {
        // The resumed state came from the cache too: a lie there shows in what it produced.
        summary = read_from(safe_fs::open_regular(log)?, LogParser::new(), log_len, complete)?;
        return Ok((summary, Indexed::Full));
    }
    if let Ok(json) = serde_json::to_vec(&summary) {
        // A cache that cannot be written (read-only store, a folder that leaves the store) only costs a
        // re-parse next time.
        if let Err(e) = safe_fs::write_atomic(store, cache, &json) {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                crate::present::eprint_line(format_args!("buildlens: {e}"));
            }
        }
    }
    Ok((summary, how))
}

/// The cache, when it is of this format version, under its size cap and within the parser's bounds.
fn read_cache(cache: &Path) -> Option<Summary> {
    let bytes = safe_fs::read_capped(cache, safe_fs::SUMMARY_CAP).ok()?;
    let s: Summary = serde_json::from_slice(&bytes).ok()?;
    if s.format_version != FORMAT_VERSION {
        return None;
    }
    match within_bounds(&s) {
        Ok(()) => Some(s),
        Err(why) => {
            crate::present::eprint_line(format_args!("buildlens: {}: discarded ({why}); the log is read again", cache.display()));
            None
        }
    }
}

/// Feeds the log from the parser's resume offset up to `log_len`, in chunks over one buffer.
fn read_from(mut file: File, mut parser: LogParser, log_len: u64, complete: bool) -> Result<Summary> {
    file.seek(SeekFrom::Start(parser.resume_offset()))?;
    let mut remaining = log_len.saturating_sub(parser.resume_offset());
    let mut buf = vec![0u8; 256 * 1024];
    while remaining > 0 {
        let want = buf.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        parser.feed(&buf[..n]);
        remaining -= n as u64;
    }
    let checkpoint = if complete { serde_json::Value::Null } else { parser.checkpoint() };
    let parsed = if complete { parser.finish() } else { parser.snapshot() };
    Ok(Summary { format_version: FORMAT_VERSION, log_len, complete, parsed, checkpoint })
}

/// Steps a build may have: the largest of the parsers' caps (BuildKit plain's highest vertex number).
pub const MAX_STEPS: usize = crate::log::buildkit_plain::MAX_VERTEX;
/// Longest text a parser keeps in a name, an error or a warning: a log line is cut at `MAX_LINE` bytes,
/// and decoding (UTF-16, replacement characters) at most triples it.
const MAX_TEXT: usize = 3 * crate::log::lines::MAX_LINE + 16;
/// Longest excerpt line: `EXCERPT_LINE_BYTES` decoded (a replacement character per invalid byte) + `…`.
const MAX_EXCERPT_LINE: usize = 3 * crate::log::output::EXCERPT_LINE_BYTES + 4;
/// Longest duration: BuildKit plain reads at most 12 digits of seconds.
const MAX_DURATION_MS: u64 = 1_000_000_000_000_000;
/// Problems, warnings and tags kept per build or step (every parser keeps far fewer).
const MAX_LIST: usize = 1024;

/// `Ok` when the summary stays within what the parser itself can produce: step count per build, text
/// lengths, excerpt lines and their length, durations, offsets inside the log. Else what is out of bounds.
pub fn within_bounds(s: &Summary) -> Result<(), String> {
    let p = &s.parsed;
    let text = |t: &str, what: &str| if t.len() > MAX_TEXT { Err(format!("a {what} of {} bytes", t.len())) } else { Ok(()) };
    let list = |n: usize, what: &str| if n > MAX_LIST { Err(format!("{n} {what}")) } else { Ok(()) };
    let offset = |o: u64| if o > s.log_len { Err(format!("offset {o} past the log's {} bytes", s.log_len)) } else { Ok(()) };
    list(p.problems.len(), "problems")?;
    p.problems.iter().try_for_each(|x| text(&x.message, "problem"))?;
    offset(p.bytes)?;
    for b in &p.builds {
        if b.steps.len() > MAX_STEPS {
            return Err(format!("{} steps in one build", b.steps.len()));
        }
        list(b.problems.len(), "problems")?;
        list(b.warnings.len(), "warnings")?;
        b.problems.iter().try_for_each(|x| text(&x.message, "problem"))?;
        b.warnings.iter().try_for_each(|w| text(&w.message, "warning"))?;
        [&b.error, &b.dockerfile, &b.job, &b.started, &b.finished].into_iter().flatten().try_for_each(|t| text(t, "build text"))?;
        if let Some(image) = &b.image {
            list(image.tags.len(), "tags")?;
            image.tags.iter().chain(&image.id).try_for_each(|t| text(t, "tag"))?;
        }
        offset(b.span[0])?;
        offset(b.span[1])?;
        for step in &b.steps {
            step_within_bounds(step, &text, &list, &offset)?;
        }
    }
    Ok(())
}

type Check<'a, T> = &'a dyn Fn(T) -> Result<(), String>;

fn step_within_bounds(
    step: &crate::log::Step,
    text: &dyn Fn(&str, &str) -> Result<(), String>,
    list: &dyn Fn(usize, &str) -> Result<(), String>,
    offset: Check<'_, u64>,
) -> Result<(), String> {
    let texts = [&step.stage, &step.platform, &step.service, &step.instruction, &step.started, &step.finished, &step.error];
    text(&step.name, "step name")?;
    texts.into_iter().flatten().chain(&step.image_id).chain(&step.digest).try_for_each(|t| text(t, "step text"))?;
    list(step.warnings.len(), "warnings")?;
    step.warnings.iter().try_for_each(|w| text(w, "warning"))?;
    if step.excerpt.len() > crate::log::output::EXCERPT_LINES {
        return Err(format!("an excerpt of {} lines", step.excerpt.len()));
    }
    if let Some(long) = step.excerpt.iter().find(|l| l.len() > MAX_EXCERPT_LINE) {
        return Err(format!("an excerpt line of {} bytes", long.len()));
    }
    if step.duration_ms.is_some_and(|d| d > MAX_DURATION_MS) {
        return Err(format!("a duration of {} ms", step.duration_ms.unwrap_or_default()));
    }
    offset(step.output.start)?;
    offset(step.output.end)
}

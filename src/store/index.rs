//! The parsed-summary cache of a record (`summary.json`), kept with a format version and a parser
//! checkpoint so that a newer parser re-indexes old records and a log that grew is read from where the
//! last indexing stopped, not from the start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{write_atomic, Record};
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
    summary_at(&record.log_path(), &record.summary_path(), complete)
}

/// `summary` for a log anywhere (read only) whose cache is the file `cache` (a log matched by the
/// language server's `logGlobs` keeps its cache inside the store, never next to the log).
pub fn summary_at(log: &Path, cache: &Path, complete: bool) -> Result<(Summary, Indexed)> {
    let log_len = std::fs::metadata(log).with_context(|| format!("reading {}", log.display()))?.len();
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
    let summary = read_from(log, parser, log_len, complete)?;
    if let Ok(json) = serde_json::to_vec(&summary) {
        // A cache that cannot be written (read-only store) only costs a re-parse next time.
        let _ = write_atomic(cache, &json);
    }
    Ok((summary, how))
}

fn read_cache(cache: &Path) -> Option<Summary> {
    let bytes = std::fs::read(cache).ok()?;
    let s: Summary = serde_json::from_slice(&bytes).ok()?;
    (s.format_version == FORMAT_VERSION).then_some(s)
}

/// Feeds the log from the parser's resume offset up to `log_len`, in chunks over one buffer.
fn read_from(log: &Path, mut parser: LogParser, log_len: u64, complete: bool) -> Result<Summary> {
    let mut file = File::open(log).with_context(|| format!("opening {}", log.display()))?;
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

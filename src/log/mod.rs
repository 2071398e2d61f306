//! Build-log parsing: the pure core that turns any supported log into builds and steps.
//!
//! Architecture invariant: nothing in `log` does I/O (it reads from a caller's `Read` at most), knows
//! tokio or LSP types, or can fail: hostile input gives a partial result plus `problems`. Memory does not
//! grow with the log (offsets and bounded excerpts, never copies of output).
//!
//! Pipeline per line: `lines` (split, decode UTF-16) → `unwrap` (CI/terminal wrappers) → the line's
//! `Channel` (one per act job) → its learned `prefix`es removed → the active format parser.

pub mod base64_simd;
pub mod buildkit_plain;
pub mod buildkit_tty;
pub mod cache_hit;
pub mod cause;
pub mod channel;
pub mod checks;
pub mod demux;
pub mod echo;
pub mod engine_api;
pub mod error_block;
pub mod legacy;
pub mod line;
pub mod lines;
pub mod model;
pub mod output;
pub mod podman;
pub mod prefix;
pub mod protobuf;
pub mod rawjson;
pub mod rawjson_record;
pub mod run;
pub mod sequential;
pub mod solve_status;
pub mod step_name;
pub mod stream;
pub mod unwrap;

use std::io::Read;

use serde::{Deserialize, Serialize};

use channel::Channel;
use line::Line;
use lines::{Encoding, LineSplitter, RawLine};
pub use model::{Build, BuildResult, CauseLine, Format, ImageRef, LineWarning, OutputRange, ParsedLog, Problem, Step, StepStatus};

/// Most channels (act jobs) one log may open; lines of further jobs go to the last one.
const MAX_CHANNELS: usize = 64;

/// Everything the parser keeps between lines. Serialisable: a stored checkpoint lets a log that grew be
/// re-read from `resume_offset` only.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    encoding: Encoding,
    /// All lines before this offset have been read.
    resume_offset: u64,
    channels: Vec<Channel>,
    problems: Vec<Problem>,
    lines: u64,
    /// The log's first lines, escaped and cut, to show when it reads as no build.
    #[serde(default)]
    head: Vec<String>,
}

/// Lines kept in `State::head`, and the characters kept of each.
const HEAD_LINES: usize = 5;
const HEAD_CHARS: usize = 100;

/// A streaming log parser: feed chunks in order, take a `snapshot` at any time, `finish` at the end.
#[derive(Debug)]
pub struct LogParser {
    state: State,
    splitter: LineSplitter,
    scratch: Vec<u8>,
    /// Buffers of the classic builder's runs (`run::Side`).
    side: run::Side,
}

impl Default for LogParser {
    fn default() -> Self {
        LogParser::new()
    }
}

impl LogParser {
    pub fn new() -> LogParser {
        let state = State {
            encoding: Encoding::Undecided,
            resume_offset: 0,
            channels: Vec::new(),
            problems: Vec::new(),
            lines: 0,
            head: Vec::new(),
        };
        LogParser { splitter: LineSplitter::new(0, Encoding::Undecided), state, scratch: Vec::new(), side: run::Side::default() }
    }

    /// Feeds the next bytes of the log. Runs of BuildKit plain output lines of one vertex are read at
    /// once (`run`); every other line one at a time.
    pub fn feed(&mut self, chunk: &[u8]) {
        let LogParser { state, splitter, scratch, side } = self;
        let mut at = 0;
        let mut wrappers = run::Wrappers::default();
        while at < chunk.len() && splitter.is_utf8() {
            let Some(kind) = state.run_kind() else { break };
            let rest = chunk.get(at..).unwrap_or_default();
            if !splitter.at_line_start() {
                // The end of a line the last chunk began.
                let read = memchr::memchr(b'\n', rest).map_or(rest.len(), |nl| nl + 1);
                splitter.feed(rest.get(..read).unwrap_or_default(), &mut |raw| state.line(raw, scratch));
                at += read;
                continue;
            }
            let scanned = run::Run::scan(chunk, (at, splitter.offset()), &mut wrappers, kind, LEGACY_LINES, side);
            if let Some(run) = scanned.as_ref().filter(|run| state.output_run(run)) {
                splitter.skip_lines(run.bytes);
                at += run.bytes;
                continue;
            }
            // A run the parser refused, or one line that starts none: read the ordinary way.
            let read = scanned.map_or_else(|| memchr::memchr(b'\n', rest).map_or(rest.len(), |nl| nl + 1), |run| run.bytes);
            splitter.feed(rest.get(..read).unwrap_or_default(), &mut |raw| state.line(raw, scratch));
            at += read;
        }
        splitter.feed(chunk.get(at..).unwrap_or_default(), &mut |raw| state.line(raw, scratch));
        state.encoding = splitter.encoding();
        state.resume_offset = splitter.resume_offset();
    }

    /// Feeds the next bytes one line at a time, never by runs: the reference the fast path is tested against.
    #[doc(hidden)]
    pub fn feed_line_by_line(&mut self, chunk: &[u8]) {
        let LogParser { state, splitter, scratch, .. } = self;
        splitter.feed(chunk, &mut |raw| state.line(raw, scratch));
        state.encoding = splitter.encoding();
        state.resume_offset = splitter.resume_offset();
    }

    /// Offset up to which every line has been read; a resumed parser continues from here.
    pub fn resume_offset(&self) -> u64 {
        self.state.resume_offset
    }

    /// The builds read so far, open ones as they stand (their steps `running`).
    pub fn snapshot(&self) -> ParsedLog {
        let builds = self.state.channels.iter().flat_map(Channel::snapshot).collect();
        self.state.result(builds, self.splitter.offset())
    }

    /// Reads the last line (a log need not end with a newline) and closes every build.
    pub fn finish(mut self) -> ParsedLog {
        let LogParser { state, splitter, scratch, .. } = &mut self;
        splitter.finish(&mut |raw| state.line(raw, scratch));
        let bytes = splitter.offset();
        let channels = std::mem::take(&mut self.state.channels);
        let builds = channels.into_iter().flat_map(Channel::finish).collect();
        self.state.result(builds, bytes)
    }

    /// The parser's state as JSON, to store beside a log that may grow.
    pub fn checkpoint(&self) -> serde_json::Value {
        serde_json::to_value(&self.state).unwrap_or(serde_json::Value::Null)
    }

    /// A parser that continues from a `checkpoint`; feed it the log from `resume_offset()` on.
    pub fn resume(checkpoint: &serde_json::Value) -> Option<LogParser> {
        let state: State = serde_json::from_value(checkpoint.clone()).ok()?;
        let splitter = LineSplitter::new(state.resume_offset, state.encoding);
        Some(LogParser { state, splitter, scratch: Vec::new(), side: run::Side::default() })
    }
}

/// Classic-builder lines the open step takes as plain output: a raw line that every stage reads as it is
/// (no wrapper for `unwrap`, no builder anchor behind some text for the channel, no builder line for
/// `legacy`), or a line's text after `unwrap` (no anchor behind text, no builder line).
const LEGACY_LINES: run::LegacyLines = run::LegacyLines {
    raw: |text| legacy::is_output(text) && unwrap::untouched(text) && !prefix::has_inner_anchor(text),
    unwrapped: |text| legacy::is_output(text) && !prefix::has_inner_anchor(text),
};

impl State {
    fn line(&mut self, raw: RawLine<'_>, scratch: &mut Vec<u8>) {
        self.lines += 1;
        if self.head.len() < HEAD_LINES {
            self.head.push(escape_head(raw.bytes));
        }
        let u = unwrap::unwrap(raw.bytes, scratch);
        let line = Line { text: u.text, start: raw.start, end: raw.end, time: u.time, chatter: u.chatter, truncated: raw.truncated };
        let channel = self.channel(u.job);
        channel.line(&line);
    }

    /// A plain or classic build is open on the channel of lines without a job: runs may be offered.
    fn run_kind(&self) -> Option<run::Kind> {
        if self.head.len() < HEAD_LINES {
            return None;
        }
        self.channels.iter().find(|c| c.job.is_none()).and_then(Channel::run_kind)
    }

    /// A run of plain output lines, read at once by the channel of lines without a job if it can.
    fn output_run(&mut self, run: &run::Run<'_>) -> bool {
        let Some(channel) = self.channels.iter_mut().find(|c| c.job.is_none()) else { return false };
        if !channel.output_run(run) {
            return false;
        }
        self.lines += run.lines;
        true
    }

    fn channel(&mut self, job: Option<&[u8]>) -> &mut Channel {
        let job = job.map(trim_end_spaces);
        // Compare without allocating: this runs for every line of the log.
        let found = self.channels.iter().position(|c| c.job.as_deref().map(str::as_bytes) == job);
        let index = match found {
            Some(i) => i,
            None if self.channels.len() < MAX_CHANNELS => {
                self.channels.push(Channel::new(job.map(|j| String::from_utf8_lossy(j).into_owned())));
                self.channels.len() - 1
            }
            None => self.channels.len() - 1,
        };
        &mut self.channels[index]
    }

    fn result(&self, mut builds: Vec<Build>, bytes: u64) -> ParsedLog {
        builds.sort_by_key(|b| b.span[0]);
        if builds.iter().any(channel::builds_a_dockerfile) {
            builds.retain(channel::builds_a_dockerfile);
        }
        let mut problems = self.problems.clone();
        if builds.is_empty() {
            problems.push(Problem::general(self.no_build(bytes)));
        }
        ParsedLog { builds, problems, bytes }
    }
}

impl State {
    /// Why a log reads as no build: what was looked for, and how the log starts, for a bug report.
    fn no_build(&self, bytes: u64) -> String {
        let mut message = format!(
            "not a build log: no BuildKit, classic-builder, podman or Engine API build lines in {bytes} bytes ({} lines)\n  \
             looked for lines starting `#N [..]`, `#0 building with` (BuildKit), `[+] Building` (tty), `Step N/M : ` \
             (classic), `STEP N/M: `, `[k/n] STEP N/M: ` (podman) or BuildKit/Engine API JSON, after CI, act, compose \
             or PowerShell wrappers or a prefix repeated before two of them",
            self.lines
        );
        if !self.head.is_empty() {
            message.push_str("\n  the log starts with:");
        }
        for (i, line) in self.head.iter().enumerate() {
            message.push_str(&format!("\n  {:>3}: {line}", i + 1));
        }
        message
    }
}

/// A raw line as shown in a problem: escaped (control bytes, invalid UTF-8) and cut to `HEAD_CHARS`.
fn escape_head(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw.get(..raw.len().min(HEAD_CHARS * 4)).unwrap_or_default());
    let mut shown: String = text.chars().take(HEAD_CHARS).flat_map(char::escape_debug).collect();
    if text.chars().count() > HEAD_CHARS || raw.len() > HEAD_CHARS * 4 {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

fn trim_end_spaces(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}

/// Bytes asked of the reader per read by `parse_reader` (and `stream::each_build`): one reused buffer.
pub const READ_BYTES: usize = 256 * 1024;

/// Parses a whole log from a reader, in chunks over one reused buffer. A read error ends the log
/// there and is reported as a problem.
pub fn parse_reader(mut reader: impl Read) -> ParsedLog {
    let mut parser = LogParser::new();
    let mut buf = vec![0u8; READ_BYTES];
    let mut error = None;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => parser.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let mut parsed = parser.finish();
    if let Some(e) = error {
        parsed.problems.push(Problem::at(parsed.bytes, format!("reading the log failed here: {e}")));
    }
    parsed
}

/// Parses a log held in memory.
pub fn parse_bytes(bytes: &[u8]) -> ParsedLog {
    let mut parser = LogParser::new();
    parser.feed(bytes);
    parser.finish()
}

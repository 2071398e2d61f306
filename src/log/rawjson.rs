//! Parser for BuildKit `--progress=rawjson`: one `SolveStatus` JSON object per line (log-formats.md §5),
//! merged by the shared `solve_status` core; plus buildx's final `ERROR: failed to solve: …` text line.
//!
//! Hot path: most lines of a big log are `statuses` (transfer progress); a `memmem` prefilter skips them
//! without parsing unless they name the image. Lines are parsed with serde_json into borrowed structs.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use base64::Engine as _;
use memchr::memmem;
use serde::{Deserialize, Serialize};

use super::base64_simd;
use super::line::{End, Fed, Line};
use super::model::{Build, Format};
use super::rawjson_record::LogRecord;
use super::solve_status::{parse_time, LogChunk, Solve, SolveStatus, VertexUpdate, WarningUpdate};

/// Go's encoder writes the fields in struct order, each omitted when empty, so every line starts so.
const PREFIXES: [&[u8]; 4] = [b"{\"vertexes\":[", b"{\"statuses\":[", b"{\"logs\":[", b"{\"warnings\":["];

#[derive(Deserialize)]
struct JsonStatus<'a> {
    #[serde(default, borrow)]
    vertexes: Vec<JsonVertex<'a>>,
    #[serde(default, borrow)]
    statuses: Vec<JsonStatusRow<'a>>,
    #[serde(default, borrow)]
    logs: Vec<JsonLog<'a>>,
    #[serde(default, borrow)]
    warnings: Vec<JsonWarning<'a>>,
}

#[derive(Deserialize)]
struct JsonVertex<'a> {
    #[serde(default, borrow)]
    digest: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Cow<'a, str>,
    #[serde(default, borrow)]
    started: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    completed: Option<Cow<'a, str>>,
    #[serde(default)]
    cached: bool,
    #[serde(default, borrow)]
    error: Cow<'a, str>,
}

#[derive(Deserialize)]
struct JsonStatusRow<'a> {
    #[serde(default, borrow)]
    id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct JsonLog<'a> {
    #[serde(default, borrow)]
    vertex: Cow<'a, str>,
    #[serde(default, borrow)]
    data: Cow<'a, str>,
}

#[derive(Deserialize)]
struct JsonWarning<'a> {
    #[serde(default, borrow)]
    vertex: Cow<'a, str>,
    #[serde(default, borrow)]
    short: Cow<'a, str>,
}

/// State of one build being read; serialisable so a growing log resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parser {
    /// Boxed, like the other large fields, to keep the channel's `Active` enum small.
    head: Box<Build>,
    solve: Box<Solve>,
    /// The decoded `data` of one line's log chunks, reused (its length only grows, up to what one line
    /// of `lines::MAX_LINE` decodes to), so decoding neither allocates nor zeroes per line.
    #[serde(skip)]
    decoded: Vec<u8>,
}

impl Parser {
    /// True when `line` is a SolveStatus JSON line.
    pub fn starts(line: &Line<'_>) -> bool {
        PREFIXES.iter().any(|p| line.text.starts_with(p))
    }

    /// A parser for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Parser {
        Parser { head: Box::new(Build::new(Format::BuildkitRawjson, line.start)), solve: Box::default(), decoded: Vec::new() }
    }

    pub fn feed(&mut self, line: &Line<'_>) -> Fed {
        if Parser::starts(line) {
            return self.json_line(line, true);
        }
        if self.head.error.is_none() && is_final_error(line.text) {
            self.head.error = Some(super::output::text(line.text));
            self.head.span[1] = line.end;
            return Fed::Taken;
        }
        Fed::Ignored
    }

    /// A SolveStatus line; `fast`: the hot record shape is read by hand (tests compare with serde's path).
    fn json_line(&mut self, line: &Line<'_>, fast: bool) -> Fed {
        if fast && self.head.error.is_none() && self.log_record(line) {
            return self.taken(line);
        }
        if !worth_parsing(line.text) {
            return self.taken(line);
        }
        let json: JsonStatus<'_> = match serde_json::from_slice(line.text) {
            Ok(json) => json,
            Err(e) => {
                let why = if line.truncated { "longer than the line limit, cut".to_string() } else { e.to_string() };
                self.solve.problem(line.start, format!("rawjson line not read: {why}"));
                return self.taken(line);
            }
        };
        let mut decoded = std::mem::take(&mut self.decoded);
        let data = self.decode_logs(&json, line.start, &mut decoded);
        let ss = self.convert(&json, line.start, &decoded, &data);
        let new_build = self.head.error.is_some() || self.solve.starts_new_build(&ss);
        if !new_build {
            self.solve.apply(&ss, line.start, line.end);
        }
        drop(ss);
        self.decoded = decoded;
        if new_build {
            return Fed::NewBuild;
        }
        self.taken(line)
    }

    /// The hot record shape (one log chunk) read without serde and decoded into the reused buffer; false
    /// for any other line, or data that is not plain base64 (serde's path then reports it).
    fn log_record(&mut self, line: &Line<'_>) -> bool {
        let Some(record) = LogRecord::read(line.text) else { return false };
        let Ok(n) = base64_simd::decode_into(record.data, &mut self.decoded, 0) else { return false };
        let data = self.decoded.get(..n).unwrap_or_default();
        self.solve.log(record.vertex, data, line.start, line.end);
        true
    }

    fn taken(&mut self, line: &Line<'_>) -> Fed {
        self.head.span[1] = line.end;
        Fed::Taken
    }

    /// Turns the JSON shapes into the shared updates: times parsed, base64 decoded.
    fn convert<'a>(&mut self, json: &'a JsonStatus<'a>, offset: u64, decoded: &'a [u8], data: &[Range<usize>]) -> SolveStatus<'a> {
        let vertexes = json.vertexes.iter().map(|v| self.vertex(v, offset)).collect();
        let status_ids = json.statuses.iter().map(|s| Cow::Borrowed(s.id.as_ref())).collect();
        let logs = json
            .logs
            .iter()
            .zip(data)
            .map(|(l, range)| LogChunk {
                vertex: Cow::Borrowed(&l.vertex),
                data: Cow::Borrowed(decoded.get(range.clone()).unwrap_or_default()),
            })
            .collect();
        let warnings = json
            .warnings
            .iter()
            .map(|w| WarningUpdate { vertex: Cow::Borrowed(&w.vertex), short: self.base64(&w.short, offset) })
            .collect();
        SolveStatus { vertexes, status_ids, logs, warnings }
    }

    fn vertex<'a>(&mut self, v: &'a JsonVertex<'a>, offset: u64) -> VertexUpdate<'a> {
        VertexUpdate {
            digest: Cow::Borrowed(&v.digest),
            name: Cow::Borrowed(&v.name),
            started: v.started.as_deref().and_then(|t| self.time(t, offset)),
            completed: v.completed.as_deref().and_then(|t| self.time(t, offset)),
            cached: v.cached,
            error: Cow::Borrowed(&v.error),
        }
    }

    fn time(&mut self, text: &str, offset: u64) -> Option<i64> {
        let t = parse_time(text);
        if t.is_none() {
            self.solve.problem(offset, format!("unreadable time {:?}", super::output::text(text.as_bytes())));
        }
        t
    }

    /// Decodes each log chunk's `data` into `decoded` (whose length only grows); the range each took.
    fn decode_logs(&mut self, json: &JsonStatus<'_>, offset: u64, decoded: &mut Vec<u8>) -> Vec<Range<usize>> {
        let mut used = 0;
        let mut ranges = Vec::with_capacity(json.logs.len());
        for log in &json.logs {
            let n = match base64_simd::decode_into(log.data.as_bytes(), decoded, used) {
                Ok(n) => n,
                Err(base64::DecodeSliceError::DecodeError(e)) => {
                    self.solve.problem(offset, format!("log data is not base64: {e}"));
                    0
                }
                Err(e) => {
                    self.solve.problem(offset, format!("log data is not base64: {e}"));
                    0
                }
            };
            ranges.push(used..used + n);
            used += n;
        }
        ranges
    }

    fn base64(&mut self, text: &str, offset: u64) -> Cow<'static, [u8]> {
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(bytes) => Cow::Owned(bytes),
            Err(e) => {
                self.solve.problem(offset, format!("log data is not base64: {e}"));
                Cow::Borrowed(&[])
            }
        }
    }

    /// The build as it stands (open steps `running`).
    pub fn snapshot(&self) -> Build {
        let mut build = (*self.head).clone();
        self.solve.fill(&mut build);
        build
    }

    pub fn finish(self, _end: End) -> Build {
        self.snapshot()
    }
}

/// Keys and status ids that make a `statuses` line worth parsing; built once (building a finder per
/// line cost more than the search).
static WORTH: LazyLock<[memmem::Finder<'static>; 4]> = LazyLock::new(|| {
    [b"\"logs\":[" as &[u8], b"\"warnings\":[", b"\"id\":\"naming to ", b"\"id\":\"writing image "].map(memmem::Finder::new)
});

/// Lines with only `statuses` matter only when a status names the image; everything else is parsed.
fn worth_parsing(text: &[u8]) -> bool {
    !text.starts_with(PREFIXES[1]) || WORTH.iter().any(|f| f.find(text).is_some())
}

/// buildx prints the build's error as text on stderr after the JSON lines (§4 final line).
fn is_final_error(text: &[u8]) -> bool {
    text.starts_with(b"ERROR: failed to solve: ") || text.starts_with(b"ERROR: failed to build: ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::model::{BuildResult, StepStatus};

    /// Feeds `lines` as one log to a fresh parser; returns what each line got and the finished build.
    fn run(lines: &[&str]) -> (Vec<Fed>, Build) {
        run_with(lines, true)
    }

    /// `run`, with or without the hand-written reader of the hot record shape.
    fn run_with(lines: &[&str], fast: bool) -> (Vec<Fed>, Build) {
        let mut offset = 0u64;
        let mut parser: Option<Parser> = None;
        let mut fed = Vec::new();
        for text in lines {
            let end = offset + text.len() as u64 + 1;
            let line = Line::synthetic(text.as_bytes(), offset, end);
            let p = parser.get_or_insert_with(|| Parser::new(&line));
            fed.push(if Parser::starts(&line) { p.json_line(&line, fast) } else { p.feed(&line) });
            offset = end;
        }
        (fed, parser.map(|p| p.finish(End::Eof)).unwrap_or_else(|| Build::new(Format::BuildkitRawjson, 0)))
    }

    fn vertex(digest: &str, name: &str, extra: &str) -> String {
        format!(r#"{{"vertexes":[{{"digest":"{digest}","name":"{name}"{extra}}}]}}"#)
    }

    const T0: &str = r#","started":"2026-11-24T04:52:56.5Z""#;
    const T1: &str = r#","started":"2026-11-24T04:52:56.5Z","completed":"2026-11-24T04:52:57.75Z""#;

    #[test]
    fn starts_only_on_solve_status_lines() {
        let starts = |t: &str| Parser::starts(&Line::synthetic(t.as_bytes(), 0, 1));
        assert!(starts(r#"{"vertexes":[]}"#));
        assert!(starts(r#"{"logs":[{"vertex":"x"}]}"#));
        assert!(!starts(r#"{"stream":"Step 1/2"}"#));
        assert!(!starts("the vertexes were fine"));
    }

    #[test]
    fn merges_vertexes_and_counts_log_lines() {
        let log = r#"{"logs":[{"vertex":"a","stream":1,"data":"b25lCnR3","timestamp":"x"}]}"#; // "one\ntw"
        let log2 = r#"{"logs":[{"vertex":"a","data":"bwo="}]}"#; // "o\n"
        let (fed, b) = run(&[&vertex("a", "[1/2] RUN x", ""), &vertex("a", "[1/2] RUN x", T0), log, log2, &vertex("a", "[1/2] RUN x", T1)]);
        assert_eq!(fed, vec![Fed::Taken; 5]);
        let s = &b.steps[0];
        assert_eq!((s.status, s.duration_ms, s.k, s.n), (StepStatus::Executed, Some(1250), Some(1), Some(2)));
        assert_eq!((s.output.lines, s.excerpt.clone()), (2, vec!["one".to_string(), "two".to_string()]));
        assert_eq!(b.result, BuildResult::Success);
        assert_eq!((b.started.as_deref(), b.finished.as_deref()), (Some("2026-11-24T04:52:56.5Z"), Some("2026-11-24T04:52:57.75Z")));
    }

    #[test]
    fn statuses() {
        let canceled = r#","error":"context canceled""#;
        let (_, b) = run(&[
            &vertex("a", "[1/2] RUN x", &format!("{T1}{canceled}")),
            &vertex("b", "[2/2] RUN y", T0),
            &vertex("c", "[3/3] RUN z", ""),
        ]);
        let got: Vec<_> = b.steps.iter().map(|s| s.status).collect();
        assert_eq!(got, vec![StepStatus::Canceled, StepStatus::Running]);
        assert_eq!(b.result, BuildResult::Canceled);
        let (_, b) = run(&[&vertex("a", "[internal] load x", &format!("{T1},\"cached\":true"))]);
        assert_eq!((b.steps[0].status, b.steps[0].duration_ms, b.steps[0].k), (StepStatus::Cached, None, None));
    }

    #[test]
    fn cache_hit_reopened_for_lazy_blobs_stays_cached() {
        let cached = format!("{T1},\"cached\":true");
        let later = r#","started":"2026-11-24T05:00:00Z","completed":"2026-11-24T05:00:04.8Z""#;
        let log = r#"{"logs":[{"vertex":"a","data":"aGkK"}]}"#; // "hi\n"
        let status = |lines: &[&str]| {
            let (_, b) = run(lines);
            (b.steps[0].status, b.steps[0].duration_ms, b.steps[0].finished.clone())
        };
        // Updates without `cached` and no log line since: the lazy blobs pulled, nothing ran.
        let unlazy =
            [vertex("a", "[2/2] COPY a /a", &cached), vertex("a", "[2/2] COPY a /a", &later[..33]), vertex("a", "[2/2] COPY a /a", later)];
        let lines: Vec<&str> = unlazy.iter().map(String::as_str).collect();
        assert_eq!(status(&lines), (StepStatus::Cached, None, Some("2026-11-24T04:52:57.75Z".to_string())));
        // Log lines after the cache hit: it ran again.
        let rerun = [unlazy[0].as_str(), log, unlazy[2].as_str()];
        assert_eq!(status(&rerun), (StepStatus::Executed, Some(4800), Some("2026-11-24T05:00:04.8Z".to_string())));
        // An error after it is its outcome.
        let failed = vertex("a", "[2/2] COPY a /a", &format!("{later},\"error\":\"failed to pull\""));
        assert_eq!(status(&[unlazy[0].as_str(), &failed]).0, StepStatus::Error);
    }

    #[test]
    fn final_error_line_and_new_builds() {
        let def = "[internal] load build definition from Dockerfile";
        let err = "ERROR: failed to solve: process \"/bin/sh -c x\" did not complete successfully: exit code: 1";
        let (fed, b) = run(&[&vertex("a", def, T1), err, "ERROR: again", &vertex("a", def, "")]);
        assert_eq!(fed, vec![Fed::Taken, Fed::Taken, Fed::Ignored, Fed::NewBuild]);
        assert_eq!((b.result, b.error.as_deref()), (BuildResult::Failed, Some(err)));
        assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile"));
        let (fed, _) = run(&[&vertex("a", def, T1), &vertex("s", "[1/1] FROM x", T1), &vertex("a", def, "")]);
        assert_eq!(fed, vec![Fed::Taken, Fed::Taken, Fed::NewBuild]);
        // A `# syntax=` frontend loads the Dockerfile again before any step ran: same build.
        let (fed, _) =
            run(&[&vertex("a", def, T1), &vertex("f", "docker-image://docker.io/docker/dockerfile:1", T1), &vertex("b", def, T0)]);
        assert_eq!(fed, vec![Fed::Taken; 3]);
    }

    #[test]
    fn bad_lines_become_problems() {
        let (fed, b) = run(&[
            r#"{"vertexes":[{"digest":1}]}"#,
            r#"{"logs":[{"vertex":"a","data":"!!"}]}"#,
            "plain text",
            r#"{"vertexes":[{"digest":"a","started":"soon"}]}"#,
        ]);
        assert_eq!(fed, vec![Fed::Taken, Fed::Taken, Fed::Ignored, Fed::Taken]);
        assert_eq!(b.problems.len(), 3, "{:?}", b.problems);
        assert_eq!(b.result, BuildResult::Running);
    }

    #[test]
    fn warnings_attach_to_their_vertex() {
        let w = r#"{"warnings":[{"vertex":"a","level":1,"short":"RW1wdHkgY29udGludWF0aW9uIGxpbmU=","detail":null}]}"#;
        let (_, b) = run(&[&vertex("a", "[1/1] RUN x", T1), w, w]);
        assert_eq!(b.steps[0].warnings, vec!["Empty continuation line".to_string()]);
    }

    #[test]
    fn a_cut_line_is_a_problem() {
        let text = r#"{"logs":[{"vertex":"a","data":"eA"#;
        let mut p = Parser::new(&Line::synthetic(text.as_bytes(), 0, 70_000));
        let line = Line { truncated: true, ..Line::synthetic(text.as_bytes(), 0, 70_000) };
        assert_eq!(p.feed(&line), Fed::Taken);
        assert_eq!(p.finish(End::Eof).problems[0].message, "rawjson line not read: longer than the line limit, cut");
    }

    /// A log record line in Go's shape, or one of its near misses; `data` base64 of some text with newlines,
    /// maybe spoilt.
    fn record() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let text = "([a-z ]{0,40}\n){0,6}[a-z]{0,30}";
        let spoil = prop_oneof![4 => Just(String::new()), 1 => "[!=\\\"é\n-_]"];
        let stream = prop_oneof![Just(String::new()), Just(",\"stream\":1".to_string()), Just(",\"stream\":02".to_string())];
        let stamp = prop_oneof![
            Just(String::new()),
            Just(",\"timestamp\":\"2026-11-24T04:53:25.76Z\"".to_string()),
            Just(",\"timestamp\":\"a\\u0041\"".to_string())
        ];
        let vertex = prop_oneof![Just("a"), Just("b"), Just("a\\u0062"), Just("é")];
        let tail = prop_oneof![4 => Just("}]}"), 1 => Just("},{\"vertex\":\"a\",\"data\":\"eAo=\"}]}"), 1 => Just("}]} ")];
        (vertex, stream, text, 0usize..80, spoil, stamp, tail).prop_map(|(vertex, stream, text, at, spoil, stamp, tail)| {
            let mut data = base64::engine::general_purpose::STANDARD.encode(text.as_bytes().repeat(1 + at % 3));
            let at = at.min(data.len());
            data.replace_range(at..(at + spoil.len().min(1)).min(data.len()), &spoil);
            format!(r#"{{"logs":[{{"vertex":"{vertex}"{stream},"data":"{data}"{stamp}{tail}"#)
        })
    }

    proptest::proptest! {
        /// The hand-written reader of the hot record shape reads what serde reads.
        #[test]
        fn log_records_read_by_hand_equal_serde(records in proptest::collection::vec(record(), 0..12)) {
            let mut lines = vec![vertex("a", "[1/2] RUN x", T0), vertex("b", "[2/2] RUN y", T0)];
            lines.extend(records);
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let (fast_fed, fast) = run_with(&lines, true);
            let (slow_fed, slow) = run_with(&lines, false);
            proptest::prop_assert_eq!(fast_fed, slow_fed);
            proptest::prop_assert_eq!(serde_json::to_string(&fast).ok(), serde_json::to_string(&slow).ok());
        }

        #[test]
        fn never_panics(lines in proptest::collection::vec("\\{\"(vertexes|logs|warnings)\":\\[\\{\"(digest|vertex|name|data|short|started|completed|error)\":\"[a-zA-Z0-9+/=:.\\[\\] -]{0,12}\"\\}\\]\\}|ERROR: failed to solve: x|[ -~]{0,20}", 0..12)) {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let _ = run(&lines);
        }
    }
}

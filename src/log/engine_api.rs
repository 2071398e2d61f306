//! Parser for the Docker Engine API build stream (`POST /build` JSON messages, log-formats.md §5, §7):
//! `{"stream":…}` text chunks, `{"aux":{"ID":…}}`, `{"errorDetail":…,"error":…}`, pull `{"status":…}`
//! rows, and BuildKit's `{"id":"moby.buildkit.trace","aux":"<base64 protobuf StatusResponse>"}`.
//!
//! BuildKit traces go through `protobuf` into the same `solve_status` core as rawjson. Classic-builder
//! `stream` texts are chunks, not lines: they are joined, split on `\n`, unwrapped (stderr chunks carry
//! `ESC[91m`) and fed to an inner `legacy::Parser`.

use std::borrow::Cow;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::{Build, BuildResult, Format, ImageRef, StepStatus};
use super::solve_status::{exit_code, Solve, MAX_PROBLEMS};
use super::{legacy, lines, output, protobuf, unwrap};

const TRACE_PREFIX: &[u8] = b"{\"id\":\"moby.buildkit.trace\",\"aux\":\"";

/// Which builder the stream comes from; decided by its first `stream` or trace message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Mode {
    Unknown,
    BuildKit,
    Classic,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    stream: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, rename = "errorDetail", borrow)]
    error_detail: Option<ErrorDetail<'a>>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(default)]
    aux: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorDetail<'a> {
    #[serde(default, borrow)]
    message: Cow<'a, str>,
}

/// Receives each joined line: `(text, first JSON line start, last JSON line end, truncated)`.
type Emit<'e> = dyn FnMut(&[u8], u64, u64, bool) + 'e;

/// Joins `stream` chunks into lines, remembering which JSON lines each line came from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Chunks {
    pending: Vec<u8>,
    start: u64,
    open: bool,
    truncated: bool,
}

impl Chunks {
    /// Adds one chunk (from the JSON line `start..end`); `emit(text, start, end, truncated)` gets each line.
    fn push(&mut self, mut text: &[u8], start: u64, end: u64, emit: &mut Emit<'_>) {
        while !text.is_empty() {
            if !self.open {
                self.open = true;
                self.start = start;
            }
            let (piece, rest, done) = match memchr::memchr(b'\n', text) {
                Some(i) => (text.get(..i).unwrap_or_default(), text.get(i + 1..).unwrap_or_default(), true),
                None => (text, &[][..], false),
            };
            let room = lines::MAX_LINE.saturating_sub(self.pending.len());
            self.truncated |= piece.len() > room;
            self.pending.extend_from_slice(piece.get(..piece.len().min(room)).unwrap_or_default());
            if done {
                emit(&self.pending, self.start, end, self.truncated);
                self.clear();
            }
            text = rest;
        }
    }

    /// Hands out an unterminated last line, unless nothing shows of it (a lone `ESC[0m`).
    fn flush(&mut self, end: u64, emit: &mut Emit<'_>) {
        let mut scratch = Vec::new();
        if self.open && !unwrap::unwrap(&self.pending, &mut scratch).text.is_empty() {
            emit(&self.pending, self.start, end, self.truncated);
        }
        self.clear();
    }

    fn clear(&mut self) {
        self.pending.clear();
        self.open = false;
        self.truncated = false;
    }
}

/// State of one build being read; serialisable so a growing log resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parser {
    /// Boxed, like the other large fields, to keep the channel's `Active` enum small.
    head: Box<Build>,
    mode: Mode,
    solve: Box<Solve>,
    chunks: Chunks,
    classic: Option<Box<legacy::Parser>>,
    /// An `errorDetail` or image id ended the build: another build's first message is a new build.
    ended: bool,
}

impl Parser {
    /// True when `line` is a build-stream message: a `stream` text or a BuildKit trace.
    pub fn starts(line: &Line<'_>) -> bool {
        let t = line.text;
        t.starts_with(TRACE_PREFIX) || json_key(t, b"stream") || t.starts_with(b"{\"id\":\"moby.image.id\"")
    }

    /// A parser for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Parser {
        let head = Box::new(Build::new(Format::EngineApi, line.start));
        Parser { head, mode: Mode::Unknown, solve: Box::default(), chunks: Chunks::default(), classic: None, ended: false }
    }

    pub fn feed(&mut self, line: &Line<'_>) -> Fed {
        if let Some(aux) = trace_aux(line.text) {
            return self.trace(aux, line);
        }
        if !line.text.starts_with(b"{") {
            return Fed::Ignored;
        }
        let Ok(msg) = serde_json::from_slice::<Message<'_>>(line.text) else {
            if line.truncated && Parser::starts(line) {
                self.solve.problem(line.start, "Engine API message longer than the line limit, cut: not read");
                return self.taken(line);
            }
            return Fed::Ignored;
        };
        self.message(&msg, line)
    }

    fn message(&mut self, msg: &Message<'_>, line: &Line<'_>) -> Fed {
        if let Some(text) = &msg.stream {
            return self.stream(text, line);
        }
        match &msg.aux {
            Some(serde_json::Value::String(aux)) if msg.id.as_deref() == Some("moby.buildkit.trace") => return self.trace(aux, line),
            Some(serde_json::Value::Object(map)) => {
                if let Some(id) = map.get("ID").and_then(|v| v.as_str()) {
                    self.head.image.get_or_insert_with(ImageRef::default).id = Some(id.to_string());
                }
                return self.taken(line);
            }
            _ => {}
        }
        if let Some(error) = msg.error_detail.as_ref().map(|d| d.message.as_ref()).filter(|m| !m.is_empty()).or(msg.error.as_deref()) {
            self.head.error.get_or_insert_with(|| error.to_string());
            self.ended = true;
            return self.taken(line);
        }
        // Pull progress (`status`/`progressDetail`) and other messages: part of the build, nothing to keep.
        if msg.id.is_some() || line.text.starts_with(b"{\"status\":") {
            return self.taken(line);
        }
        Fed::Ignored
    }

    fn trace(&mut self, aux: &str, line: &Line<'_>) -> Fed {
        if self.mode == Mode::Classic || self.ended {
            return Fed::NewBuild;
        }
        self.mode = Mode::BuildKit;
        let bytes = match base64::engine::general_purpose::STANDARD.decode(aux) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.solve.problem(line.start, format!("moby.buildkit.trace is not base64: {e}"));
                return self.taken(line);
            }
        };
        match protobuf::status_response(&bytes) {
            Ok(ss) if self.solve.starts_new_build(&ss) => return Fed::NewBuild,
            Ok(ss) => self.solve.apply(&ss, line.start, line.end),
            Err(e) => self.solve.problem(line.start, format!("moby.buildkit.trace not decoded: {e}")),
        }
        self.taken(line)
    }

    fn stream(&mut self, text: &str, line: &Line<'_>) -> Fed {
        // A classic build prints `Step 1/N` first: after another build's steps it is a new build.
        let steps_seen = self.mode == Mode::BuildKit || self.classic.is_some();
        if steps_seen && text.starts_with("Step 1/") {
            return Fed::NewBuild;
        }
        if self.mode == Mode::Unknown {
            self.mode = Mode::Classic;
        }
        let Parser { chunks, mode, classic, solve, .. } = self;
        let mut sink = Sink { mode: *mode, classic, solve, scratch: Vec::new() };
        chunks.push(text.as_bytes(), line.start, line.end, &mut |text, start, end, cut| sink.line(text, start, end, cut));
        self.taken(line)
    }

    fn taken(&mut self, line: &Line<'_>) -> Fed {
        self.head.span[1] = line.end;
        Fed::Taken
    }

    /// The build as it stands (open steps `running`).
    pub fn snapshot(&self) -> Build {
        self.clone().finish(End::Eof)
    }

    pub fn finish(mut self, end: End) -> Build {
        let Parser { chunks, mode, classic, solve, head, .. } = &mut self;
        let mut sink = Sink { mode: *mode, classic, solve, scratch: Vec::new() };
        chunks.flush(head.span[1], &mut |text, start, end, cut| sink.line(text, start, end, cut));
        match self.mode {
            Mode::Classic => self.classic_build(end),
            _ => self.buildkit_build(),
        }
    }

    fn buildkit_build(self) -> Build {
        let mut build = *self.head;
        let image = build.image.take();
        self.solve.fill(&mut build);
        if let Some(id) = image.and_then(|i| i.id) {
            build.image.get_or_insert_with(ImageRef::default).id = Some(id);
        }
        build
    }

    /// The inner legacy build, re-labelled as this stream's, with the API's error and image id.
    fn classic_build(self, end: End) -> Build {
        let Parser { head, classic, solve, .. } = self;
        let mut build = classic.map(|c| c.finish(end)).unwrap_or_else(|| (*head).clone());
        build.format = Format::EngineApi;
        build.span = head.span;
        build.problems.extend(solve.problems);
        if let Some(id) = head.image.and_then(|i| i.id) {
            build.image.get_or_insert_with(ImageRef::default).id = Some(id);
        }
        if let Some(error) = head.error {
            fail_last_step(&mut build, &error);
            build.result = if error.ends_with("context canceled") { BuildResult::Canceled } else { BuildResult::Failed };
            build.error = Some(error);
        }
        build
    }
}

/// `errorDetail` names no step: the classic builder runs steps one at a time, so it is the last one.
fn fail_last_step(build: &mut Build, error: &str) {
    let Some(step) = build.steps.last_mut() else {
        return;
    };
    if step.error.is_none() && matches!(step.status, StepStatus::Running | StepStatus::Executed) {
        step.status = StepStatus::Error;
        step.error = Some(error.to_string());
        step.exit_code = exit_code(error);
    }
}

/// Where lines joined from `stream` chunks go: the inner legacy parser, or (BuildKit) the tag reader.
struct Sink<'p> {
    mode: Mode,
    classic: &'p mut Option<Box<legacy::Parser>>,
    solve: &'p mut Solve,
    scratch: Vec<u8>,
}

impl Sink<'_> {
    /// One joined line, unwrapped like a log line (stderr chunks carry `ESC[91m` … `ESC[0m`).
    fn line(&mut self, text: &[u8], start: u64, end: u64, truncated: bool) {
        let u = unwrap::unwrap(text, &mut self.scratch);
        let line = Line { text: u.text, start, end, time: None, chatter: false, truncated };
        match self.mode {
            Mode::BuildKit => buildkit_stream_line(self.solve, line.text),
            _ => classic_line(self.classic, self.solve, &line),
        }
    }
}

/// BuildKit builds over the API still send the tag as text.
fn buildkit_stream_line(solve: &mut Solve, text: &[u8]) {
    if let Some(tag) = text.strip_prefix(b"Successfully tagged ") {
        solve.add_tag(output::text(tag).trim());
    }
}

fn classic_line(classic: &mut Option<Box<legacy::Parser>>, solve: &mut Solve, line: &Line<'_>) {
    let inner = match classic {
        Some(inner) => inner,
        None if legacy::Parser::starts(line) => classic.insert(Box::new(legacy::Parser::new(line))),
        None => return,
    };
    if inner.feed(line) == Fed::NewBuild && solve.problems.len() < MAX_PROBLEMS {
        solve.problem(line.start, "a second classic build started inside one API stream without a `Step 1/` chunk; its lines were dropped");
    }
}

/// The base64 payload of a trace message, read without a JSON parse when it has the usual shape.
fn trace_aux(text: &[u8]) -> Option<&str> {
    let rest = text.strip_prefix(TRACE_PREFIX)?;
    let close = memchr::memchr(b'"', rest)?;
    let (aux, tail) = rest.split_at(close);
    if tail != b"\"}" || aux.contains(&b'\\') {
        return None;
    }
    std::str::from_utf8(aux).ok()
}

/// `{"key":` with the spacing of Go (`{"stream":"`) or Python (`{"stream": "`) encoders.
fn json_key(text: &[u8], key: &[u8]) -> bool {
    let Some(rest) = text.strip_prefix(b"{\"").and_then(|r| r.strip_prefix(key)).and_then(|r| r.strip_prefix(b"\":")) else {
        return false;
    };
    rest.trim_ascii_start().starts_with(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::model::Step;

    fn check_chunks(chunks: &[&str], want: &[(&str, u64, u64)]) {
        let mut c = Chunks::default();
        let mut got: Vec<(String, u64, u64)> = Vec::new();
        let mut emit = |t: &[u8], s: u64, e: u64, _| got.push((String::from_utf8_lossy(t).into_owned(), s, e));
        for (i, chunk) in chunks.iter().enumerate() {
            c.push(chunk.as_bytes(), i as u64 * 10, i as u64 * 10 + 10, &mut emit);
        }
        c.flush(chunks.len() as u64 * 10, &mut emit);
        let want: Vec<_> = want.iter().map(|&(t, s, e)| (t.to_string(), s, e)).collect();
        assert_eq!(got, want, "{chunks:?}");
    }

    #[test]
    fn stream_chunks_become_lines() {
        check_chunks(&["Step 1/6 : FROM x", "\n", " ---> 0243\n"], &[("Step 1/6 : FROM x", 0, 20), (" ---> 0243", 20, 30)]);
        check_chunks(&["\x1b[91ma\nb\n\x1b[0m"], &[("\x1b[91ma", 0, 10), ("b", 0, 10)]);
        check_chunks(&["\n\n"], &[("", 0, 10), ("", 0, 10)]);
        check_chunks(&["tail"], &[("tail", 0, 10)]);
        check_chunks(&[], &[]);
    }

    #[test]
    fn long_stream_lines_are_cut_not_kept() {
        let mut c = Chunks::default();
        let big = "x".repeat(lines::MAX_LINE);
        let mut got = Vec::new();
        c.push(big.as_bytes(), 0, 1, &mut |_, _, _, _| {});
        c.push(big.as_bytes(), 1, 2, &mut |_, _, _, _| {});
        c.push(b"\n", 2, 3, &mut |t, _, _, cut| got.push((t.len(), cut)));
        assert_eq!(got, vec![(lines::MAX_LINE, true)]);
    }

    fn starts(text: &str) -> bool {
        Parser::starts(&Line::synthetic(text.as_bytes(), 0, 1))
    }

    #[test]
    fn starts_on_stream_and_trace_messages() {
        assert!(starts(r#"{"stream":"Step 1/2 : FROM x"}"#));
        assert!(starts(r#"{"stream": "Step 1/2 : FROM x"}"#));
        assert!(starts(r#"{"id":"moby.buildkit.trace","aux":"CgA="}"#));
        assert!(!starts(r#"{"status":"Pulling from library/alpine","id":"latest"}"#));
        assert!(!starts(r#"{"streams":1}"#));
        assert!(!starts(r#"{"log":"x","stream":"stdout"}"#));
        assert!(!starts("stream of prose"));
    }

    fn run(lines: &[&str]) -> (Vec<Fed>, Build) {
        let mut parser: Option<Parser> = None;
        let mut fed = Vec::new();
        for (i, text) in lines.iter().enumerate() {
            let line = Line::synthetic(text.as_bytes(), i as u64 * 100, i as u64 * 100 + 100);
            let p = parser.get_or_insert_with(|| Parser::new(&line));
            fed.push(p.feed(&line));
        }
        (fed, parser.map(|p| p.finish(End::Eof)).unwrap_or_else(|| Build::new(Format::EngineApi, 0)))
    }

    #[test]
    fn classic_messages() {
        let err = r#"{"errorDetail":{"code":3,"message":"The command '/bin/sh -c x' returned a non-zero code: 3"},"error":"The command '/bin/sh -c x' returned a non-zero code: 3"}"#;
        let (fed, b) = run(&[
            r#"{"stream":"Step 1/2 : FROM x"}"#,
            r#"{"status":"Pulling fs layer","progressDetail":{},"id":"a1"}"#,
            r#"{"aux":{"ID":"sha256:ab"}}"#,
            err,
            "prose",
            r#"{"stream":"Step 1/2 : FROM x"}"#,
        ]);
        assert_eq!(fed, vec![Fed::Taken, Fed::Taken, Fed::Taken, Fed::Taken, Fed::Ignored, Fed::Taken]);
        assert_eq!((b.format, b.result, b.span), (Format::EngineApi, BuildResult::Failed, [0, 600]));
        assert_eq!(b.error.as_deref(), Some("The command '/bin/sh -c x' returned a non-zero code: 3"));
        assert_eq!(b.image.and_then(|i| i.id).as_deref(), Some("sha256:ab"));
    }

    #[test]
    fn errors_fail_the_last_classic_step() {
        let mut b = Build::new(Format::EngineApi, 0);
        b.steps.push(Step::named("Step 5/6 : RUN x"));
        fail_last_step(&mut b, "The command '/bin/sh -c x' returned a non-zero code: 3");
        assert_eq!((b.steps[0].status, b.steps[0].exit_code), (StepStatus::Error, Some(3)));
    }

    #[test]
    fn bad_traces_become_problems() {
        let (fed, b) = run(&[
            r#"{"id":"moby.buildkit.trace","aux":"!!"}"#,
            r#"{"id":"moby.buildkit.trace","aux":"CgU="}"#,
            r#"{"stream":"Step 1/2 : FROM x\n"}"#,
        ]);
        assert_eq!(fed, vec![Fed::Taken, Fed::Taken, Fed::NewBuild]);
        assert_eq!(b.problems.len(), 2, "{:?}", b.problems);
    }

    /// The same builds captured as an API stream and as rawjson give the same steps.
    #[test]
    fn api_stream_matches_rawjson() {
        let pairs: [(&[u8], &[u8]); 2] = [
            (
                include_bytes!("../../fixtures/logs/engine-api/bk20-api-stream-failing.jsonl"),
                include_bytes!("../../fixtures/logs/rawjson/bk20-rawjson-equivalent-failing.jsonl"),
            ),
            (
                include_bytes!("../../fixtures/logs/engine-api/bk20-api-stream-multistage.jsonl"),
                include_bytes!("../../fixtures/logs/rawjson/bk20-rawjson-equivalent-multistage.jsonl"),
            ),
        ];
        for (api, raw) in pairs {
            let strip = |bytes: &[u8]| {
                let mut b = crate::log::parse_bytes(bytes).builds.remove(0);
                // Offsets are into each file (the cause line's too): the two streams differ there.
                b.steps.iter_mut().for_each(|s| {
                    s.output = Default::default();
                    s.cause.iter_mut().for_each(|c| c.offset = 0);
                });
                (b.steps, b.started, b.finished, b.dockerfile)
            };
            assert_eq!(strip(api), strip(raw));
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec("\\{\"id\":\"moby.buildkit.trace\",\"aux\":\"[A-Za-z0-9+/]{0,40}=?=?\"\\}|\\{\"stream\":\"[ -~]{0,10}(\\\\n)?\"\\}|\\{\"errorDetail\":\\{\"message\":\"x\"\\}\\}|[ -~]{0,20}", 0..12)) {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            let _ = run(&lines);
        }
    }
}

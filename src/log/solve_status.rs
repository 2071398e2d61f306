//! The BuildKit SolveStatus merging core shared by `rawjson` (JSON lines) and `engine_api`
//! (`moby.buildkit.trace` protobuf): vertex updates merged by digest, log chunks split into lines.
//!
//! See log-formats.md §1 and §5: a vertex is re-sent whole whenever it changes (last write wins), log
//! `data` chunks are arbitrary byte slices (the renderer, not BuildKit, splits lines), there is no `#n`.
//! Memory per vertex is bounded: a `StepOutput` ring plus one partial line of at most
//! `PARTIAL_BYTES`, dropped when the vertex completes.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::DateTime;
use memchr::{memchr, memchr_iter, memrchr, memrchr_iter};
use serde::{Deserialize, Serialize};

use super::model::{Build, BuildResult, ImageRef, Problem, Step, StepStatus};
use super::output::{self, StepOutput};
use super::step_name;

/// Nanoseconds since the Unix epoch, UTC.
pub type Nanos = i64;

/// A partial line keeps at most this much: enough for the excerpt to show it cut (`…`).
const PARTIAL_BYTES: usize = output::EXCERPT_LINE_BYTES + 1;
/// Bounds on what one build keeps, whatever the log holds.
const MAX_VERTEXES: usize = 20_000;
const MAX_WARNINGS: usize = 32;
const MAX_TAGS: usize = 16;
pub const MAX_PROBLEMS: usize = 32;

/// One vertex as sent (whole) in an update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VertexUpdate<'a> {
    pub digest: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub started: Option<Nanos>,
    pub completed: Option<Nanos>,
    pub cached: bool,
    /// Empty when the vertex has no error.
    pub error: Cow<'a, str>,
}

/// A chunk of a vertex's process output (not line aligned).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogChunk<'a> {
    pub vertex: Cow<'a, str>,
    pub data: Cow<'a, [u8]>,
}

/// A warning the builder attached to a vertex; `short` is the one-line text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WarningUpdate<'a> {
    pub vertex: Cow<'a, str>,
    pub short: Cow<'a, [u8]>,
}

/// One SolveStatus message, decoded from either wire form. Of the statuses only the ids are kept
/// (`naming to docker.io/library/x:1`, `writing image sha256:…`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolveStatus<'a> {
    pub vertexes: Vec<VertexUpdate<'a>>,
    pub status_ids: Vec<Cow<'a, str>>,
    pub logs: Vec<LogChunk<'a>>,
    pub warnings: Vec<WarningUpdate<'a>>,
}

/// The line being assembled from log chunks: only what a terminal would show of it, bounded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Partial {
    text: Vec<u8>,
    /// Offsets of the log records where the line began and where it was last continued.
    start: u64,
    end: u64,
    open: bool,
    /// The last chunk ended in `\r`: further text overwrites the line (progress bars), a `\n` ends it.
    cr: bool,
}

impl Partial {
    fn append(&mut self, piece: &[u8], start: u64, end: u64) {
        if !self.open {
            self.open = true;
            self.start = start;
            self.cr = false;
            self.text.clear();
        }
        self.end = end;
        let body_len = piece.iter().rposition(|&b| b != b'\r').map_or(0, |i| i + 1);
        let body = piece.get(..body_len).unwrap_or_default();
        if !body.is_empty() {
            let visible = match memrchr(b'\r', body) {
                Some(i) => body.get(i + 1..).unwrap_or_default(),
                None => body,
            };
            if self.cr || visible.len() < body.len() {
                self.text.clear();
            }
            let room = PARTIAL_BYTES.saturating_sub(self.text.len());
            self.text.extend_from_slice(visible.get(..visible.len().min(room)).unwrap_or_default());
        }
        self.cr = body_len < piece.len() || (body.is_empty() && self.cr);
    }

    /// Ends the line: records it in `out` and frees the buffer.
    fn end(&mut self, out: &mut StepOutput) {
        if self.open {
            out.push(&self.text, self.start, self.end);
        }
        *self = Partial::default();
    }
}

/// One vertex as merged so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Vertex {
    digest: String,
    name: String,
    started: Option<Nanos>,
    completed: Option<Nanos>,
    cached: bool,
    error: Option<String>,
    output: StepOutput,
    partial: Partial,
    warnings: Vec<String>,
    /// Output lines when an update said `cached` (see `Vertex::update`).
    #[serde(default)]
    cached_lines: Option<u64>,
}

impl Vertex {
    /// Takes a vertex update. A cache hit re-opened to pull its lazy blobs (`log::cache_hit`) gets
    /// updates without `cached` and no log lines: it stays the cache hit it was, with its times.
    fn update(&mut self, u: &VertexUpdate<'_>) {
        let lines = Some(self.output.range.lines);
        let unlazy = self.cached && self.error.is_none() && self.cached_lines == lines && !u.cached && u.error.is_empty();
        if unlazy {
            return;
        }
        self.started = u.started;
        self.completed = u.completed;
        self.cached = u.cached;
        self.cached_lines = u.cached.then_some(self.output.range.lines);
        self.error = (!u.error.is_empty()).then(|| u.error.to_string());
    }

    /// Vertexes that never started are not shown: BuildKit announces a whole graph, a failed build
    /// never runs the rest (plain output prints nothing for them either).
    fn shown(&self) -> bool {
        !self.name.is_empty() && (self.started.is_some() || self.completed.is_some() || self.cached || self.error.is_some())
    }

    fn status(&self) -> StepStatus {
        match (&self.error, self.completed) {
            (Some(e), _) if e.ends_with("context canceled") => StepStatus::Canceled,
            (Some(_), _) => StepStatus::Error,
            (None, Some(_)) if self.cached => StepStatus::Cached,
            (None, Some(_)) => StepStatus::Executed,
            (None, None) => StepStatus::Running,
        }
    }

    fn step(&self) -> Step {
        let mut step = Step::named(self.name.clone());
        step_name::apply(&mut step);
        step.status = self.status();
        step.started = self.started.and_then(format_time);
        step.finished = self.completed.and_then(format_time);
        if step.status != StepStatus::Cached {
            step.duration_ms = self.started.zip(self.completed).map(|(s, c)| duration_ms(s, c));
        }
        let mut output = self.output.clone();
        let mut partial = self.partial.clone();
        partial.end(&mut output);
        output.fill(&mut step);
        step.error = self.error.clone();
        step.exit_code = step.error.as_deref().and_then(exit_code);
        step.digest = Some(self.digest.clone());
        step.warnings = self.warnings.clone();
        step
    }
}

/// The merged state of one build's SolveStatus stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Solve {
    vertexes: Vec<Vertex>,
    index: HashMap<String, usize>,
    /// A Dockerfile step or export has completed: a new `load build definition` now means a new build.
    work_done: bool,
    image_id: Option<String>,
    tags: Vec<String>,
    pub problems: Vec<Problem>,
}

impl Solve {
    /// Merges one message; `start..end` is the log record it came from.
    pub fn apply(&mut self, ss: &SolveStatus<'_>, start: u64, end: u64) {
        for v in &ss.vertexes {
            self.vertex(v, start);
        }
        for id in &ss.status_ids {
            self.status(id);
        }
        for log in &ss.logs {
            self.log(&log.vertex, &log.data, start, end);
        }
        for w in &ss.warnings {
            self.warning(w, start);
        }
    }

    /// Adds one decoded log chunk of `vertex` (a message with only this chunk is `apply`'d the same).
    pub fn log(&mut self, vertex: &str, data: &[u8], start: u64, end: u64) {
        if let Some(i) = self.slot(vertex, start) {
            if let Some(v) = self.vertexes.get_mut(i) {
                push_log(v, data, start, end);
            }
        }
    }

    /// True when `ss` starts another build: the Dockerfile is loaded again after this build did work.
    /// (A `# syntax=` frontend loads it a second time too, but before any step ran.)
    pub fn starts_new_build(&self, ss: &SolveStatus<'_>) -> bool {
        self.work_done
            && ss.vertexes.iter().any(|v| {
                v.name.starts_with("[internal] load build definition")
                    && self
                        .index
                        .get(v.digest.as_ref())
                        .and_then(|&i| self.vertexes.get(i))
                        .is_none_or(|old| old.completed.is_some() && v.completed.is_none())
            })
    }

    fn slot(&mut self, digest: &str, offset: u64) -> Option<usize> {
        if let Some(&i) = self.index.get(digest) {
            return Some(i);
        }
        if digest.is_empty() || self.vertexes.len() >= MAX_VERTEXES {
            self.problem(offset, format!("vertex update ignored (no digest, or more than {MAX_VERTEXES} vertexes)"));
            return None;
        }
        self.index.insert(digest.to_string(), self.vertexes.len());
        self.vertexes.push(Vertex { digest: digest.to_string(), ..Vertex::default() });
        Some(self.vertexes.len() - 1)
    }

    fn vertex(&mut self, u: &VertexUpdate<'_>, start: u64) {
        let Some(i) = self.slot(&u.digest, start) else {
            return;
        };
        let Some(v) = self.vertexes.get_mut(i) else {
            return;
        };
        if !u.name.is_empty() && v.name != u.name {
            v.name = u.name.to_string();
        }
        v.update(u);
        if v.completed.is_some() {
            // BuildKit ends an unterminated last line when the vertex finishes (printer.go).
            v.partial.end(&mut v.output);
            let parsed = step_name::parse(&v.name);
            self.work_done |= parsed.k.is_some() || v.name.starts_with("exporting");
        }
    }

    fn status(&mut self, id: &str) {
        if let Some(tag) = id.strip_prefix("naming to ") {
            let tag = tag.trim_end_matches(" done").trim();
            if !tag.is_empty() && self.tags.len() < MAX_TAGS && !self.tags.iter().any(|t| t == tag) {
                self.tags.push(tag.to_string());
            }
        } else if let Some(image) = id.strip_prefix("writing image ") {
            self.image_id = Some(image.trim_end_matches(" done").trim().to_string());
        }
    }

    fn warning(&mut self, w: &WarningUpdate<'_>, offset: u64) {
        let Some(i) = self.slot(&w.vertex, offset) else {
            return;
        };
        let Some(v) = self.vertexes.get_mut(i) else {
            return;
        };
        let text = output::text(&w.short).trim().to_string();
        if !text.is_empty() && v.warnings.len() < MAX_WARNINGS && !v.warnings.contains(&text) {
            v.warnings.push(text);
        }
    }

    /// Records a tag learnt outside the SolveStatus stream (`Successfully tagged x:1` over the engine
    /// API), unless BuildKit already named it in full (`docker.io/library/x:1`).
    pub fn add_tag(&mut self, tag: &str) {
        if !self.tags.iter().any(|t| t.strip_suffix(tag).is_some_and(|head| head.is_empty() || head.ends_with('/'))) {
            self.status(&format!("naming to {tag}"));
        }
    }

    pub fn set_image_id(&mut self, id: &str) {
        self.image_id = Some(id.to_string());
    }

    pub fn problem(&mut self, offset: u64, message: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem::at(offset, message));
        }
    }

    /// Fills `build` (whose `error` is already set) with steps, times, image and result.
    pub fn fill(&self, build: &mut Build) {
        build.steps = self.vertexes.iter().filter(|v| v.shown()).map(Vertex::step).collect();
        step_name::split_services(&mut build.steps);
        build.started = self.vertexes.iter().filter_map(|v| v.started).min().and_then(format_time);
        build.finished = self.vertexes.iter().filter_map(|v| v.completed).max().and_then(format_time);
        build.dockerfile =
            self.vertexes.iter().find_map(|v| v.name.strip_prefix("[internal] load build definition from ")).map(str::to_string);
        if self.image_id.is_some() || !self.tags.is_empty() {
            build.image = Some(ImageRef { id: self.image_id.clone(), tags: self.tags.clone() });
        }
        build.problems.extend(self.problems.iter().cloned());
        let open = self.vertexes.iter().any(|v| v.completed.is_none() && v.error.is_none());
        build.result = result(build, open);
        if build.result == BuildResult::Running {
            build.finished = None;
        }
    }
}

/// The build's outcome: a real error wins over cancellation, which wins over an unfinished log.
fn result(build: &Build, open: bool) -> BuildResult {
    let canceled_error = build.error.as_deref().is_some_and(|e| e.ends_with("context canceled"));
    let statuses = || build.steps.iter().map(|s| s.status);
    if statuses().any(|s| s == StepStatus::Error) || (build.error.is_some() && !canceled_error) {
        BuildResult::Failed
    } else if canceled_error || statuses().any(|s| s == StepStatus::Canceled) {
        BuildResult::Canceled
    } else if open || build.steps.is_empty() {
        BuildResult::Running
    } else {
        BuildResult::Success
    }
}

/// Splits a log chunk into lines on the vertex; an unterminated end is kept as the partial line. Of the
/// whole lines after the first, only the last `EXCERPT_LINES` can stay in the excerpt: the ones before
/// them are counted, not copied.
fn push_log(v: &mut Vertex, data: &[u8], start: u64, end: u64) {
    let mut rest = data;
    if let Some(i) = memchr(b'\n', rest) {
        v.partial.append(rest.get(..i).unwrap_or_default(), start, end);
        v.partial.end(&mut v.output);
        rest = rest.get(i + 1..).unwrap_or_default();
        let total = memchr_iter(b'\n', rest).count();
        let skipped = total.saturating_sub(output::EXCERPT_LINES);
        // The last skipped newline, found from the end (a few hits) rather than by a second pass.
        let last_skipped = (skipped > 0).then(|| memrchr_iter(b'\n', rest).nth(total - skipped)).flatten();
        if let Some(after) = last_skipped {
            v.output.count_lines(skipped as u64, start, end);
            rest = rest.get(after + 1..).unwrap_or_default();
        }
    }
    while let Some(i) = memchr(b'\n', rest) {
        let piece = rest.get(..i).unwrap_or_default();
        v.partial.append(piece, start, end);
        v.partial.end(&mut v.output);
        rest = rest.get(i + 1..).unwrap_or_default();
    }
    if !rest.is_empty() {
        v.partial.append(rest, start, end);
    }
}

/// Milliseconds from `start` to `end`, rounded; 0 when the clock went backwards.
fn duration_ms(start: Nanos, end: Nanos) -> u64 {
    let ns = end.saturating_sub(start).max(0);
    u64::try_from(ns.saturating_add(500_000) / 1_000_000).unwrap_or(0)
}

/// The exit code at the end of an error: `… exit code: 3` (BuildKit), `… returned a non-zero code: 3` (classic).
pub fn exit_code(error: &str) -> Option<i32> {
    let tail = ["exit code: ", "returned a non-zero code: "].iter().find_map(|m| error.rfind(m).and_then(|i| error.get(i + m.len()..)))?;
    tail.trim_end().parse().ok()
}

/// Reads an RFC 3339 time with any fraction length and offset (Go's RFC3339Nano trims zeros).
pub fn parse_time(s: &str) -> Option<Nanos> {
    DateTime::parse_from_rfc3339(s).ok()?.timestamp_nanos_opt()
}

/// Formats like Go's RFC3339Nano in UTC: fraction with trailing zeros trimmed, none when whole.
pub fn format_time(t: Nanos) -> Option<String> {
    let secs = t.div_euclid(1_000_000_000);
    let nanos = u32::try_from(t.rem_euclid(1_000_000_000)).ok()?;
    let time = DateTime::from_timestamp(secs, nanos)?;
    let mut s = time.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos > 0 {
        let fraction = format!(".{nanos:09}");
        s.push_str(fraction.trim_end_matches('0'));
    }
    s.push('Z');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> (u64, Vec<String>) {
        let mut v = Vertex::default();
        for (i, c) in chunks.iter().enumerate() {
            push_log(&mut v, c, i as u64 * 10, i as u64 * 10 + 10);
        }
        let step = Vertex { name: "x".into(), ..v }.step();
        (step.output.lines, step.excerpt)
    }

    fn check(chunks: &[&[u8]], lines: u64, excerpt: &[&str]) {
        let (n, ex) = lines_of(chunks);
        assert_eq!((n, ex.iter().map(String::as_str).collect::<Vec<_>>()), (lines, excerpt.to_vec()), "{chunks:?}");
    }

    #[test]
    fn log_chunks_become_lines() {
        check(&[b"a\nb\n"], 2, &["a", "b"]);
        check(&[b"a", b"b\nc"], 2, &["ab", "c"]);
        check(&[b"", b"\n"], 1, &[""]);
        check(&[b"x\r\n"], 1, &["x"]);
        check(&[b"10%\r", b"50%\r", b"done\n"], 1, &["done"]);
        check(&[b"10%\r50%\n"], 1, &["50%"]);
        check(&[b"a\r", b"\n"], 1, &["a"]);
        check(&[&[b'x'; 5000], b"\n"], 1, &[&format!("{}…", "x".repeat(400))]);
        check(&[], 0, &[]);
    }

    /// A chunk of many lines (whose first ones are only counted) gives what the same bytes give when
    /// each arrives in a chunk of its own, whatever the cut: line count, range and excerpt.
    #[test]
    fn many_lines_in_one_chunk_equal_one_line_per_chunk() {
        let text: String = (0..40).map(|i| if i % 7 == 3 { format!("{i}%\r{i} done\r\n") } else { format!("line {i}\n") }).collect();
        let step_of = |chunks: Vec<&[u8]>| {
            let mut v = Vertex::default();
            for c in chunks {
                push_log(&mut v, c, 5, 9);
            }
            Vertex { name: "x".into(), ..v }.step()
        };
        let bytes = text.as_bytes();
        let one_by_one = step_of(bytes.split_inclusive(|&b| b == b'\n').collect());
        assert_eq!(one_by_one.output.lines, 40);
        for cut in [0, 1, 6, 50, bytes.len() - 3, bytes.len()] {
            let (head, tail) = bytes.split_at(cut);
            let together = step_of(vec![b"", head, tail, b"trailing"]);
            let each = step_of(bytes.split_inclusive(|&b| b == b'\n').chain([b"trailing" as &[u8]]).collect());
            assert_eq!((together.output, &together.excerpt), (each.output, &each.excerpt), "cut at {cut}");
        }
        assert_eq!(one_by_one.excerpt.last().map(String::as_str), Some("line 39"));
    }

    #[test]
    fn partial_line_range_starts_at_its_first_record() {
        let mut v = Vertex::default();
        push_log(&mut v, b"ab", 100, 150);
        push_log(&mut v, b"c\n", 150, 200);
        assert_eq!((v.output.range.start, v.output.range.end, v.output.range.lines), (100, 200, 1));
    }

    #[test]
    fn times_and_codes() {
        let t = parse_time("2026-11-24T04:52:56.5259Z").unwrap();
        assert_eq!(format_time(t).as_deref(), Some("2026-11-24T04:52:56.5259Z"));
        assert_eq!(format_time(parse_time("2026-11-24T05:52:56+01:00").unwrap()).as_deref(), Some("2026-11-24T04:52:56Z"));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(duration_ms(0, 1_499_999), 1);
        assert_eq!(duration_ms(10, 0), 0);
        assert_eq!(exit_code("process \"/bin/sh -c x\" did not complete successfully: exit code: 3"), Some(3));
        assert_eq!(exit_code("The command '/bin/sh -c x' returned a non-zero code: 2"), Some(2));
        assert_eq!(exit_code("exit code: 99999999999"), None);
        assert_eq!(exit_code("no"), None);
    }

    #[test]
    fn api_tags_do_not_repeat_buildkit_ones() {
        let mut solve = Solve::default();
        solve.status("naming to docker.io/library/x:1");
        solve.add_tag("x:1");
        solve.add_tag("library/x:1");
        solve.add_tag("other/x:1");
        solve.add_tag("y:1");
        assert_eq!(solve.tags, vec!["docker.io/library/x:1", "other/x:1", "y:1"]);
    }
}

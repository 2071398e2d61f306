//! An independent step counter: a second, deliberately simple reading of build logs, to compare with the
//! parser. It unwraps each line plainly (UTF-16 when the bytes say so, CR, ANSI, a leading ISO or Go `log`
//! timestamp, act's `[wf/job]   | `, an ssh action's `err: ` / `out: `, Engine API `{"stream":…}` lines),
//! then a few regexes find, per build, the `[k/n]` / `Step N/M` / `STEP N/M` step headers and each step's
//! last `CACHED` / `DONE` / `ERROR` / `CANCELED` (BuildKit plain and tty, rawjson vertexes), or the
//! sequential markers of the classic builder and podman. It shares no code with `src/log`.
//!
//! It does not demultiplex builds that print into one stream at the same time: a log where a second build
//! starts before the first printed a step is `interleaved`, and only its distinct headers are counted.

#![allow(dead_code)] // each test crate uses a different part

use std::collections::BTreeMap;

use regex::Regex;

/// What a step ended as, as far as the counter can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seen {
    Running,
    Cached,
    Done,
    Error,
    Canceled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Tty,
    Rawjson,
    Legacy,
    Podman,
}

/// One build: its steps by key (the bracket text without padding, `Step k/n`, `[i] STEP k/n`).
#[derive(Debug, Clone)]
pub struct Counted {
    pub kind: Kind,
    /// Index of the unwrapped line where the build started (orders builds of several act jobs).
    pub start: usize,
    pub steps: BTreeMap<String, Seen>,
}

impl Counted {
    pub fn count(&self, seen: Seen) -> usize {
        self.steps.values().filter(|s| **s == seen).count()
    }
}

#[derive(Debug, Default)]
pub struct Tally {
    /// Builds with at least one step, in order.
    pub builds: Vec<Counted>,
    /// Two builds printed at once (see the module comment): compare `distinct_headers` only.
    pub interleaved: bool,
    /// Distinct `key instruction` headers over the whole log.
    pub headers: std::collections::BTreeSet<String>,
    /// Lines the counter cannot read (Engine API BuildKit traces are protobuf).
    pub uncountable: bool,
}

struct Res {
    ansi: Regex,
    iso: Regex,
    go_date: Regex,
    act: Regex,
    plain_header: Regex,
    plain_status: Regex,
    glued_status: Regex,
    tty_row: Regex,
    tty_building: Regex,
    legacy_header: Regex,
    podman_header: Regex,
    image_id: Regex,
    seq_error: Regex,
}

fn res() -> Res {
    let r = |s: &str| Regex::new(s).expect("counter regex");
    Res {
        ansi: r(r"\x1b\[[0-9;?]*[A-Za-z]"),
        iso: r(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ?"),
        go_date: r(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(\.\d+)? "),
        act: r(r"^(\[[^\]\n]*/[^\]\n]*\])\s+(?:\||\[DEBUG\])\s?"),
        plain_header: r(r"^#(\d+|\*+) \[([^\]]*?)\s*(\d+)/(\d+)\] (.*)$"),
        plain_status: r(r"^#(\d+|\*+) (CACHED|DONE|ERROR|CANCELED)\b"),
        // BuildKit v0.8 glues `#N DONE 0.0s` onto output that ended without a newline
        glued_status: r(r"\S#(\d+) (CACHED|DONE|CANCELED)( \d+(?:\.\d+)?s)?\s*$"),
        tty_row: r(r"^\s*=> (CACHED |ERROR |CANCELED )?\[([^\]]*?)\s*(\d+)/(\d+)\] (.*)$"),
        tty_building: r(r"^\[\+\] Building (\d+(?:\.\d+)?)s \(\d+/\d+\)( FINISHED)?"),
        legacy_header: r(r"^Step (\d+)/(\d+) : (.*)$"),
        podman_header: r(r"^(?:\[(\d+)/\d+\] )?STEP (\d+)/(\d+): (.*)$"),
        image_id: r(r"^ ?--?-> ([0-9a-f]{10,64})\s*$"),
        seq_error: r(
            r"(returned a non-zero code|^COPY failed|^ADD failed|^Error: |^Error response from daemon|^ERROR[: ]|^error building|^failed to create shim)",
        ),
    }
}

/// The log's text: UTF-16LE/BE by BOM or by NULs in every other byte, else UTF-8 (lossy).
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = |le: bool, b: &[u8]| {
        let units: Vec<u16> =
            b.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) }).collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(true, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(false, rest);
    }
    let head = &bytes[..bytes.len().min(512)];
    let odd_nuls = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if head.len() >= 8 && odd_nuls * 2 >= head.len() / 2 {
        return utf16(true, bytes);
    }
    let text = String::from_utf8_lossy(bytes).into_owned();
    text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text)
}

/// One physical line made plain; Engine API JSON lines give their `stream` text (several lines).
fn unwrap_line(re: &Res, raw: &str, out: &mut Vec<(String, String)>, uncountable: &mut bool) {
    let mut job = String::new();
    let line = raw.trim_end_matches('\r');
    let line = re.ansi.replace_all(line, "");
    let mut line: &str = &line;
    if line.starts_with("{\"") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            if let Some(s) = v.get("stream").and_then(|s| s.as_str()) {
                out.extend(
                    s.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).map(|l| (String::new(), l.to_owned())),
                );
            } else if v.get("id").and_then(|s| s.as_str()) == Some("moby.buildkit.trace") {
                *uncountable = true;
            } else if let Some(e) = v.get("error").and_then(|s| s.as_str()) {
                out.push((job, format!("ERROR: {e}")));
            } else {
                out.push((job, line.to_owned())); // rawjson: read whole later
            }
            return;
        }
    }
    for _ in 0..3 {
        let before = line.len();
        for prefix in [&re.iso, &re.go_date] {
            if let Some(m) = prefix.find(line) {
                line = &line[m.end()..];
            }
        }
        // act: each `[workflow/job]` is a stream of its own
        if let Some(c) = re.act.captures(line) {
            job = c[1].to_owned();
            line = &line[c.get(0).map_or(0, |m| m.end())..];
        }
        for p in ["err: ", "out: "] {
            line = line.strip_prefix(p).unwrap_or(line);
        }
        if line.len() == before {
            break;
        }
    }
    out.push((job, line.to_owned()));
}

/// Counts the steps of every build in `bytes`.
pub fn count(bytes: &[u8]) -> Tally {
    let re = res();
    let text = decode(bytes);
    let mut lines = Vec::new();
    let mut tally = Tally::default();
    for raw in text.split('\n') {
        unwrap_line(&re, raw, &mut lines, &mut tally.uncountable);
    }
    let mut streams: BTreeMap<String, State> = BTreeMap::new();
    for (at, (job, line)) in lines.iter().enumerate() {
        let st = streams.entry(job.clone()).or_default();
        st.at = at;
        st.line(&re, line);
    }
    let mut builds = Vec::new();
    for mut st in streams.into_values() {
        st.close_build();
        tally.interleaved |= st.interleaved;
        tally.headers.extend(st.headers);
        builds.extend(st.builds.into_iter().filter(|b| !b.steps.is_empty()));
    }
    builds.sort_by_key(|b| b.start);
    tally.builds = builds;
    tally
}

#[derive(Default)]
struct State {
    builds: Vec<Counted>,
    cur: Option<Counted>,
    /// BuildKit plain: vertex number -> step key, in the current build.
    vertices: BTreeMap<String, String>,
    /// The open step of the classic builder / podman.
    open: Option<String>,
    /// rawjson: digest -> key.
    digests: BTreeMap<String, String>,
    tty_last_secs: f64,
    /// Index of the line being read.
    at: usize,
    tty_finished: bool,
    /// Builds started (`#0 building with`) since the last step header.
    starts_without_steps: u32,
    interleaved: bool,
    headers: std::collections::BTreeSet<String>,
}

impl State {
    fn close_build(&mut self) {
        if let Some(b) = self.cur.take() {
            self.builds.push(b);
        }
        self.vertices.clear();
        self.digests.clear();
        self.open = None;
    }

    fn start(&mut self, kind: Kind) {
        self.close_build();
        self.cur = Some(Counted { kind, start: self.at, steps: BTreeMap::new() });
    }

    fn build(&mut self, kind: Kind) -> &mut Counted {
        if self.cur.as_ref().is_none_or(|b| b.kind != kind) {
            self.start(kind);
        }
        let start = self.at;
        self.cur.get_or_insert_with(|| Counted { kind, start, steps: BTreeMap::new() })
    }

    fn has_steps(&self) -> bool {
        self.cur.as_ref().is_some_and(|b| !b.steps.is_empty())
    }

    fn line(&mut self, re: &Res, line: &str) {
        if line.starts_with("{\"") {
            return self.rawjson(line);
        }
        if line.starts_with("#0 building with") {
            self.starts_without_steps += 1;
            if self.starts_without_steps > 1 {
                self.interleaved = true;
            }
            return self.start(Kind::Plain);
        }
        if line.starts_with("#1 [") && line.contains("load build definition") && self.has_steps() {
            self.start(Kind::Plain);
        }
        if let Some(c) = re.plain_header.captures(line) {
            self.starts_without_steps = 0;
            let key = key_of(&c[2], &c[3], &c[4]);
            self.headers.insert(format!("{key} {}", collapse(&c[5])));
            let vertex = c[1].to_owned();
            let renamed = self.vertices.get(&vertex).is_some_and(|first| *first != key);
            let b = self.build(Kind::Plain);
            if !renamed {
                b.steps.entry(key.clone()).or_insert(Seen::Running);
            }
            // A vertex printed again under another name (shared by two compose services) stays one step,
            // under the name it was first printed with.
            self.vertices.entry(vertex).or_insert(key);
            return;
        }
        if let Some(c) = re.plain_status.captures(line).or_else(|| re.glued_status.captures(line)) {
            let seen = match &c[2] {
                "CACHED" => Seen::Cached,
                "DONE" => Seen::Done,
                "ERROR" => Seen::Error,
                _ => Seen::Canceled,
            };
            if let Some(key) = self.vertices.get(&c[1]).cloned() {
                if let Some(b) = self.cur.as_mut() {
                    b.steps.insert(key, seen);
                }
            }
            return;
        }
        self.tty(re, line);
        self.sequential(re, line);
    }

    fn tty(&mut self, re: &Res, line: &str) {
        if let Some(c) = re.tty_building.captures(line) {
            let secs: f64 = c[1].parse().unwrap_or(0.0);
            if self.tty_finished && c.get(2).is_none() || secs < self.tty_last_secs {
                self.start(Kind::Tty);
            }
            self.tty_last_secs = secs;
            self.tty_finished = c.get(2).is_some();
            return;
        }
        if let Some(c) = re.tty_row.captures(line) {
            let key = key_of(&c[2], &c[3], &c[4]);
            let text = collapse(&c[5]);
            let text = if has_duration(&text) { text.rsplit_once(' ').map_or("", |t| t.0).to_owned() } else { text };
            self.headers.insert(format!("{key} {text}"));
            let seen = match c.get(1).map(|m| m.as_str().trim()) {
                Some("CACHED") => Seen::Cached,
                Some("ERROR") => Seen::Error,
                Some("CANCELED") => Seen::Canceled,
                _ if has_duration(&c[5]) => Seen::Done,
                _ => Seen::Running,
            };
            self.build(Kind::Tty).steps.insert(key, seen);
        }
    }

    fn sequential(&mut self, re: &Res, line: &str) {
        let header = if let Some(c) = re.legacy_header.captures(line) {
            Some((Kind::Legacy, format!("Step {}/{}", &c[1], &c[2]), &c[1] == "1", c.get(3)))
        } else if let Some(c) = re.podman_header.captures(line) {
            let key = match c.get(1) {
                Some(i) => format!("[{}] STEP {}/{}", i.as_str(), &c[2], &c[3]),
                None => format!("STEP {}/{}", &c[2], &c[3]),
            };
            Some((Kind::Podman, key, &c[2] == "1" && c.get(1).is_none_or(|i| i.as_str() == "1"), c.get(4)))
        } else {
            None
        };
        if let Some((kind, key, first, text)) = header {
            self.headers.insert(format!("{key} {}", collapse(text.map_or("", |m| m.as_str()))));
            if first && self.has_steps() || self.cur.as_ref().is_some_and(|b| b.kind != kind) {
                self.start(kind);
            }
            self.finish_open(Seen::Done);
            self.build(kind).steps.insert(key.clone(), Seen::Running);
            self.open = Some(key);
            return;
        }
        let Some(kind) = self.cur.as_ref().map(|b| b.kind).filter(|k| matches!(k, Kind::Legacy | Kind::Podman)) else { return };
        let trimmed = line.trim_start();
        if trimmed.starts_with("---> Using cache") || trimmed.starts_with("--> Using cache") {
            self.finish_open(Seen::Cached);
        } else if re.image_id.is_match(line) || kind == Kind::Podman && line.contains("] COMMIT ") || line.starts_with("COMMIT") {
            self.finish_open(Seen::Done);
        } else if re.seq_error.is_match(line) {
            self.finish_open(Seen::Error);
        } else if line.starts_with("Build cancelled") || line.contains("context canceled") {
            self.finish_open(Seen::Canceled);
        }
    }

    /// Ends the open sequential step: a cached one stays cached.
    fn finish_open(&mut self, seen: Seen) {
        if let (Some(key), Some(b)) = (self.open.take(), self.cur.as_mut()) {
            let now = b.steps.entry(key).or_insert(Seen::Running);
            if *now != Seen::Cached {
                *now = seen;
            }
        }
    }

    /// A rawjson `SolveStatus` line: vertexes with name, cached, completed, error.
    fn rawjson(&mut self, line: &str) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { return };
        let Some(vertexes) = v.get("vertexes").and_then(|x| x.as_array()) else { return };
        let re = Regex::new(r"^\[([^\]]*?)\s*(\d+)/(\d+)\] (.*)$").expect("regex");
        for vx in vertexes {
            let name = vx.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let digest = vx.get("digest").and_then(|n| n.as_str()).unwrap_or("").to_owned();
            if name.contains("load build definition") && self.has_steps() && !self.digests.contains_key(&digest) {
                self.start(Kind::Rawjson);
            }
            let Some(c) = re.captures(name) else { continue };
            let flag0 = |f: &str| vx.get(f).is_some_and(|x| !x.is_null() && x != false && x != "");
            if !["started", "cached", "completed", "error"].iter().any(|f| flag0(f)) && !self.digests.contains_key(&digest) {
                continue; // sent with the graph, never started: not a step that ran
            }
            let key = key_of(&c[1], &c[2], &c[3]);
            self.headers.insert(format!("{key} {}", collapse(&c[4])));
            let flag = |f: &str| vx.get(f).is_some_and(|x| !x.is_null() && x != false && x != "");
            let seen = if flag("error") {
                if vx["error"].as_str().is_some_and(|e| e.contains("context canceled")) {
                    Seen::Canceled
                } else {
                    Seen::Error
                }
            } else if flag("cached") {
                Seen::Cached
            } else if flag("completed") {
                Seen::Done
            } else {
                Seen::Running
            };
            self.digests.insert(digest, key.clone());
            let b = self.build(Kind::Rawjson);
            let now = b.steps.entry(key).or_insert(Seen::Running);
            if seen != Seen::Running || *now == Seen::Running {
                *now = seen;
            }
        }
    }
}

/// `linux/arm64 stage-0  9/17` -> `linux/arm64 stage-0 9/17`.
fn key_of(prefix: &str, k: &str, n: &str) -> String {
    let mut words: Vec<String> = prefix.split_whitespace().map(str::to_owned).collect();
    words.push(format!("{k}/{n}"));
    words.join(" ")
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A tty row ends in its elapsed time (`  0.3s`).
fn has_duration(rest: &str) -> bool {
    let last = rest.split_whitespace().last().unwrap_or("");
    last.strip_suffix('s').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.' || c == 'm'))
}

//! Property tests of the log parsers on hostile input: random bytes and random mixes of real-format line
//! fragments (plain, tty, legacy, podman, rawjson, engine API, wrappers, odd encodings, huge numbers).
//! Properties: no panic; chunked feeding and resuming from a checkpoint give the one-pass result; every
//! offset stays inside the log. `PROPTEST_CASES=10000 cargo test --test fuzz_parsers` for a longer run.

use base64::Engine as _;
use buildlens::log::{parse_bytes, LogParser, ParsedLog};
use proptest::prelude::*;
use proptest::sample::Index;

// Line templates by format; each `{}` is replaced by a generated number (small, huge, empty or negative).

/// BuildKit plain (§2).
const PLAIN: &[&str] = &[
    "#{} [internal] load build definition from Dockerfile",
    "#{} [internal] load metadata for docker.io/library/alpine:3",
    "#{} [stage-{} {}/{}] RUN make -j2",
    "#{} [{}/{}] FROM docker.io/library/alpine@sha256:0123",
    "#{} [ {}/{}] COPY . /src",
    "#{} [linux/amd64 builder {}/{}] RUN go build",
    "#{} [web {}/{}] RUN npm ci",
    "#{} {}.12 compiling foo.c",
    "#{} {}.{} [8/9] look-alike from a tool",
    "#{} DONE {}.0s",
    "#{} CACHED",
    "#{} ERROR: process \"/bin/sh -c exit {}\" did not complete successfully: exit code: {}",
    "#{} ERROR: executor failed running [/bin/sh -c x]: exit code: {}",
    "#{} CANCELED",
    "#{} ...",
    "#{} sha256:8de18f682f05aff36ba24e8801a45ccb7eab593963fb2996dac4f9d1dc709ab4",
    "#{} transferring context: {}B {}.0s done",
    "#{} WARN: Empty continuation line found in: RUN x",
    "#{} 0.045 last line without newline#{} DONE 0.0s",
    "#0 building with \"default\" instance using docker driver",
    "##[error]buildx failed with: ERROR: failed to solve: x",
    "##[group]Run docker build .",
    "\u{FEFF}#{} [{}/{}] RUN x",
];

/// The error summary and source snippet of a failed BuildKit build (§2.2, §4).
const SUMMARY: &[&str] = &[
    "------",
    " > [{}/{}] RUN make:",
    " > [stage-{} {}/{}] RUN x:",
    "{}.12 summary line",
    "Dockerfile:{}",
    "--------------------",
    "  {} | >>> RUN make",
    "  {} |     RUN true",
    "ERROR: failed to build: failed to solve: process \"/bin/sh -c make\" did not complete successfully: exit code: {}",
    "ERROR: failed to solve: Canceled: context canceled",
    "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line {}",
    "##[error]buildx failed with: ERROR: failed to solve: x",
];

/// Classic builder (§7).
const LEGACY: &[&str] = &[
    "Step {}/{} : RUN make",
    "Step {} : FROM alpine",
    " ---> Using cache",
    " ---> Running in 0123456789ab",
    " ---> 0123456789ab",
    "Removing intermediate container 0123456789ab",
    "Successfully built 0123456789ab",
    "Successfully tagged x:{}",
    "The command '/bin/sh -c make' returned a non-zero code: {}",
    "Sending build context to Docker daemon  {}.632kB",
    r#"{"stream":"Step {}/{} : RUN x\n"}"#,
    r#"{"stream":" ---> Running in 0123456789ab\n\u001b[91mline\n"}"#,
    r#"{"errorDetail":{"code":{},"message":"The command returned a non-zero code: {}"},"error":"x"}"#,
];

/// podman / buildah (§11).
const PODMAN: &[&str] = &[
    "[{}/{}] STEP {}/{}: FROM a AS b",
    "STEP {}/{}: RUN x",
    "--> 0123456789a",
    "--> Using cache 0123456789abcdef",
    "[{}/{}] COMMIT x",
    "Error: building at STEP \"RUN x\": while running runtime: exit status {}",
];

/// BuildKit tty frames (§6).
const TTY: &[&str] = &[
    "[+] Building {}.0s ({}/{}) FINISHED",
    " => [{}/{}] RUN make  {}.1s",
    " => ERROR [{}/{}] RUN x  0.1s",
    " => CACHED [{}/{}] COPY . .  0.0s",
    " => => # output line {}",
    "\x1b[1A\x1b[0G\x1b[?25l[+] Building {}.1s ({}/{})",
];

/// rawjson and Engine API JSON lines (§5, §7).
const JSON: &[&str] = &[
    r#"{"vertexes":[{"digest":"sha256:{}","name":"[{}/{}] RUN x","started":"2024-01-01T00:00:0{}.1Z"}]}"#,
    r#"{"vertexes":[{"digest":"sha256:{}","name":"[{}/{}] RUN x","started":"2024-01-01T00:00:00Z","completed":"2024-01-01T00:00:0{}Z","error":"exit code: {}"}]}"#,
    r#"{"vertexes":[{"digest":"sha256:{}","name":"[internal] load .dockerignore","cached":true,"completed":"{}"}]}"#,
    r#"{"logs":[{"vertex":"sha256:{}","stream":1,"data":"aGVsbG8Kd29y","timestamp":"2024-01-01T00:00:0{}Z"}]}"#,
    r#"{"logs":[{"vertex":"sha256:{}","data":"!!not base64{}","timestamp":"x"}]}"#,
    r#"{"statuses":[{"id":"transferring context:","vertex":"sha256:{}","current":{},"timestamp":"x"}]}"#,
    r#"{"stream":"Step {}/{} : RUN x\n"}"#,
    r#"{"stream":" ---> Running in 0123456789ab\n\u001b[91mline\n"}"#,
    r#"{"stream":"\n"}"#,
    r#"{"aux":{"ID":"sha256:{}"}}"#,
    r#"{"errorDetail":{"code":{},"message":"The command returned a non-zero code: {}"},"error":"x"}"#,
    r#"{"id":"moby.buildkit.trace","aux":"CgQKAnt9"}"#,
    r#"{"id":"moby.buildkit.trace","aux":"{}"}"#,
    "{\"vertexes\":[{\"digest\":",
];

/// CI chatter, prose, blank lines.
const OTHER: &[&str] = &["hello world {}", "", "   ", "\t"];

/// Wrappers a CI system or terminal puts around a line.
const PREFIXES: &[&str] = &[
    "",
    "",
    "2023-01-17T12:46:27.6515486Z ",
    "2024-02-16 02:29:15.118Z: ",
    "[CI/build]   | ",
    "[CI/other job]   | ",
    "\x1b[32m|\x1b[0m ",
    "[CI/build] [DEBUG] ",
    "\x1b[91m",
    "\x1b[0m",
    "docker : ",
    "[CI/build] \u{2b50} Run Main docker build",
    "\x1b]0;title\x07",
];

const ENDINGS: &[&[u8]] = &[b"\n", b"\n", b"\n", b"\r\n", b"\r", b"", b"\0\n", b"\r\r\n", b"\x1b[0m\n"];

/// The template sets one log draws its lines from: one format (with the summary where it has one), or all.
fn families() -> Vec<Vec<&'static str>> {
    let all = [PLAIN, SUMMARY, LEGACY, PODMAN, TTY, JSON, OTHER].concat();
    vec![[PLAIN, SUMMARY, OTHER].concat(), [LEGACY, OTHER].concat(), PODMAN.to_vec(), [TTY, SUMMARY].concat(), JSON.to_vec(), all]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1u64..5).prop_map(|n| n.to_string()),
        4 => (0u64..30).prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => Just("99999999999999999999".to_string()),
        1 => Just("4294967296".to_string()),
        1 => Just(String::new()),
        1 => Just("-1".to_string()),
        1 => Just("***".to_string()),
    ]
}

/// A BuildKit `StatusResponse` protobuf with one vertex (digest, name), base64: a plausible trace `aux`,
/// cut short or not.
fn trace_aux(k: &str, cut: Option<Index>) -> String {
    let name = format!("[{k}/2] RUN x");
    let mut vertex = vec![0x0a, 8];
    vertex.extend_from_slice(b"sha256:1");
    vertex.push(0x1a);
    vertex.push(u8::try_from(name.len()).unwrap_or(0));
    vertex.extend_from_slice(name.as_bytes());
    let mut msg = vec![0x0a, u8::try_from(vertex.len()).unwrap_or(0)];
    msg.extend_from_slice(&vertex);
    if let Some(cut) = cut {
        msg.truncate(cut.index(msg.len() + 1));
    }
    base64::engine::general_purpose::STANDARD.encode(msg)
}

/// One template with its `{}`s filled from `numbers` (cycled).
fn fill(template: &str, numbers: &[String], cut: Option<Index>) -> String {
    let mut out = String::new();
    let mut parts = template.split("{}").peekable();
    let mut i = 0;
    while let Some(part) = parts.next() {
        out.push_str(part);
        if parts.peek().is_some() {
            let n = &numbers[i % numbers.len()];
            if template.contains("moby.buildkit.trace") {
                out.push_str(&trace_aux(n, cut));
            } else {
                out.push_str(n);
            }
            i += 1;
        }
    }
    out
}

/// One hostile line from `family`: mostly clean, sometimes wrapped, cut short of its newline or with a byte
/// overwritten.
fn line(family: Vec<&'static str>) -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![6 => Just(""), 1 => prop::sample::select(PREFIXES)];
    let ending = prop_oneof![6 => Just(b"\n".as_slice()), 1 => prop::sample::select(ENDINGS)];
    let flip = prop::option::weighted(0.05, (any::<Index>(), any::<u8>()));
    let parts =
        (prop::sample::select(family), prop::collection::vec(number(), 1..6), prefix, ending, prop::option::of(any::<Index>()), flip);
    parts.prop_map(|(template, numbers, prefix, ending, cut, flip)| {
        let mut out = prefix.as_bytes().to_vec();
        out.extend_from_slice(fill(template, &numbers, cut).as_bytes());
        if let Some((at, byte)) = flip.filter(|_| !out.is_empty()) {
            let i = at.index(out.len());
            out[i] = byte;
        }
        out.extend_from_slice(ending);
        out
    })
}

/// How the whole log is encoded.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16LeBom,
    Utf16BeBom,
    Utf16LeBare,
}

fn encode(text: &[u8], encoding: Encoding) -> Vec<u8> {
    let units = || String::from_utf8_lossy(text).encode_utf16().collect::<Vec<u16>>();
    match encoding {
        Encoding::Utf8 => text.to_vec(),
        Encoding::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), text].concat(),
        Encoding::Utf16LeBom => [0xFF, 0xFE].into_iter().chain(units().into_iter().flat_map(u16::to_le_bytes)).collect(),
        Encoding::Utf16BeBom => [0xFE, 0xFF].into_iter().chain(units().into_iter().flat_map(u16::to_be_bytes)).collect(),
        Encoding::Utf16LeBare => units().into_iter().flat_map(u16::to_le_bytes).collect(),
    }
}

fn fragment_log() -> impl Strategy<Value = Vec<u8>> {
    let encoding = prop_oneof![
        6 => Just(Encoding::Utf8),
        1 => Just(Encoding::Utf8Bom),
        1 => Just(Encoding::Utf16LeBom),
        1 => Just(Encoding::Utf16BeBom),
        1 => Just(Encoding::Utf16LeBare),
    ];
    let lines = prop::sample::select(families()).prop_flat_map(|family| prop::collection::vec(line(family), 0..150));
    (lines, encoding).prop_map(|(lines, enc)| encode(&lines.concat(), enc))
}

/// A hostile log: random bytes, a mix of fragments, or a mix with random bytes spliced in.
fn hostile_log() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..3000),
        4 => fragment_log(),
        1 => (fragment_log(), prop::collection::vec(any::<u8>(), 0..200), any::<Index>()).prop_map(|(mut log, junk, at)| {
            let i = at.index(log.len() + 1);
            log.splice(i..i, junk);
            log
        }),
    ]
}

/// Every offset in `parsed` lies within the first `len` bytes.
fn check_bounds(parsed: &ParsedLog, len: usize, what: &str) -> Result<(), TestCaseError> {
    let len = len as u64;
    prop_assert!(parsed.bytes <= len, "{}: read {} bytes of {}", what, parsed.bytes, len);
    for b in &parsed.builds {
        prop_assert!(b.span[0] <= b.span[1] && b.span[1] <= len, "{}: build span {:?} outside 0..{}", what, b.span, len);
        for s in &b.steps {
            let o = s.output;
            prop_assert!(o.start <= o.end && o.end <= len, "{}: step {:?} output {}..{} outside 0..{}", what, s.name, o.start, o.end, len);
        }
    }
    Ok(())
}

/// Feeds `log` in chunks whose sizes cycle through `sizes`.
fn feed_chunked(parser: &mut LogParser, log: &[u8], sizes: &[usize]) {
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at >= log.len() {
            break;
        }
        let end = (at + size).min(log.len());
        parser.feed(&log[at..end]);
        at = end;
    }
}

/// Parses `log[..cut]`, stores the checkpoint as JSON text, resumes and reads the rest.
fn resumed_at(log: &[u8], cut: usize, sizes: &[usize]) -> Result<ParsedLog, TestCaseError> {
    let mut first = LogParser::new();
    feed_chunked(&mut first, &log[..cut], sizes);
    check_bounds(&first.snapshot(), cut, "snapshot at the cut")?;
    let stored = serde_json::to_string(&first.checkpoint()).map_err(|e| TestCaseError::fail(format!("checkpoint to text: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&stored).map_err(|e| TestCaseError::fail(format!("checkpoint from text: {e}")))?;
    let resumed = LogParser::resume(&value);
    prop_assert!(resumed.is_some(), "the checkpoint at {} does not read back: {}", cut, stored);
    let mut resumed = resumed.unwrap_or_default();
    let from = usize::try_from(resumed.resume_offset()).unwrap_or(usize::MAX);
    prop_assert!(from <= cut, "resume offset {} past the cut {}", from, cut);
    feed_chunked(&mut resumed, &log[from..], sizes);
    Ok(resumed.finish())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn hostile_logs_parse_the_same_whole_chunked_and_resumed(
        log in hostile_log(),
        sizes in prop::collection::vec(1usize..400, 1..12),
        cut in any::<Index>(),
    ) {
        let whole = parse_bytes(&log);
        check_bounds(&whole, log.len(), "one pass")?;
        prop_assert_eq!(&line_by_line(&log, &sizes), &whole, "read line by line in chunks of {:?}", sizes);
        let mut chunked = LogParser::new();
        feed_chunked(&mut chunked, &log, &sizes);
        prop_assert_eq!(&chunked.finish(), &whole, "fed in chunks of {:?}", sizes);
        let cut = cut.index(log.len() + 1);
        prop_assert_eq!(&resumed_at(&log, cut, &sizes)?, &whole, "resumed at {}", cut);
    }
}

/// The reference for the fast path of plain output runs (`log::run`): every line read on its own.
fn line_by_line(log: &[u8], sizes: &[usize]) -> ParsedLog {
    let mut parser = LogParser::new();
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at >= log.len() {
            break;
        }
        let end = (at + size).min(log.len());
        parser.feed_line_by_line(&log[at..end]);
        at = end;
    }
    parser.finish()
}

/// Plain lines weighted to output of a few vertexes (the runs `log::run` reads at once), with what must
/// break a run or keep it off the fast path: headers, states, CRs, escapes, web-UI anchors, `#0` output,
/// v0.8 digests and glued states, a failure report, masked numbers, wrapped lines, a job prefix.
const RUN_LINES: &[&str] = &[
    "#{} [{}/4] RUN make -j2",
    "#{} 0.{} gcc -c foo.c",
    "#{} 1.{} make[1]: Entering directory '/b' with a line long enough to be wrapped by a console at 70",
    "#{} 2.{} ld: warning [-Wx]",
    "#{} 3.{} crlf line\r",
    "#{} 4.{} \u{1b}[31mred\u{1b}[0m",
    "#{} 5.{} anchor [{}](https://github.com/o/r#step:1:2) here",
    "#0 0.{} zero output",
    "#{} DONE {}.0s",
    "#{} ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: {}",
    "#{} sha256:8de18f682f05aff36ba24e8801a45ccb7eab593963fb2996dac4f9d1dc709ab4",
    "#{} 0.045 last line#{} DONE 0.0s",
    "#*** 0.{} masked output",
    "------",
    " > [{}/4] RUN make -j2:",
    "ERROR: failed to build: failed to solve: x",
    "wrapped continuation without a number",
    "2024-01-01T00:00:00.1234567Z #{} 6.{} stamped",
    "[CI/build]   | #{} 7.{} act",
    "#{} 8.{}",
    "",
];

fn run_log() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        6 => (1u32..4, 0u32..1000).prop_map(|(n, t)| format!("#{n} {}.{t:03} output line {t}", t / 100)),
        2 => (0..RUN_LINES.len(), prop::collection::vec(0u32..6, 3)).prop_map(|(i, v)| {
            let mut s = RUN_LINES[i].to_string();
            for x in v {
                s = s.replacen("{}", &x.to_string(), 1);
            }
            s
        }),
    ];
    prop::collection::vec(line, 0..120).prop_map(|lines| {
        let mut log = String::from("#0 building with \"default\" instance using docker driver\n\n");
        for n in 1..4 {
            log.push_str(&format!("#{n} [{n}/4] RUN step {n}\n"));
        }
        for l in lines {
            log.push_str(&l);
            log.push('\n');
        }
        log.into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Runs of output lines read at once give what reading each line gives, at any split of the log.
    #[test]
    fn plain_output_runs_read_at_once_equal_line_by_line(
        log in run_log(),
        sizes in prop::collection::vec(1usize..600, 1..8),
    ) {
        let reference = line_by_line(&log, &[log.len().max(1)]);
        prop_assert_eq!(&parse_bytes(&log), &reference, "in one piece");
        let mut chunked = LogParser::new();
        feed_chunked(&mut chunked, &log, &sizes);
        prop_assert_eq!(&chunked.finish(), &reference, "fed in chunks of {:?}", sizes);
        prop_assert_eq!(&line_by_line(&log, &sizes), &reference, "line by line in chunks of {:?}", sizes);
    }
}

/// Classic-builder lines weighted to a step's raw output (the runs `log::run` reads at once for the
/// classic builder), with what must end a run or keep a line off it: headers, statuses, result lines,
/// daemon errors, runner markers, CRs, escapes, anchors, CI stamps, act and PowerShell wrappers, a prefix
/// before a builder anchor, a dated cache hit, lines that look like those but are output.
const LEGACY_LINES: &[&str] = &[
    "Step {}/9 : RUN make -j{}",
    " ---> Running in 0123456789a{}",
    " ---> 0123456789a{}",
    " ---> Using cache",
    "---> [Warning] x{}",
    "Removing intermediate container 0123456789a{}",
    "The command '/bin/sh -c make' returned a non-zero code: {}",
    "Successfully built 0123456789a{}",
    "Successfully built pkg{}",
    "Successfully tagged t:{}",
    "Build cancelled",
    "##[error]Process completed with exit code {}.",
    "failed to {} things",
    "failing {} tests",
    "manifest for x:{} not found",
    "make[{}]: Entering directory '/b'",
    "[ {}0%] Building C object",
    "[CI/build]   | out {}",
    "[CI/build] \u{2b50} Run {}",
    "[1/{}] STEP 2/3: RUN x",
    "2024-01-01T00:00:00.1234567Z stamped {}",
    "2024-01-01 text {}",
    "| act tty {}",
    "docker : powershell {}",
    "dpkg: {} done",
    "progress {}%\rprogress 100%",
    "crlf {}\r",
    "\u{1b}[91mred {}\u{1b}[0m",
    "\u{1b}[0mThe command '/bin/sh -c make' returned a non-zero code: {}",
    "\u{1b}[91mfailed to {} things\u{1b}[0m",
    "2024-01-01T00:00:00.1234567Z \u{1b}[91mstamped red {}",
    "[CI/build]   | \u{1b}[91mact red {}",
    "\u{1b}[91mout: Step {}/9 : RUN x",
    "see [{}](https://github.com/o/r#step:1:2)",
    "out: Step {}/9 : RUN x",
    "err: #{} [2/3] RUN x",
    "x ---> Using cache",
    "#{} [1/2] RUN y",
    "Sending build context to Docker daemon  {}kB",
    "",
    "\r",
];

fn legacy_run_log() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        8 => (0u32..1000).prop_map(|t| format!("gcc -c file{t}.c -o file{t}.o")),
        2 => (0..LEGACY_LINES.len(), 0u32..4).prop_map(|(i, v)| LEGACY_LINES[i].replace("{}", &v.to_string())),
    ];
    prop::collection::vec(line, 0..120).prop_map(|lines| {
        let mut log = String::from("Sending build context to Docker daemon  2.048kB\r\r\nStep 1/9 : FROM alpine\n ---> 0123456789ab\nStep 2/9 : RUN make\n ---> Running in 0123456789ac\n");
        for l in lines {
            log.push_str(&l);
            log.push('\n');
        }
        log.into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Runs of classic-builder output read at once give what reading each line gives, at any split.
    #[test]
    fn legacy_output_runs_read_at_once_equal_line_by_line(
        log in legacy_run_log(),
        sizes in prop::collection::vec(1usize..600, 1..8),
    ) {
        let reference = line_by_line(&log, &[log.len().max(1)]);
        prop_assert_eq!(&parse_bytes(&log), &reference, "in one piece");
        let mut chunked = LogParser::new();
        feed_chunked(&mut chunked, &log, &sizes);
        prop_assert_eq!(&chunked.finish(), &reference, "fed in chunks of {:?}", sizes);
    }
}

#[test]
fn huge_numbers_and_counts_do_not_overflow() {
    let log = b"#99999999999999999999 [ 4294967296/1] RUN x\n#18446744073709551615 [1/4294967295] RUN y\n\
#18446744073709551615 99999999999999999999.9 out\n#18446744073709551615 DONE 99999999999999999999.9s\n\
Step 4294967296/4294967296 : RUN x\n[4294967296/1] STEP 99999999999999999999/1: FROM a\n";
    let parsed = parse_bytes(log);
    assert!(parsed.bytes == log.len() as u64);
}

/// Prints a few generated logs, to see what the generator makes: `cargo test --test fuzz_parsers -- --ignored --nocapture`.
#[test]
#[ignore]
fn show_samples() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..4 {
        let log = hostile_log().new_tree(&mut runner).unwrap().current();
        println!("----- {} bytes\n{}", log.len(), String::from_utf8_lossy(&log[..log.len().min(1500)]).escape_debug());
    }
}

//! Tests of learned prefixes: hand-made logs of every builder format behind several prefix shapes, some
//! on every line and some on a few, read the same as the bare log; builder-looking text inside output or
//! prose teaches nothing.

use super::*;
use crate::log::{parse_bytes, BuildResult, LogParser, ParsedLog, StepStatus};

const BUILDKIT: &str = r#"#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 120B done
#1 DONE 0.0s

#2 [internal] load metadata for docker.io/library/alpine:3.19
#2 DONE 0.5s

#3 [1/3] FROM docker.io/library/alpine:3.19@sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1
#3 DONE 0.0s

#4 [2/3] RUN echo hello
#4 0.212 hello
#4 DONE 0.3s

#5 [3/3] RUN false
#5 0.101 boom
#5 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1
------
 > [3/3] RUN false:
0.101 boom
------
Dockerfile:3
--------------------
   1 |     FROM alpine:3.19
   2 |     RUN echo hello
   3 | >>> RUN false
--------------------
ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1
"#;

const LEGACY: &str = "Sending build context to Docker daemon  2.048kB
Step 1/3 : FROM alpine:3.19
 ---> 05455a08881e
Step 2/3 : RUN echo hello
 ---> Running in 1a2b3c4d5e6f
hello
Removing intermediate container 1a2b3c4d5e6f
 ---> 9f8e7d6c5b4a
Step 3/3 : CMD [\"sh\"]
 ---> Running in 2b3c4d5e6f7a
Removing intermediate container 2b3c4d5e6f7a
 ---> abcdef123456
Successfully built abcdef123456
Successfully tagged demo:latest
";

const PODMAN: &str = "[1/2] STEP 1/2: FROM alpine:3.19 AS build
[1/2] STEP 2/2: RUN echo hi > /hi
--> 1111aaaa2222
[2/2] STEP 1/3: FROM alpine:3.19
[2/2] STEP 2/3: COPY --from=build /hi /hi
--> 3333bbbb4444
[2/2] STEP 3/3: RUN cat /hi
hi
[2/2] COMMIT demo
--> 5555cccc6666
Successfully tagged localhost/demo:latest
5555cccc66667777888899990000aaaabbbbccccddddeeeeffff0000111122223333
";

/// What a reader of the log sees of it: each build's result and error, each step's name, status,
/// duration, output line count, error and Dockerfile lines.
fn summary(parsed: &ParsedLog) -> Vec<String> {
    let mut out = Vec::new();
    for b in &parsed.builds {
        out.push(format!("build {:?} {:?} {:?}", b.format, b.result, b.error));
        for s in &b.steps {
            let facts = (s.status, s.duration_ms, s.output.lines, &s.error, s.dockerfile_lines);
            out.push(format!("  {} {facts:?}", s.name));
        }
    }
    out
}

fn read(log: &str) -> Vec<String> {
    summary(&parse_bytes(log.as_bytes()))
}

/// `log` with `prefix(i)` before line `i` where `carries(i, line)`.
fn prefixed(log: &str, prefix: impl Fn(usize) -> String, carries: impl Fn(usize, &str) -> bool) -> String {
    log.lines().enumerate().map(|(i, l)| if carries(i, l) { format!("{}{l}\n", prefix(i)) } else { format!("{l}\n") }).collect()
}

fn is_header(line: &str) -> bool {
    line.starts_with("#") || line.starts_with("Step ") || line.contains("STEP ")
}

/// The prefixes seen in real logs, and where they are.
/// A way to wrap a bare log in a prefix.
type Wrap = Box<dyn Fn(&str) -> String>;

fn wrappings() -> Vec<(&'static str, Wrap)> {
    vec![
        // Go's log.Printf date: only on the first line of each API chunk (headers, some output lines).
        (
            "go date on some lines",
            Box::new(|log| prefixed(log, |i| format!("2024/03/29 14:{:02}:{:02} ", i / 60, i % 60), |i, l| is_header(l) || i % 3 == 0)),
        ),
        // ssh-action: a CI timestamp, then `err: ` (the build) or `out: ` (the script's echo lines).
        (
            "ssh err/out",
            Box::new(|log| {
                let body = prefixed(log, |i| format!("2026-02-28T07:47:{:02}.5606698Z err: ", i % 60), |_, _| true);
                format!("2026-02-28T07:47:03.2624097Z out: Building...\n{body}2026-02-28T07:49:00.1234567Z out: Deployed\n")
            }),
        ),
        ("local date and err:", Box::new(|log| prefixed(log, |i| format!("[29.03.2024 9:05:{i:02},5] err: "), |_, _| true))),
        // compose v1: the service's name padded, another service's lines between.
        (
            "compose v1",
            Box::new(|log| {
                let body = prefixed(log, |_| "builder_1  | ".to_string(), |_, _| true);
                // (After a BuildKit step ends: a line right after a long header may be its cut rest, and every
                // line inside a classic or podman step is its output.)
                body.lines()
                    .map(|l| if l.contains(" DONE ") { format!("{l}\nweb_1      | GET /health 200\n") } else { format!("{l}\n") })
                    .collect()
            }),
        ),
        ("pod name", Box::new(|log| prefixed(log, |_| "[pod-build-7f9c5d-x2k4] ".to_string(), |_, _| true))),
        ("stderr on some lines", Box::new(|log| prefixed(log, |_| "stderr: ".to_string(), |i, l| is_header(l) || i % 2 == 1))),
    ]
}

#[test]
fn the_bare_logs_read_as_written() {
    let bk = read(BUILDKIT);
    assert_eq!(
        bk[0],
        r#"build BuildkitPlain Failed Some("ERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1")"#
    );
    assert!(bk.iter().any(|s| s.starts_with("  [3/3] RUN false (Error") && s.ends_with("Some([3, 3]))")), "{bk:#?}");
    let legacy = parse_bytes(LEGACY.as_bytes());
    assert_eq!(legacy.builds.len(), 1);
    assert_eq!(legacy.builds[0].result, BuildResult::Success);
    assert_eq!(legacy.builds[0].steps.len(), 3);
    let podman = parse_bytes(PODMAN.as_bytes());
    assert_eq!(podman.builds.len(), 1);
    assert_eq!(podman.builds[0].steps.len(), 5);
    assert!(podman.builds[0].steps.iter().all(|s| s.status == StepStatus::Executed), "{:?}", summary(&podman));
}

#[test]
fn every_prefix_shape_is_learned_for_every_format() {
    for (format, log) in [("buildkit", BUILDKIT), ("legacy", LEGACY), ("podman", PODMAN)] {
        let bare = read(log);
        for (name, wrap) in wrappings() {
            let wrapped = wrap(log);
            assert_eq!(read(&wrapped), bare, "{format} behind {name}:\n{wrapped}");
        }
    }
}

#[test]
fn prefixed_logs_resume_from_any_checkpoint() {
    for (_, wrap) in wrappings() {
        let log = wrap(BUILDKIT);
        let bytes = log.as_bytes();
        let whole = parse_bytes(bytes);
        for cut in (0..bytes.len()).step_by(37) {
            let mut first = LogParser::new();
            first.feed(&bytes[..cut]);
            first.snapshot(); // a snapshot while lines are held changes nothing
            let mut resumed = LogParser::resume(&first.checkpoint()).expect("a checkpoint reads back");
            let from = usize::try_from(resumed.resume_offset()).unwrap_or(usize::MAX);
            resumed.feed(&bytes[from..]);
            assert_eq!(resumed.finish(), whole, "resumed at {cut}:\n{log}");
        }
    }
}

#[test]
fn a_checkpoint_without_prefixes_still_reads() {
    let mut parser = LogParser::new();
    parser.feed(BUILDKIT.as_bytes());
    let mut checkpoint = parser.checkpoint();
    for channel in checkpoint["channels"].as_array_mut().expect("channels") {
        channel.as_object_mut().expect("a channel").remove("prefixes");
    }
    checkpoint.as_object_mut().expect("state").remove("head");
    assert!(LogParser::resume(&checkpoint).is_some());
}

#[test]
fn builder_text_inside_output_teaches_no_prefix() {
    // A nested build's output inside a BuildKit step: `#4` is the anchor, `Step 1/2` is output.
    let nested = BUILDKIT.replace(
        "#4 0.212 hello\n",
        "#4 0.212 hello\n#4 0.5 Step 1/2 : FROM x\n#4 0.6 Step 2/2 : RUN y\n#4 0.7 log: #3 [x 1/2] FROM y\n#4 0.8 log: #3 DONE 0.1s\n",
    );
    let bare = read(BUILDKIT);
    let read_nested = read(&nested);
    assert_eq!(read_nested.len(), bare.len(), "{read_nested:#?}");
    assert!(read_nested.iter().any(|s| s.starts_with("  [2/3] RUN echo hello (Executed, Some(300), 5,")), "{read_nested:#?}");
    // The classic builder's step output that quotes prefixed step headers is output of that step.
    let quoted =
        LEGACY.replacen("hello\nRemoving", "hello\nout: Step 1/2 : FROM x\nout: Step 2/2 : RUN y\nout: Step 3/3 : RUN z\nRemoving", 1);
    let steps = parse_bytes(quoted.as_bytes());
    assert_eq!(steps.builds.len(), 1);
    assert_eq!(steps.builds[0].steps.len(), 3, "{:?}", summary(&steps));
    assert_eq!(steps.builds[0].steps[1].output.lines, parse_bytes(LEGACY.as_bytes()).builds[0].steps[1].output.lines + 3);
}

#[test]
fn a_prefixed_anchor_seen_once_changes_nothing() {
    for (format, log) in [("buildkit", BUILDKIT), ("legacy", LEGACY), ("podman", PODMAN)] {
        let prose = format!("note: #3 [1/3] FROM alpine is slow\nsee Step 2/9 : RUN x\n{log}");
        assert_eq!(read(&prose), read(log), "{format}");
    }
}

#[test]
fn a_learned_prefix_leaves_bare_lines_alone() {
    // The first half carries `err: `, the second none; lines that only start like the prefix stay.
    let lines: Vec<&str> = BUILDKIT.lines().collect();
    let half = lines.len() / 2;
    let mut log: String = lines[..half].iter().map(|l| format!("err: {l}\n")).collect();
    log.push_str("error: not a prefix\nerr:no space\n");
    log.extend(lines[half..].iter().map(|l| format!("{l}\n")));
    assert_eq!(read(&log), read(BUILDKIT));
    let mut prefixes = Prefixes::default();
    for line in ["err: #1 [internal] load x", "err: #1 DONE 0.1s"] {
        if prefixes.holding() {
            prefixes.hold(&Line::synthetic(line.as_bytes(), 0, 0));
        } else {
            prefixes.consider(&Line::synthetic(line.as_bytes(), 0, 0));
        }
    }
    let stripped = |t: &'static str| prefixes.strip(&Line::synthetic(t.as_bytes(), 0, 0)).text;
    assert_eq!(stripped("err: #2 DONE 0.1s"), b"#2 DONE 0.1s");
    assert_eq!(stripped("#2 DONE 0.1s"), b"#2 DONE 0.1s");
    assert_eq!(stripped("error: x"), b"error: x");
}

#[test]
fn shapes_let_digits_and_inner_spaces_vary() {
    let shape = shape_of(b"Mar  9 09:05:11 host[12]: ");
    assert_eq!(match_len(&shape, b"Mar 10 10:15:01 host[7]: #1 DONE"), Some(25));
    assert_eq!(match_len(&shape, b"Apr 10 10:15:01 host[7]: #1 DONE"), None);
    assert_eq!(match_len(&shape_of(b"err: "), b"err:  ---> 1234"), Some(5), "the trailing space is one byte, not a run");
    assert_eq!(find_anchor(b"RUN_Step 1/2 : FROM x"), None, "an anchor starts a word");
    assert_eq!(find_anchor(b"x: #4 0.5 output"), None, "a vertex's output line is no anchor");
    assert_eq!(find_anchor(b"[pod] [+] Building 1.2s (3/4)"), Some(6));
}

#[test]
fn a_long_first_step_still_learns_the_prefix_from_later_headers() {
    // Held lines are bounded: past them the candidate lets its lines go unchanged (its first header is
    // lost), and the next header with the same prefix confirms it.
    let pull: String = (0..600).map(|i| format!("{i:x}: Pulling fs layer\n")).collect();
    let log = LEGACY.replacen(" ---> 05455a08881e\n", &format!("{pull} ---> 05455a08881e\n"), 1);
    let wrapped = prefixed(&log, |_| "2024/03/29 14:05:11 ".into(), |_, l| is_header(l));
    let parsed = parse_bytes(wrapped.as_bytes());
    let names: Vec<&str> = parsed.builds.iter().flat_map(|b| &b.steps).map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Step 2/3 : RUN echo hello", "Step 3/3 : CMD [\"sh\"]"], "{parsed:?}");
}

/// One-step builds: a single builder anchor, with the prefix on every line.
const ONE_STEP: [(&str, &str); 3] = [
    ("legacy", "Sending build context to Docker daemon  2.048kB\nStep 1/1 : FROM alpine:3.19\n ---> 05455a08881e\nSuccessfully built 05455a08881e\n"),
    ("podman", "STEP 1/1: FROM alpine:3.19\nCOMMIT demo\n--> 05455a08881\nSuccessfully tagged localhost/demo:latest\n"),
    ("plain", "#1 [1/1] FROM docker.io/library/alpine:3.19\n#1 resolve docker.io/library/alpine:3.19 done\n#1 DONE 0.4s\n"),
];

#[test]
fn a_one_step_build_with_the_prefix_on_every_line_is_read() {
    for (format, log) in ONE_STEP {
        let bare = read(log);
        assert_eq!(bare.len(), 2, "{format}: one build of one step: {bare:#?}");
        for prefix in ["2024/03/29 14:05:11 ", "[pod-build-7f9c5d-x2k4] ", "2026-02-28T07:47:04.0179531Z err: "] {
            let wrapped = prefixed(log, |_| prefix.to_string(), |_, _| true);
            assert_eq!(read(&wrapped), bare, "{format} behind {prefix:?}");
            // A prompt before it, and the log cut right after the step's header (the build still runs).
            let header = log.lines().position(is_header).unwrap_or(0);
            let cut: String = ["$ ./build.sh"].into_iter().chain(log.lines().take(header + 1)).map(|l| format!("{prefix}{l}\n")).collect();
            let parsed = parse_bytes(cut.as_bytes());
            assert_eq!(parsed.builds.len(), 1, "{format} cut behind {prefix:?}: {:?}", summary(&parsed));
            assert_eq!(parsed.builds[0].steps.last().map(|s| s.status), Some(StepStatus::Running), "{format} cut behind {prefix:?}");
        }
    }
}

#[test]
fn a_single_prefixed_anchor_before_bare_prose_teaches_nothing() {
    for anchor in ["note: Step 2/9 : RUN x", "see: STEP 1/1: FROM x", "log: #3 [1/3] FROM alpine"] {
        // Followed by bare prose (the anchor's prefix is on no other line), at the end, or between.
        for log in [
            format!("{anchor}\nthis is how it starts\nand more prose\nand more\nstill more\n"),
            format!("starting\n{anchor}\n"),
            format!("starting\n{anchor}\n\nnote that it failed\n"),
            format!("note: a\n{anchor}\nthe end\n"),
        ] {
            let parsed = parse_bytes(log.as_bytes());
            assert!(parsed.builds.is_empty(), "{log:?}: {:?}", summary(&parsed));
        }
    }
}

/// Every build's steps by name and status (output line counts left out).
fn steps(log: &str) -> Vec<(String, StepStatus)> {
    let parsed = parse_bytes(log.as_bytes());
    parsed.builds.iter().flat_map(|b| b.steps.iter().map(|s| (s.name.clone(), s.status))).collect()
}

/// The first lines bare, then a Go date on some lines, headers among them: the classic builder and podman
/// read any line as output of the open step, so a prefixed header must still be looked at. Every step is
/// found with its status; lines read before the prefix was learned stay output of the step before.
#[test]
fn a_prefix_that_starts_mid_build_is_learned_for_every_format() {
    for (format, log) in [("buildkit", BUILDKIT), ("legacy", LEGACY), ("podman", PODMAN)] {
        for start in 1..4 {
            let wrapped = prefixed(log, |i| format!("2024/03/29 14:05:{:02} ", i % 60), |i, l| i >= start && (is_header(l) || i % 3 != 0));
            assert_eq!(steps(&wrapped), steps(log), "{format} from line {start}:\n{wrapped}");
            assert_eq!(parse_bytes(wrapped.as_bytes()).builds.len(), 1, "{format} from line {start}");
        }
    }
}

/// A prefix on the first header only (a Go date on some lines, chance put it there): the next builder line
/// continues the build that the header starts, so the header is read behind its text; prose that quotes a
/// builder line before a log is not.
#[test]
fn a_prefix_on_the_first_header_only_keeps_that_header() {
    for (format, log) in [("buildkit", BUILDKIT), ("legacy", LEGACY), ("podman", PODMAN)] {
        let first = log.lines().position(is_header).expect("a header");
        let wrapped = prefixed(log, |_| "2024/03/29 14:00:01 ".to_string(), |i, _| i == first);
        assert_eq!(steps(&wrapped), steps(log), "{format}:\n{wrapped}");
    }
    let prose = format!("2024/03/29 14:00:01 see Step 2/9 : RUN x\n{LEGACY}");
    assert_eq!(steps(&prose), steps(LEGACY));
}

/// A collector that tags each line with a level (`<ts> [INFO] `) tags the final error line `[ERROR]`: the
/// level is part of the prefix whatever its word, so the final error is read and a retry is a second build.
#[test]
fn a_level_tag_in_the_prefix_may_change_on_the_final_line() {
    let build = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/alpine:3.20\n#2 DONE 0.1s\n\n#3 [2/2] RUN exit 1\n#3 ERROR: process \"/bin/sh -c exit 1\" did not complete successfully: exit code: 1\n";
    let tagged = |minute: u32| -> String {
        let mut s: String = build.lines().map(|l| format!("2026-01-01T10:{minute:02}:00.000Z [INFO] {l}\n")).collect();
        s.push_str(&format!("2026-01-01T10:{minute:02}:01.000Z [ERROR] ERROR: failed to solve: process \"/bin/sh -c exit 1\" did not complete successfully: exit code: 1\n"));
        s
    };
    let parsed = crate::log::parse_bytes(tagged(0).as_bytes());
    assert_eq!(parsed.builds.len(), 1, "{parsed:#?}");
    assert!(parsed.builds[0].error.as_deref().is_some_and(|e| e.starts_with("ERROR: failed to solve")), "{:?}", parsed.builds[0].error);
    let retried = crate::log::parse_bytes(format!("{}{}", tagged(0), tagged(3)).as_bytes());
    assert_eq!(retried.builds.len(), 2, "{retried:#?}");
    assert!(retried.builds.iter().all(|b| b.error.is_some()));
}

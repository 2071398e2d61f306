//! Maps every instruction step of every captured build (fixtures/logs/<format>/, genuine builds
//! with their Dockerfiles) to its line, and checks mappings across edited Dockerfiles.
//!
//! Steps are made from the names the logs print (copied from the logs below), not from the log parsers,
//! so these tests pin the mapping alone. The expected lines were read off the Dockerfiles by hand.

use std::path::PathBuf;

use buildlens::dockerfile::{self, Dockerfile};
use buildlens::log::{step_name, Build, Format, Step};
use buildlens::mapping::{self, How, Mapping, MIN_CONFIDENCE};

/// Per captured log: (step name as printed, expected first line of its instruction).
#[rustfmt::skip]
const CAPTURED: &[(&str, &[(&str, u32)])] = &[
    ("bk20-api-stream-failing.jsonl", &[
        ("[1/6] FROM docker.io/library/fixture-base", 1),
        ("[2/6] WORKDIR /work", 2),
        ("[3/6] COPY hello.txt .", 3),
        ("[4/6] RUN echo \"configuring...\" && cat hello.txt", 4),
        ("[5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
        ("[6/6] RUN echo \"never reached\"", 8),
    ]),
    ("bk20-api-stream-multistage.jsonl", &[
        ("[builder 1/5] FROM docker.io/library/fixture-base", 2),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[tester 2/2] RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("[stage-2 3/4] COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("[stage-2 4/4] RUN chmod +x /app/app.sh && /app/app.sh", 15),
    ]),
    ("bk20-auto-piped-failing.log", &[
        ("[1/6] FROM docker.io/library/fixture-base", 1),
        ("[2/6] WORKDIR /work", 2),
        ("[3/6] COPY hello.txt .", 3),
        ("[4/6] RUN echo \"configuring...\" && cat hello.txt", 4),
        ("[5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
    ]),
    ("bk20-plain-copyfrom-error-cold.log", &[
        ("[tester 1/2] FROM docker.io/library/fixture-base", 8),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[tester 2/2] RUN echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\"", 9),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[stage-2 3/4] COPY --from=tester /etc/hostname /tmp/tester-hostname", 14),
    ]),
    ("bk20-plain-copyfrom-error-rebuild.log", &[
        ("[tester 2/2] RUN echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\"", 9),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[stage-2 3/4] COPY --from=tester /etc/hostname /tmp/tester-hostname", 14),
        ("[builder 1/5] FROM docker.io/library/fixture-base", 2),
    ]),
    ("bk20-plain-crlf-dockerfile.log", &[
        ("[1/3] FROM docker.io/library/fixture-base", 1),
        ("[2/3] RUN echo \"line one\" &&     echo \"line two\"", 2),
        ("[3/3] RUN echo done", 4),
    ]),
    ("bk20-plain-failing-via-api-capture.log", &[
        ("[1/6] FROM docker.io/library/fixture-base", 1),
        ("[2/6] WORKDIR /work", 2),
        ("[3/6] COPY hello.txt .", 3),
        ("[4/6] RUN echo \"configuring...\" && cat hello.txt", 4),
        ("[5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
    ]),
    ("bk20-plain-failing.log", &[
        ("[1/6] FROM docker.io/library/fixture-base", 1),
        ("[2/6] WORKDIR /work", 2),
        ("[3/6] COPY hello.txt .", 3),
        ("[4/6] RUN echo \"configuring...\" && cat hello.txt", 4),
        ("[5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
    ]),
    ("bk20-plain-longoutput-clipped.log", &[
        ("[1/4] FROM docker.io/library/fixture-base", 1),
        ("[2/4] RUN printf 'Downloading  10%%\\rDownloading  50%%\\rDownloading 100%%\\n' && printf 'tab\\tseparated\\n\\n(blank line above)\\n' && printf 'last line without newline'", 2),
        ("[3/4] RUN i=0; while [ $i -lt 40000 ]; do echo \"line $i: cc -Wall -O2 -c src/module_$i.c -o build/module_$i.o  warning: unused variable\"; i=$((i+1)); done", 3),
        ("[4/4] RUN echo \"after the long step\"", 4),
    ]),
    ("bk20-plain-multistage-cached.log", &[
        ("[tester 1/2] FROM docker.io/library/fixture-base", 8),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[tester 2/2] RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[stage-2 3/4] COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[stage-2 4/4] RUN chmod +x /app/app.sh && /app/app.sh", 15),
    ]),
    ("bk20-plain-multistage-cold.log", &[
        ("[tester 1/2] FROM docker.io/library/fixture-base", 8),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[tester 2/2] RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[stage-2 3/4] COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("[stage-2 4/4] RUN chmod +x /app/app.sh && /app/app.sh", 15),
    ]),
    ("bk20-plain-multistage-via-api-capture.log", &[
        ("[builder 1/5] FROM docker.io/library/fixture-base", 2),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[tester 2/2] RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[stage-2 3/4] COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("[stage-2 4/4] RUN chmod +x /app/app.sh && /app/app.sh", 15),
    ]),
    ("bk20-plain-parallel-run-error-rebuild-interleaved.log", &[
        ("[tester 1/2] FROM docker.io/library/fixture-base", 8),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[tester 2/2] RUN echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
    ]),
    ("bk20-plain-parallel-run-error.log", &[
        ("[tester 1/2] FROM docker.io/library/fixture-base", 8),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[tester 2/2] RUN echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
    ]),
    ("bk20-plain-parse-error.log", &[
    ]),
    ("bk20-rawjson-equivalent-failing.jsonl", &[
        ("[1/6] FROM docker.io/library/fixture-base", 1),
        ("[2/6] WORKDIR /work", 2),
        ("[3/6] COPY hello.txt .", 3),
        ("[4/6] RUN echo \"configuring...\" && cat hello.txt", 4),
        ("[5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
        ("[6/6] RUN echo \"never reached\"", 8),
    ]),
    ("bk20-rawjson-equivalent-multistage.jsonl", &[
        ("[builder 1/5] FROM docker.io/library/fixture-base", 2),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[tester 2/2] RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("[stage-2 3/4] COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("[stage-2 4/4] RUN chmod +x /app/app.sh && /app/app.sh", 15),
    ]),
    ("bk20-tty-failing.log", &[
        ("[1/6] FROM docker.io/library/fixture-base", 1),
        ("[2/6] WORKDIR /work", 2),
        ("[3/6] COPY hello.txt .", 3),
        ("[4/6] RUN echo \"configuring...\" && cat hello.txt", 4),
        ("[5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&", 5),
    ]),
    ("bk20-tty-multistage-cold.log", &[
        ("[tester 1/2] FROM docker.io/library/fixture-base", 8),
        ("[builder 2/5] WORKDIR /src", 3),
        ("[tester 2/2] RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee", 9),
        ("[builder 3/5] COPY hello.txt app.sh ./", 4),
        ("[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done", 5),
        ("[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("[stage-2 3/4] COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("[stage-2 4/4] RUN chmod +x /app/app.sh && /app/app.sh", 15),
    ]),
    ("cli28-buildkit-without-buildx.log", &[
    ]),
    ("legacy20-failing.log", &[
        ("Step 1/6 : FROM fixture-base AS build", 1),
        ("Step 2/6 : WORKDIR /work", 2),
        ("Step 3/6 : COPY hello.txt .", 3),
        ("Step 4/6 : RUN echo \"configuring...\" && cat hello.txt", 4),
        ("Step 5/6 : RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
    ]),
    ("legacy28-api-stream-failing.jsonl", &[
        ("Step 1/6 : FROM fixture-base AS build", 1),
        ("Step 2/6 : WORKDIR /work", 2),
        ("Step 3/6 : COPY hello.txt .", 3),
        ("Step 4/6 : RUN echo \"configuring...\" && cat hello.txt", 4),
        ("Step 5/6 : RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
    ]),
    ("legacy28-failing-via-api-capture.log", &[
        ("Step 1/6 : FROM fixture-base AS build", 1),
        ("Step 2/6 : WORKDIR /work", 2),
        ("Step 3/6 : COPY hello.txt .", 3),
        ("Step 4/6 : RUN echo \"configuring...\" && cat hello.txt", 4),
        ("Step 5/6 : RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3", 5),
    ]),
    ("legacy28-multistage-cached.log", &[
        ("Step 1/13 : FROM fixture-base AS builder", 2),
        ("Step 2/13 : WORKDIR /src", 3),
        ("Step 3/13 : COPY hello.txt app.sh ./", 4),
        ("Step 4/13 : RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("Step 5/13 : RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("Step 6/13 : FROM fixture-base AS tester", 8),
        ("Step 7/13 : RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("Step 8/13 : FROM fixture-base", 11),
        ("Step 9/13 : ENV APP_HOME=/app", 12),
        ("Step 10/13 : COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("Step 11/13 : COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("Step 12/13 : RUN chmod +x /app/app.sh && /app/app.sh", 15),
        ("Step 13/13 : CMD [\"/app/app.sh\"]", 16),
    ]),
    ("legacy28-multistage-cold.log", &[
        ("Step 1/13 : FROM fixture-base AS builder", 2),
        ("Step 2/13 : WORKDIR /src", 3),
        ("Step 3/13 : COPY hello.txt app.sh ./", 4),
        ("Step 4/13 : RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"", 5),
        ("Step 5/13 : RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done", 6),
        ("Step 6/13 : FROM fixture-base AS tester", 8),
        ("Step 7/13 : RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt", 9),
        ("Step 8/13 : FROM fixture-base", 11),
        ("Step 9/13 : ENV APP_HOME=/app", 12),
        ("Step 10/13 : COPY --from=builder /src/app.sh /app/app.sh", 13),
        ("Step 11/13 : COPY --from=tester /tmp/results.txt /app/results.txt", 14),
        ("Step 12/13 : RUN chmod +x /app/app.sh && /app/app.sh", 15),
        ("Step 13/13 : CMD [\"/app/app.sh\"]", 16),
    ]),
];

/// A file of the captured corpus builds, kept beside their logs under `fixtures/logs/<format>/`.
fn captured(name: &str) -> PathBuf {
    let logs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs");
    ["plain", "tty", "legacy", "rawjson", "engine-api"]
        .iter()
        .map(|d| logs.join(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no captured file {name} under {}", logs.display()))
}

/// The Dockerfile captured with a log (`x.log` / `x.jsonl` → `x.Dockerfile`).
fn dockerfile_of(log: &str) -> String {
    let stem = log.rsplit_once('.').map_or(log, |(s, _)| s);
    std::fs::read_to_string(captured(&format!("{stem}.Dockerfile"))).expect("captured Dockerfile")
}

/// A step as the parsers produce it from a printed name (BuildKit `[stage k/n]`, legacy `Step N/M : x`).
fn step(name: &str) -> Step {
    let mut s = Step::named(name);
    if let Some(rest) = name.strip_prefix("Step ") {
        let (pos, text) = rest.split_once(" : ").expect("legacy name");
        let (k, n) = pos.split_once('/').expect("N/M");
        s.k = k.parse().ok();
        s.n = n.parse().ok();
        s.instruction = Some(text.to_string());
    } else {
        step_name::apply(&mut s);
    }
    s
}

fn build(names: &[&str]) -> Build {
    let mut b = Build::new(Format::BuildkitPlain, 0);
    b.steps = names.iter().map(|n| step(n)).collect();
    b
}

/// The build of a captured log's step names: a tty log's rows may be cut at the terminal width, and its
/// parser says so (`Step::clipped`).
fn build_of(log: &str, names: &[&str]) -> Build {
    let mut b = build(names);
    if log.contains("-tty-") {
        b.format = Format::BuildkitTty;
        b.steps.iter_mut().for_each(|s| s.clipped = true);
    }
    b
}

fn map(df: &Dockerfile, names: &[&str]) -> Mapping {
    mapping::map_build(df, &build(names))
}

/// (line, changed) per step; `None` where unmapped.
fn lines(m: &Mapping) -> Vec<Option<(u32, bool)>> {
    m.steps.iter().map(|s| s.as_ref().map(|s| (s.line, s.changed))).collect()
}

#[test]
fn every_captured_step_maps_to_its_line() {
    for (log, cases) in CAPTURED {
        let df = dockerfile::parse(&dockerfile_of(log));
        let names: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let m = mapping::map_build(&df, &build_of(log, &names));
        for ((name, line), got) in cases.iter().zip(&m.steps) {
            let got = got.as_ref().unwrap_or_else(|| panic!("{log}: `{name}` unmapped: {:?}", m.problems));
            assert_eq!(got.line, *line, "{log}: `{name}`");
            assert!(!got.changed && got.confidence >= MIN_CONFIDENCE, "{log}: `{name}`: {got:?}");
        }
        assert!(m.problems.is_empty(), "{log}: {:?}", m.problems);
    }
}

/// Every `[stage k/n]` / `Step N/M` name a plain or legacy log prints is in the table above.
#[test]
fn tables_list_every_step_of_the_plain_and_legacy_logs() {
    let re = regex::Regex::new(r"^(?:#\d+ (\[[^\]]*\d+/\d+\] .*)|(Step \d+/\d+ : .*))$").expect("regex");
    for (log, cases) in CAPTURED.iter().filter(|(l, _)| l.ends_with(".log") && !l.contains("-tty-")) {
        let text = String::from_utf8_lossy(&std::fs::read(captured(log)).expect("log")).into_owned();
        for line in text.lines() {
            let Some(c) = re.captures(line.trim_end_matches('\r')) else {
                continue;
            };
            let name = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
            assert!(cases.iter().any(|(n, _)| *n == name), "{log}: `{name}` missing from CAPTURED");
        }
    }
}

const MULTI_BK: [&str; 11] = [
    "[builder 1/5] FROM docker.io/library/fixture-base",
    "[builder 2/5] WORKDIR /src",
    "[builder 3/5] COPY hello.txt app.sh ./",
    "[builder 4/5] RUN echo \"compiling step 1\" && sleep 1 && echo \"compiling step 2\" >&2 && sleep 1 && echo \"done compiling\"",
    "[builder 5/5] RUN for i in 1 2 3 4 5 6 7 8; do echo \"gcc -O2 -c file$i.c -o file$i.o\"; sleep 0.2; done",
    "[tester 1/2] FROM docker.io/library/fixture-base",
    "[tester 2/2] RUN mkdir -p /tmp && echo \"running tests in parallel stage\"; sleep 2; echo \"tests passed\" | tee /tmp/results.txt",
    "[stage-2 1/4] FROM docker.io/library/fixture-base",
    "[stage-2 2/4] COPY --from=builder /src/app.sh /app/app.sh",
    "[stage-2 3/4] COPY --from=tester /tmp/results.txt /app/results.txt",
    "[stage-2 4/4] RUN chmod +x /app/app.sh && /app/app.sh",
];
const MULTI_LINES: [u32; 11] = [2, 3, 4, 5, 6, 8, 9, 11, 13, 14, 15];

fn multistage() -> String {
    dockerfile_of("bk20-plain-multistage-cold.log")
}

fn unchanged(lines: &[u32]) -> Vec<Option<(u32, bool)>> {
    lines.iter().map(|l| Some((*l, false))).collect()
}

#[test]
fn lines_inserted_above_move_the_mappings() {
    let text = multistage().replacen("FROM fixture-base AS builder", "ARG V=1\nLABEL a=b\n\nFROM fixture-base AS builder", 1);
    let want: Vec<u32> = MULTI_LINES.iter().map(|l| l + 3).collect();
    let m = map(&dockerfile::parse(&text), &MULTI_BK);
    assert_eq!(lines(&m), unchanged(&want));
    // Lines moved, but each step is still the k-th counted instruction of its stage.
    assert_eq!(m.steps[1].as_ref().map(|s| s.how), Some(How::Text));
}

#[test]
fn an_edited_instruction_still_maps_flagged_changed() {
    let text = multistage()
        .replace("RUN for i in 1 2 3 4 5 6 7 8; do", "RUN for i in 1 2 3; do")
        .replace("WORKDIR /src", "RUN apt-get update\nWORKDIR /srv");
    let m = map(&dockerfile::parse(&text), &MULTI_BK);
    let mut want = unchanged(&MULTI_LINES.map(|l| if l > 3 { l + 1 } else { l }));
    want[1] = Some((4, true));
    want[4] = Some((7, true));
    assert_eq!(lines(&m), want, "{:?}", m.problems);
    // The instructions after the inserted RUN are now one place later in their stage.
    assert_eq!(m.steps[2].as_ref().map(|s| s.how), Some(How::Moved));
}

#[test]
fn a_renamed_stage_keeps_its_lines() {
    let text = multistage().replace("AS builder", "AS compile").replace("--from=builder", "--from=compile");
    let m = map(&dockerfile::parse(&text), &MULTI_BK);
    let mut want = unchanged(&MULTI_LINES);
    want[8] = Some((13, true));
    assert_eq!(lines(&m), want, "{:?}", m.problems);
}

#[test]
fn a_half_typed_line_mid_file_hides_nothing() {
    let text = multistage().replace("FROM fixture-base AS tester", "RU\nCOPY --from=\nFROM fixture-base AS tester");
    let df = dockerfile::parse(&text);
    assert_eq!(df.problems.len(), 1, "{:?}", df.problems);
    let m = map(&df, &MULTI_BK);
    let want: Vec<u32> = MULTI_LINES.iter().map(|l| if *l >= 8 { l + 2 } else { *l }).collect();
    assert_eq!(lines(&m), unchanged(&want));
}

#[test]
fn a_log_from_another_dockerfile_maps_nothing() {
    let failing: Vec<&str> =
        CAPTURED.iter().find(|c| c.0 == "bk20-plain-failing.log").map(|c| c.1.iter().map(|x| x.0).collect()).unwrap_or_default();
    let m = map(&dockerfile::parse(&multistage()), &failing);
    assert!(m.steps.iter().all(Option::is_none), "{:?}", lines(&m));
    assert_eq!(m.problems.len(), 1);
    let m = map(&dockerfile::parse(&dockerfile_of("bk20-plain-failing.log")), &MULTI_BK);
    assert!(m.steps.iter().all(Option::is_none), "{:?}", lines(&m));
}

#[test]
fn best_match_finds_each_logs_dockerfile() {
    let texts: Vec<(String, String)> = CAPTURED.iter().map(|(log, _)| (log.to_string(), dockerfile_of(log))).collect();
    let parsed: Vec<Dockerfile> = texts.iter().map(|(_, t)| dockerfile::parse(t)).collect();
    let candidates: Vec<(&str, &Dockerfile)> = texts.iter().map(|(l, _)| l.as_str()).zip(&parsed).collect();
    for (log, cases) in CAPTURED.iter().filter(|c| !c.1.is_empty()) {
        let names: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let (best, score) = mapping::best_match(&candidates, &build_of(log, &names)).unwrap_or_else(|| panic!("{log}: no match"));
        assert_eq!(texts[best].1, dockerfile_of(log), "{log} matched {}", texts[best].0);
        assert_eq!(score, 1.0, "{log}");
    }
}

#[test]
fn crlf_and_escape_directive() {
    let crlf = multistage().replace('\n', "\r\n");
    assert_eq!(lines(&map(&dockerfile::parse(&crlf), &MULTI_BK)), unchanged(&MULTI_LINES));
    let failing = dockerfile_of("bk20-plain-failing.log");
    let backtick = format!("# escape=`\n{}", failing.replace(" \\\n", " `\n"));
    let names = [
        "[5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3",
        "[6/6] RUN echo \"never reached\"",
    ];
    let m = map(&dockerfile::parse(&backtick), &names);
    assert_eq!(lines(&m), [Some((6, false)), Some((9, false))]);
    let df = dockerfile::parse(&backtick);
    assert_eq!((df.instructions[4].line, df.instructions[4].end_line), (6, 8));
}

#[test]
fn heredocs() {
    let text = "# syntax=docker/dockerfile:1\nFROM alpine\nRUN <<EOF\nset -e\napk add curl\nEOF\nCOPY <<-CONF /etc/app.conf\n\tkey=1\n\tCONF\nRUN cat > /x <<'EOT'\n$HOME\nEOT\nRUN echo done\n";
    let names = [
        "[1/5] FROM docker.io/library/alpine:latest@sha256:0123",
        "[2/5] RUN <<EOF",
        "[3/5] COPY <<-CONF /etc/app.conf",
        "[4/5] RUN cat > /x <<'EOT'",
        "[5/5] RUN echo done",
    ];
    let m = map(&dockerfile::parse(text), &names);
    let got: Vec<(u32, u32)> = m.steps.iter().flatten().map(|s| (s.line, s.end_line)).collect();
    assert_eq!(got, [(2, 2), (3, 6), (7, 9), (10, 12), (13, 13)]);
}

#[test]
fn error_block_lines_win_over_a_repeated_instruction() {
    let df = dockerfile::parse("FROM a\nRUN make\nRUN make\n");
    let mut b = build(&["[1/3] FROM docker.io/library/a", "[3/3] RUN make"]);
    b.steps[1].dockerfile_lines = Some([3, 3]);
    let m = mapping::map_build(&df, &b);
    assert_eq!(m.steps[1].as_ref().map(|s| (s.line, s.how)), Some((3, How::ErrorLines)));
}

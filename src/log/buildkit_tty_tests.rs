//! Unit tests of the tty parser: frames, cut names, rows, warnings, error blocks.

use super::*;
use crate::log::parse_bytes;

/// `result | name status duration lines` per step.
fn check(log: &str, expected: &str) {
    let parsed = parse_bytes(log.as_bytes());
    let mut got = String::new();
    for b in &parsed.builds {
        got += &format!("{:?} {:?} {:?}\n", b.format, b.result, b.error.as_deref().unwrap_or("-"));
        for s in &b.steps {
            got += &format!("  {} {:?} {:?} {} {:?} {:?}\n", s.name, s.status, s.duration_ms, s.output.lines, s.exit_code, s.excerpt);
        }
    }
    assert_eq!(got.trim(), expected.trim(), "\n{got}");
}

#[test]
fn frames_last_state_wins() {
    check(
        "[+] Building 0.1s (1/2)\n => [1/2] FROM x   0.0s\n => [2/2] RUN make   0.1s\n => => # cc a.c\n[+] Building 0.2s (1/2)\n => [1/2] FROM x   0.0s\n => [2/2] RUN make   0.2s\n => => # cc a.c\n => => # cc b.c\n[+] Building 0.3s (2/2) FINISHED\n => [1/2] FROM x   0.0s\n => [2/2] RUN make   0.3s\n",
        "BuildkitTty Success \"-\"\n  [1/2] FROM x Executed Some(0) 0 None []\n  [2/2] RUN make Executed Some(300) 2 None [\"cc a.c\", \"cc b.c\"]",
    );
}

#[test]
fn truncated_names_and_error_block() {
    check(
        "[+] Building 0.1s (2/3)\n => CACHED [1/2] FROM docker.io/library/fixture-base   0.0s\n => ERROR [2/2] RUN echo \"checking for compiler... no\" >&  0.0s\n------\n > [2/2] RUN echo \"checking for compiler... no\" >&2 && exit 3:\n#9 0.045 checking for compiler... no\n------\nexecutor failed running [/bin/sh -c echo]: exit code: 3\n",
        "BuildkitTty Failed \"executor failed running [/bin/sh -c echo]: exit code: 3\"\n  [1/2] FROM docker.io/library/fixture-base Cached None 0 None []\n  [2/2] RUN echo \"checking for compiler... no\" >&2 && exit 3 Error Some(0) 1 Some(3) [\"checking for compiler... no\"]",
    );
}

#[test]
fn truncated_log_is_running_and_restart_is_new_build() {
    check(
        "[+] Building 0.1s (0/1)\n => [1/1] RUN x   0.1s\n[+] Building 2.0s (1/1) FINISHED\n => [1/1] RUN x   2.0s\n[+] Building 0.1s (0/1)\n => [1/1] RUN y   0.1s\n",
        "BuildkitTty Success \"-\"\n  [1/1] RUN x Executed Some(2000) 0 None []\nBuildkitTty Running \"-\"\n  [1/1] RUN y Running Some(100) 0 None []",
    );
}

#[test]
fn names_that_reach_the_time_column_may_be_cut() {
    let frame = "[+] Building 1.0s (3/3) FINISHED\n => [1/3] FROM docker.io/library/alpine:3.19             0.0s\n => [2/3] COPY a.conf /etc/a.conf                          0.1s\n => [3/3] RUN apk add --no-cache curl bash git openssh-c  0.9s\n";
    let clipped = |log: &str| -> Vec<bool> { parse_bytes(log.as_bytes()).builds[0].steps.iter().map(|s| s.clipped).collect() };
    assert_eq!(clipped(frame), [false, false, true]);
    // A later frame with the whole name (a wider terminal) shows it was not cut.
    let wider =
        format!("{frame}[+] Building 1.1s (3/3) FINISHED\n => [3/3] RUN apk add --no-cache curl bash git openssh-client        0.9s\n");
    assert_eq!(clipped(&wider), [false, false, false]);
    // The error block prints the whole name.
    let failed = frame.replace(" => [3/3]", " => ERROR [3/3]")
        + "------\n > [3/3] RUN apk add --no-cache curl bash git openssh-client:\n------\nERROR: failed to solve: exit code: 1\n";
    assert_eq!(clipped(&failed), [false, false, false]);
}

#[test]
fn a_row_a_chunked_writer_cut_is_rejoined() {
    // Each chunk behind `[time] ` (VS Code's devcontainer log); one chunk ends inside a row.
    let log = "[2024-05-01T10:00:00.000Z] [+] Building 2.0s (3/3) FINISHED\n => [1/3] FROM docker.io/library/alpine  0.0s\n[2024-05-01T10:00:00.100Z]  => [3/3] COPY a /a  0.1s\n => CACHED [2/3] RUN apk add --no-cac\n[2024-05-01T10:00:00.200Z] he curl  0.0s\n => [4/4] RUN x\n => => # out\n";
    check(
        log,
        "BuildkitTty Success \"-\"\n  [1/3] FROM docker.io/library/alpine Executed Some(0) 0 None []\n  [3/3] COPY a /a Executed Some(100) 0 None []\n  [2/3] RUN apk add --no-cache curl Cached None 0 None []\n  [4/4] RUN x Executed None 1 None [\"out\"]",
    );
}

/// Build-check rows (` => WARN: Rule: … (line N)`) are warnings of the build, once however many frames
/// redraw them, and never steps.
#[test]
fn warn_rows_are_warnings() {
    let frame = |t: &str, done: &str| {
        format!("[+] Building {t}s (3/3){done}\n => [internal] load build definition from Dockerfile   0.0s\n => WARN: FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)   0.0s\n => [b 1/2] FROM docker.io/library/alpine   0.0s\n => CACHED [b 2/2] RUN echo hi   0.0s\n")
    };
    let log = frame("0.1", "") + &frame("0.2", " FINISHED");
    let parsed = parse_bytes(log.as_bytes());
    let b = &parsed.builds[0];
    let names: Vec<&str> = b.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["[internal] load build definition from Dockerfile", "[b 1/2] FROM docker.io/library/alpine", "[b 2/2] RUN echo hi"]);
    let warnings: Vec<(u32, Option<&str>)> = b.warnings.iter().map(|w| (w.line, w.code.as_deref())).collect();
    assert_eq!(warnings, [(1, Some("FromAsCasing"))]);
}

/// A bake/compose `target X:` final error is the error of X's failed rows, not of another target's.
#[test]
fn target_error_stays_with_its_target() {
    let log = "[+] Building 0.6s (4/6)\n => [api internal] load build definition from api.Dockerfile   0.0s\n => [worker internal] load build definition from worker.Dockerfile   0.0s\n => ERROR [api internal] load metadata for docker.io/example/api-base:1   0.4s\n => ERROR [worker internal] load metadata for docker.io/example/worker-base:2   0.4s\n------\n > [api internal] load metadata for docker.io/example/api-base:1:\n------\napi.Dockerfile:1\n--------------------\n   1 | >>> FROM example/api-base:1\n--------------------\ntarget api: failed to solve: example/api-base:1: pull access denied\n";
    let parsed = parse_bytes(log.as_bytes());
    type Failed<'a> = (&'a str, Option<&'a str>, Option<[u32; 2]>);
    let errors: Vec<Failed> = parsed.builds[0]
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Error)
        .map(|s| (s.name.as_str(), s.error.as_deref(), s.dockerfile_lines))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "[api internal] load metadata for docker.io/example/api-base:1",
                Some("target api: failed to solve: example/api-base:1: pull access denied"),
                Some([1, 1])
            ),
            ("[worker internal] load metadata for docker.io/example/worker-base:2", None, None),
        ]
    );
}

#[test]
fn rows_and_headers() {
    assert_eq!(header(b"[+] Building 4.6s (14/14) FINISHED   docker:default"), Some((46, true)));
    assert_eq!(header(b"[+] Building 0.0s (0/1)"), Some((0, false)));
    assert_eq!(header(b"[+] Running 2/2"), None);
    assert!(row(b" => => # x").is_none());
    assert!(row(b" => ").is_none());
    let r = row(b" => CANCELED [a 1/2] RUN x   12.3s").map(|r| (r.status, r.name.to_vec(), r.duration_ms));
    assert_eq!(r, Some((Some(StepStatus::Canceled), b"[a 1/2] RUN x".to_vec(), Some(12300))));
    assert!(!Parser::starts(&Line::synthetic(b" => see above", 0, 1)));
    assert!(Parser::starts(&Line::synthetic(b" => [internal] load .dockerignore  0.0s", 0, 1)));
}

//! Unit tests of the plain parser: one `check` helper, one small log per case.

use super::*;
use crate::log::parse_bytes;

/// One line per build (`result error`) and per step (`name status duration lines exit dockerfile_lines`).
fn summary(log: &str) -> String {
    let parsed = parse_bytes(log.as_bytes());
    let mut out = String::new();
    for b in &parsed.builds {
        out += &format!("build {:?} {:?}\n", b.result, b.error.as_deref().unwrap_or("-"));
        for s in &b.steps {
            out +=
                &format!("  {} {:?} {:?} {} {:?} {:?}\n", s.name, s.status, s.duration_ms, s.output.lines, s.exit_code, s.dockerfile_lines);
        }
    }
    out
}

fn check(log: &str, expected: &str) {
    let got = summary(log);
    assert_eq!(got.trim(), expected.trim(), "\n{got}");
}

#[test]
fn simple_success() {
    check(
        "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] RUN make\n#2 0.053 cc a.c\n#2 15.86 cc b.c\n#2 DONE 16.1s\n",
        "build Success \"-\"\n  [internal] load build definition from Dockerfile Executed Some(0) 0 None None\n  [1/2] RUN make Executed Some(16100) 2 None None",
    );
}

#[test]
fn v08_error_and_bare_final_line() {
    check(
        "#1 [1/1] RUN exit 3\n#1 sha256:8de18f682f05aff36ba24e8801a45ccb7eab593963fb2996dac4f9d1dc709ab4\n#1 ERROR: executor failed running [/bin/sh -c exit 3]: exit code: 3\n------\n > [1/1] RUN exit 3:\n------\nexecutor failed running [/bin/sh -c exit 3]: exit code: 3\n",
        "build Failed \"executor failed running [/bin/sh -c exit 3]: exit code: 3\"\n  [1/1] RUN exit 3 Error None 0 Some(3) None",
    );
}

#[test]
fn snippet_range_goes_to_the_failed_step() {
    check(
        "#1 [1/2] FROM x\n#1 DONE 0.1s\n#2 [2/2] RUN a &&     b\n#2 0.1 hi\n#2 ERROR: process \"/bin/sh -c a && b\" did not complete successfully: exit code: 100\n------\n > [2/2] RUN a &&     b:\n0.1 hi\n------\nDockerfile:3\n--------------------\n   2 |     FROM x\n   3 | >>> RUN a && \\\n   4 | >>>     b\n--------------------\nERROR: failed to build: failed to solve: process \"/bin/sh -c a && b\" did not complete successfully: exit code: 100\n",
        "build Failed \"ERROR: failed to build: failed to solve: process \\\"/bin/sh -c a && b\\\" did not complete successfully: exit code: 100\"\n  [1/2] FROM x Executed Some(100) 0 None None\n  [2/2] RUN a &&     b Error None 1 Some(100) Some([3, 4])",
    );
}

#[test]
fn glued_done_masked_seconds_and_interleave() {
    check(
        // v0.8 (the only version that glues) prints the vertex digest after each header.
        "#1 [1/2] RUN a\n#1 sha256:0000000000000000000000000000000000000000000000000000000000000001\n#1 ***.54 x\n#1 ...\n\n#2 [2/2] RUN b\n#2 0.045 last#2 DONE 0.0s\n\n#1 [1/2] RUN a\n#1 1.0 y\n#1 DONE 1.1s\n",
        "build Success \"-\"\n  [1/2] RUN a Executed Some(1100) 2 None None\n  [2/2] RUN b Executed Some(0) 1 None None",
    );
}

#[test]
fn numbering_restart_is_a_new_build() {
    check(
        "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#2 [1/1] RUN a\n#2 DONE 0.1s\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#2 [1/1] RUN b\n#2 0.1 x\n",
        "build Success \"-\"\n  [internal] load build definition from Dockerfile Executed Some(0) 0 None None\n  [1/1] RUN a Executed Some(100) 0 None None\nbuild Running \"-\"\n  [internal] load build definition from Dockerfile Executed Some(0) 0 None None\n  [1/1] RUN b Running None 1 None None",
    );
}

#[test]
fn repeated_first_header_is_the_same_build() {
    check(
        "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile.wasm\n#1 DONE 0.0s\n\n#1 [internal] load build definition from Dockerfile.wasm\n#1 DONE 4.4s\n",
        "build Success \"-\"\n  [internal] load build definition from Dockerfile.wasm Executed Some(4400) 0 None None",
    );
}

#[test]
fn canceled_by_user() {
    check(
        "#1 [1/2] RUN a\n#1 CANCELED\n#2 [2/2] RUN b\n#2 CANCELED\nERROR: failed to solve: Canceled: context canceled\n",
        "build Canceled \"ERROR: failed to solve: Canceled: context canceled\"\n  [1/2] RUN a Canceled None 0 None None\n  [2/2] RUN b Canceled None 0 None None",
    );
}

#[test]
fn prose_and_chatter_do_not_start() {
    check("# heading\n#12 is fixed\nhello #1 [x]\n", "");
    for line in ["#1 [1/2] RUN x", "#0 building with \"x\" instance", "#4 0.045 hi", "#3 CACHED", "#7 DONE 0.1s"] {
        assert!(Parser::starts(&Line::synthetic(line.as_bytes(), 0, 1)), "{line}");
    }
    for line in ["#1", "# 1 [x]", "#1 fixed the bug", "#a [x]", "##[error]x", "#0 [x]"] {
        assert!(!Parser::starts(&Line::synthetic(line.as_bytes(), 0, 1)), "{line}");
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration(b"0.1s"), Some(100));
    assert_eq!(parse_duration(b"142.6s"), Some(142_600));
    assert_eq!(parse_duration(b"3s"), Some(3000));
    assert_eq!(parse_duration(b"1.2345s"), Some(1234));
    assert_eq!(parse_duration(b"s"), None);
    assert_eq!(parse_duration(b"99999999999999s"), None);
    assert_eq!(split_vertex(b"#12 x"), Some((12, &b"x"[..])));
    assert_eq!(split_vertex(b"#9999999999 x"), None);
    assert_eq!(split_vertex(b"#12x"), None);
}

#[test]
fn warnings_digest_image_and_dockerfile() {
    let log = "#1 [internal] load build definition from app.Dockerfile\n#1 sha256:349719ce5ea2894fe5111f9b6540d130fdcca6dbbcc26297fcbfc56af7936cc8\n#1 WARN: Empty continuation line\n#1 DONE 0.0s\n#2 exporting to image\n#2 writing image sha256:abc done\n#2 naming to docker.io/library/x:1 done\n#2 DONE 0.1s\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!(b.dockerfile.as_deref(), Some("app.Dockerfile"));
    assert_eq!(b.steps[0].warnings, vec!["Empty continuation line".to_string()]);
    assert!(b.steps[0].digest.as_deref().is_some_and(|d| d.starts_with("sha256:3497")));
    let image = b.image.as_ref().map(|i| (i.id.clone(), i.tags.clone()));
    assert_eq!(image, Some((Some("sha256:abc".into()), vec!["docker.io/library/x:1".into()])));
}

#[test]
fn console_wrapped_header_is_rejoined() {
    let log = "#4 [build 1/8] FROM docker.1ms.run/library/python:3.10-slim@sha256:4b0a8ebf16cf\n4563f3d3\n#4 DONE 0.0s\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!(b.steps[0].name, "[build 1/8] FROM docker.1ms.run/library/python:3.10-slim@sha256:4b0a8ebf16cf4563f3d3");
    assert_eq!(b.steps[0].k, Some(1));
}

#[test]
fn hostile_input_never_panics() {
    for log in [
        "#",
        "#0",
        "#1 ",
        "#1 ERROR",
        "#65537 [x] y\n#65537 0.1 z",
        "------\n > :\n",
        "Dockerfile:1\n--------------------\n 1 | >>>",
        "#1 [a]\n#1 DONE 99999999999999999999.9s",
    ] {
        let _ = parse_bytes(log.as_bytes());
    }
}

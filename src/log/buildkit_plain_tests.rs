//! Unit tests of the plain parser: one `check` helper, one small log per case.

use super::*;
use crate::log::{parse_bytes, BuildResult};

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

/// Problems of the first build.
fn problems(log: &str) -> Vec<String> {
    let parsed = parse_bytes(log.as_bytes());
    parsed.builds.first().map(|b| b.problems.iter().map(|p| p.message.clone()).collect()).unwrap_or_default()
}

#[test]
fn zero_output_goes_to_the_step_printed_before_it() {
    // BuildKit v0.10-0.11: the first log lines of a vertex, formatted before its index was assigned.
    check(
        "#0 building with \"default\" instance using docker driver\n\n#1 [1/2] FROM alpine\n#1 DONE 0.1s\n\n#2 [2/2] RUN npm ci\n#0 0.512 npm warn deprecated a@1\n#0 0.513 npm warn deprecated b@2\n#2 1.20 added 3 packages\n#2 DONE 1.3s\n",
        "build Success \"-\"\n  [1/2] FROM alpine Executed Some(100) 0 None None\n  [2/2] RUN npm ci Executed Some(1300) 3 None None",
    );
    // Interleaved: each `#0` run follows the header of its own vertex.
    check(
        "#3 [a 1/1] RUN x\n#0 0.1 x1\n#3 ...\n\n#4 [b 1/1] RUN y\n#0 0.2 y1\n#0 0.3 y2\n#4 DONE 0.4s\n\n#3 [a 1/1] RUN x\n#3 1.0 x2\n#3 DONE 1.1s\n",
        "build Success \"-\"\n  [a 1/1] RUN x Executed Some(1100) 2 None None\n  [b 1/1] RUN y Executed Some(400) 2 None None",
    );
}

#[test]
fn zero_lines_never_make_a_step_and_keep_their_text() {
    // After the last DONE no step runs: the build is finished, the text is kept as a problem.
    let log = "#1 [1/1] RUN x\n#1 DONE 0.1s\n#2 exporting to image\n#2 DONE 0.2s\n#0 3.001 warning: something late\n";
    check(log, "build Success \"-\"\n  [1/1] RUN x Executed Some(100) 0 None None\n  exporting to image Executed Some(200) 0 None None");
    assert_eq!(problems(log), vec!["output under #0 that belongs to no running step: warning: something late".to_string()]);
    // `#0 WARN:` is a warning of the running step; `#0 DONE`, `#0 CACHED` change nothing.
    let log = "#1 [1/1] RUN x\n#0 WARN: no platform given\n#0 DONE 9.9s\n#0 CACHED\n#1 DONE 0.1s\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!((b.result, b.steps.len()), (BuildResult::Success, 1));
    assert_eq!((b.steps[0].warnings.clone(), b.steps[0].duration_ms), (vec!["no platform given".to_string()], Some(100)));
    // Behind CI timestamps too.
    let log =
        "2024-01-01T00:00:00.0000000Z #1 [1/1] RUN x\n2024-01-01T00:00:01.0000000Z #0 0.9 hi\n2024-01-01T00:00:02.0000000Z #1 DONE 1.0s\n";
    check(log, "build Success \"-\"\n  [1/1] RUN x Executed Some(1000) 1 None None");
}

#[test]
fn client_errors_end_the_build_and_never_join_a_header() {
    let header = "#20 [backend builder 4/5] RUN npm run build --workspace @example/backend --if-present";
    assert!(header.len() >= WRAP_MIN, "a header long enough to be taken for a console-wrapped one");
    for error in [
        "target backend: failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF",
        "Target backend: failed to solve: process \"/bin/sh -c npm run build\" did not complete successfully: exit code: 1",
        "failed to receive status: rpc error: code = Unavailable desc = closing transport due to: connection error",
        "ERROR: failed to receive status: rpc error: code = Canceled desc = grpc: the client connection is closing",
        "error: failed to solve: rpc error: code = Unknown desc = x",
        "error: docker daemon went away",
    ] {
        let log = format!("#19 [backend builder 3/5] COPY . .\n#19 DONE 0.3s\n\n{header}\n{error}\n");
        let b = &parse_bytes(log.as_bytes()).builds[0];
        assert_eq!((b.result, b.error.as_deref()), (BuildResult::Failed, Some(error)), "{error}");
        assert_eq!(b.steps[1].name, &header[4..], "{error}");
        assert_eq!((b.steps[1].k, b.steps[1].n), (Some(4), Some(5)));
    }
    // After a long output line the error does not extend the step's output either.
    let log = format!("#5 [1/1] RUN x\n#5 0.1 {}\ntarget web: failed to receive status: EOF\n", "o".repeat(80));
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!((b.result, b.steps[0].output.lines, b.steps[0].output.end), (BuildResult::Failed, 1, 103));
}

#[test]
fn client_error_lines_after_a_finished_build_are_not_its_error() {
    // Another tool's `error:` after the build finished (a later `git push`) is not the build's.
    let log =
        "#1 [1/1] RUN x\n#1 DONE 0.1s\n#2 exporting to image\n#2 DONE 0.2s\nerror: pathspec 'x' did not match any file(s) known to git\n";
    assert_eq!(parse_bytes(log.as_bytes()).builds[0].result, BuildResult::Success);
    let log = "#1 [1/1] RUN x\n#1 DONE 0.1s\nerror: src refspec main does not match any\n";
    assert_eq!(parse_bytes(log.as_bytes()).builds[0].result, BuildResult::Success);
    // A wrapped header is still rejoined when the next line is not an error.
    let log = "#4 [build 1/8] FROM docker.1ms.run/library/python:3.10-slim@sha256:4b0a8ebf16cf\n4563f3d3\nERROR: failed to solve: x\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert!(b.steps[0].name.ends_with("4b0a8ebf16cf4563f3d3"), "{}", b.steps[0].name);
    assert_eq!(b.result, BuildResult::Failed);
}

#[test]
fn masked_vertex_numbers_are_steps_by_name() {
    use super::unnumbered::split_masked;
    assert_eq!(split_masked(b"#*** CACHED"), Some(&b"CACHED"[..]));
    assert_eq!(split_masked(b"#1***2 [a 1/2] RUN x"), Some(&b"[a 1/2] RUN x"[..]));
    assert_eq!(split_masked(b"#***"), Some(&b""[..]));
    for no in [&b"#** x"[..], b"#***x", b"#12 x", b"#*a*** x", b"***", b"# *** x"] {
        assert_eq!(split_masked(no), None, "{}", String::from_utf8_lossy(no));
    }
    check(
        "#21 [production 3/9] RUN addgroup app\n#21 CACHED\n\n#*** [production 4/9] RUN apk add --no-cache curl\n#*** CACHED\n\n#23 [production 5/9] COPY a b\n#23 DONE 0.2s\n",
        "build Success \"-\"\n  [production 3/9] RUN addgroup app Cached None 0 None None\n  [production 4/9] RUN apk add --no-cache curl Cached None 0 None None\n  [production 5/9] COPY a b Executed Some(200) 0 None None",
    );
    // A prefix-less vertex name (`FROM <image>` of a `COPY --from=<image>`) after a finished masked step.
    check(
        "#*** [1/2] COPY --from=alpine /a /a\n#*** DONE 0.1s\n#*** FROM docker.io/library/alpine:latest\n#*** resolve docker.io/library/alpine:latest done\n#*** DONE 0.2s\n",
        "build Success \"-\"\n  [1/2] COPY --from=alpine /a /a Executed Some(100) 0 None None\n  FROM docker.io/library/alpine:latest Executed Some(200) 0 None None",
    );
    // Partly masked (`#1***`), output, an interleave, and the header printed again with its DONE.
    check(
        "#1*** [2/3] RUN make\n#1*** 0.1 cc a.c\n#1*** ...\n\n#7 [3/3] RUN test\n#7 DONE 0.1s\n\n#1*** [2/3] RUN make\n#1*** 2.0 cc b.c\n#1*** ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2\n",
        "build Failed \"-\"\n  [2/3] RUN make Error None 2 Some(2) None\n  [3/3] RUN test Executed Some(100) 0 None None",
    );
}

#[test]
fn masked_states_that_follow_no_masked_header_change_no_step() {
    let log = "#*** [1/2] RUN a\n#*** ...\n\n#5 [2/2] RUN b\n#*** DONE 9.0s\n#*** 0.1 stray\n#5 DONE 0.5s\n";
    // `[1/2]` completed (the next step of its stage ran) but without the masked `DONE 9.0s`'s duration.
    check(log, "build Success \"-\"\n  [1/2] RUN a Executed None 0 None None\n  [2/2] RUN b Executed Some(500) 0 None None");
    assert_eq!(
        problems(log),
        vec![
            "a masked vertex number (#***) whose step is unknown: DONE 9.0s".to_string(),
            "output of a masked vertex number (#***) that follows no masked header: 0.1 stray".to_string()
        ]
    );
}

#[test]
fn word_wrapped_header_before_a_long_word_is_rejoined() {
    // A word-wrapping console (PowerShell, width 60 here) breaks before a word longer than the rest
    // of the row: the first part is short and ends in the space it broke at.
    let image = format!("docker.io/library/node:22-alpine@sha256:{}", "ab".repeat(32));
    let log = format!("#5 [deps 1/3] FROM \n{image}\n#5 resolve {image} \n0.2s done\n#5 DONE 0.3s\n#6 [deps 2/3] RUN x\n#6 DONE 0.1s\n");
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!(b.steps[0].name, format!("[deps 1/3] FROM {image}"));
    assert_eq!(b.steps[0].instruction.as_deref(), Some(format!("FROM {image}").as_str()));
    assert_eq!(b.steps.iter().map(|s| s.status).collect::<Vec<_>>(), [StepStatus::Executed, StepStatus::Executed]);
}

#[test]
fn console_wrapped_error_lines_are_rejoined() {
    // The step's `ERROR:` line and the final line, each broken by a console at 60 columns.
    let log = "\
#7 [2/2] RUN apt-get update && apt-get install -y     libfoo1
#7 0.5 E: Unable to locate package libfoo1
#7 ERROR: process \"/bin/sh -c apt-get update && apt-get install 
-y     libfoo1\" did not complete successfully: exit code: 100
------
 > [2/2] RUN apt-get update && apt-get install -y     libfoo1:
0.5 E: Unable to locate package libfoo1
------
ERROR: failed to build: failed to solve: process \"/bin/sh -c 
apt-get update && apt-get install -y     libfoo1\" did not 
complete successfully: exit code: 100

an unrelated line
";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    let whole = "process \"/bin/sh -c apt-get update && apt-get install -y     libfoo1\" did not complete successfully: exit code: 100";
    assert_eq!(b.steps[0].error.as_deref(), Some(whole));
    assert_eq!(b.steps[0].exit_code, Some(100));
    assert_eq!(b.error.as_deref(), Some(format!("ERROR: failed to build: failed to solve: {whole}").as_str()));
}

#[test]
fn a_final_line_that_ends_without_a_space_takes_no_more() {
    let log = "#1 [1/1] RUN x\n#1 ERROR: boom\n------\n > [1/1] RUN x:\n------\nERROR: failed to solve: boom\nnot part of it\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!(b.error.as_deref(), Some("ERROR: failed to solve: boom"));
    assert_eq!(b.steps[0].error.as_deref(), Some("boom"));
}

#[test]
fn the_step_a_build_died_in_takes_its_error() {
    // The daemon went away during a step: no `#n ERROR`, only the client's final line.
    check(
        "#1 [1/2] FROM x\n#1 DONE 0.1s\n#2 [2/2] RUN npm run build\n#2 3.0 Creating an optimized production build ...\nERROR: failed to build: failed to solve: Unavailable: error reading from server: EOF\n",
        "build Failed \"ERROR: failed to build: failed to solve: Unavailable: error reading from server: EOF\"\n  [1/2] FROM x Executed Some(100) 0 None None\n  [2/2] RUN npm run build Error None 1 None None",
    );
}

#[test]
fn steps_left_running_by_a_failure_are_canceled() {
    // Stage `a` fails while stage `b` still pulls its base image; the pull never prints CANCELED.
    check(
        "#1 [b 1/2] FROM y\n#1 resolve y 0.1s done\n#1 ...\n\n#2 [a 1/1] RUN false\n#2 ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n------\n > [a 1/1] RUN false:\n------\nERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n",
        "build Failed \"ERROR: failed to solve: process \\\"/bin/sh -c false\\\" did not complete successfully: exit code: 1\"\n  [b 1/2] FROM y Canceled None 0 None None\n  [a 1/1] RUN false Error None 0 Some(1) None",
    );
}

#[test]
fn a_log_cut_short_keeps_its_running_step() {
    check("#1 [1/1] RUN make\n#1 0.1 cc\n", "build Running \"-\"\n  [1/1] RUN make Running None 1 None None");
}

#[test]
fn a_narrow_console_hard_wraps_headers_mid_word() {
    // A 44-column console: every longer line is cut at 44, in the middle of a word.
    let image = format!("mcr.microsoft.com/dotnet/sdk:9.0@sha256:{}", "cd".repeat(32));
    let header = format!("#8 [build 1/2] FROM {image}");
    let mut log = String::from("#1 [internal] load build definition from \nDockerfile.api\n#1 DONE 0.1s\n");
    for chunk in header.as_bytes().chunks(44) {
        log += std::str::from_utf8(chunk).unwrap_or_default();
        log.push('\n');
    }
    log += "#8 DONE 0.2s\n\n#9 [build 2/2] RUN dotnet restore src/Api/Api.csproj && dotnet publish\n#9 DONE 9.0s\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile.api"));
    assert_eq!(b.steps[1].name, format!("[build 1/2] FROM {image}"));
    assert_eq!(b.steps.iter().map(|s| s.status).collect::<Vec<_>>(), [StepStatus::Executed; 3]);
}

#[test]
fn a_header_as_wide_as_the_log_keeps_a_prose_line_out_of_a_short_log() {
    // Only a line that goes on without `#` is joined: the next vertex line, a blank line or the
    // failure report after a header that happens to be the widest line stay what they are.
    let log = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#2 [1/1] RUN a-rather-long-command --with-flags\n\n#2 DONE 1.0s\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!(b.steps[1].name, "[1/1] RUN a-rather-long-command --with-flags");
    assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile"));
}

/// A step's `DONE` line cut out of the log (a trimmed paste) before its service's image was exported:
/// the export comes only after the whole graph, so the step completed and the build succeeded. Another
/// compose service's open step stays open, and a build that failed keeps its open steps canceled.
#[test]
fn a_step_without_done_before_the_export_completed() {
    let log = "#1 [1/3] FROM docker.io/library/alpine:3.20\n#1 CACHED\n\n#2 [2/3] RUN ./gradlew dependencies\n#2 0.675 Welcome to Gradle\n\n#3 [3/3] COPY src src/\n#3 DONE 14.4s\n\n#4 exporting to image\n#4 exporting layers 2.0s done\n#4 DONE 2.1s\n";
    let build = parse_bytes(log.as_bytes()).builds.remove(0);
    assert_eq!(build.result, BuildResult::Success, "{build:#?}");
    assert_eq!(build.steps.get(1).map(|s| (s.status, s.duration_ms)), Some((StepStatus::Executed, None)));
    let compose = "#1 [api 1/2] FROM docker.io/library/alpine:3.20\n#1 CACHED\n\n#2 [web 1/2] FROM docker.io/library/node:18\n#2 CACHED\n\n#3 [api 2/2] RUN make\n#3 0.1 compiling\n\n#4 [web 2/2] RUN npm ci\n#4 0.2 installing\n\n#5 [web] exporting to image\n#5 DONE 0.5s\n";
    let build = parse_bytes(compose.as_bytes()).builds.remove(0);
    let status = |name: &str| build.steps.iter().find(|s| s.name.contains(name)).map(|s| s.status);
    assert_eq!(status("npm ci"), Some(StepStatus::Executed));
    assert_eq!(status("make"), Some(StepStatus::Running), "api was not exported: {build:#?}");
}

#[test]
fn cache_hit_reopened_for_lazy_blobs_stays_cached() {
    let head = "#1 [1/3] FROM docker.io/library/alpine\n#1 DONE 0.0s\n\n#2 [2/3] RUN make\n#2 CACHED\n\n#3 [3/3] COPY app /app\n#3 CACHED\n\n#4 exporting to image\n#4 ...\n\n";
    let layers = "#3 sha256:0479c29a1895ac2a588a83452e0e922c771b3ea696361fb3005efd6dce23eb55 72.71MB / 72.71MB 4.4s done\n";
    let export = "\n#4 exporting to image\n#4 exporting layers done\n#4 DONE 7.2s\n";
    let steps = |copy: &str| {
        format!("build Success \"-\"\n  [1/3] FROM docker.io/library/alpine Executed Some(0) 0 None None\n  [2/3] RUN make Cached None 0 None None\n  {copy}\n  exporting to image Executed Some(7200) 0 None None")
    };
    // Printed again during export with layer rows only, then `DONE`: the lazy blobs pulled, nothing ran.
    check(&format!("{head}#3 [3/3] COPY app /app\n{layers}#3 DONE 4.8s\n{export}"), &steps("[3/3] COPY app /app Cached None 0 None None"));
    // The same without the header printed again (no other vertex printed in between).
    check(&format!("{head}{layers}#3 DONE 2.0s\n{export}"), &steps("[3/3] COPY app /app Cached None 0 None None"));
    // Output lines after the cache hit: the step ran again.
    check(
        &format!("{head}#3 [3/3] COPY app /app\n#3 0.512 copying\n#3 DONE 1.0s\n{export}"),
        &steps("[3/3] COPY app /app Executed Some(1000) 1 None None"),
    );
    // An error after the cache hit is the step's outcome.
    let failed = summary(&format!("{head}#3 [3/3] COPY app /app\n#3 ERROR: failed to pull layer\n"));
    assert!(failed.contains("[3/3] COPY app /app Error"), "{failed}");
}

#[test]
fn a_step_done_twice_keeps_the_last_done() {
    check(
        "#1 [internal] load .dockerignore\n#1 DONE 0.0s\n\n#2 [1/1] RUN make\n#2 0.1 a\n#2 DONE 1.0s\n\n#3 exporting to image\n#3 ...\n\n#2 [1/1] RUN make\n#2 DONE 3.0s\n\n#3 exporting to image\n#3 DONE 0.5s\n",
        "build Success \"-\"\n  [internal] load .dockerignore Executed Some(0) 0 None None\n  [1/1] RUN make Executed Some(3000) 1 None None\n  exporting to image Executed Some(500) 0 None None",
    );
}

#[test]
fn a_step_left_open_whose_stage_went_on_completed_in_a_failed_build() {
    let head = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [app 1/3] FROM docker.io/library/alpine\n#2 extracting sha256:73371b14db4cf2d6d0a3076adb5dc73e8ca64eb6c989ac941237e93bc30355bc 0.1s\n#2 ...\n\n#3 [tool 1/2] FROM docker.io/library/debian\n#3 ...\n\n";
    let fail = "#5 [build 2/2] RUN exit 1\n#5 ERROR: process \"/bin/sh -c exit 1\" did not complete successfully: exit code: 1\n------\n > [build 2/2] RUN exit 1:\n------\nERROR: failed to build: failed to solve: process \"/bin/sh -c exit 1\" did not complete successfully: exit code: 1\n";
    let app = "#4 [app 2/3] WORKDIR /app\n#4 DONE 0.0s\n\n";
    let got = summary(&format!("{head}{app}{fail}"));
    // `app`'s next step ran on its FROM's result: the FROM completed. `tool` went no further: stopped.
    assert!(got.contains("[app 1/3] FROM docker.io/library/alpine Executed None"), "{got}");
    assert!(got.contains("[tool 1/2] FROM docker.io/library/debian Canceled None"), "{got}");
    // Without a later step of its stage run, the open FROM is stopped by the failure too.
    let got = summary(&format!("{head}{fail}"));
    assert!(got.contains("[app 1/3] FROM docker.io/library/alpine Canceled None"), "{got}");
}

/// `log` as a log viewer copies it with timestamps shown (Google Cloud Console): a line holding only a
/// stamp, in the form `stamp` gives for line `i`, above each line. (A stamp ending in `Z` is a wrapper
/// `unwrap` strips: that copy is one of blank lines, not of bare stamps.)
fn stamped(log: &str, stamp: fn(usize) -> String) -> String {
    log.lines().enumerate().map(|(i, line)| format!("{}\n{line}\n", stamp(i))).collect()
}

#[test]
fn a_stamp_line_is_never_the_rest_of_a_wrapped_line() {
    let long = "docker.io/library/alpine:3.20@sha256:beefdbd8a1da6d2915566fde36db9db0b524eb737fc57cd1367effd16dc0d06d";
    let log = format!(
        "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/3] FROM {long}\n#2 DONE 0.1s\n\n\
         #3 [2/3] RUN apk add curl\n#3 CACHED\n\n#4 [3/3] RUN make && make install DESTDIR=/opt/app PREFIX=/usr/local\n\
         #4 1.000 make: *** [all] Error 2\n\
         #4 ERROR: process \"/bin/sh -c make && make install DESTDIR=/opt/app PREFIX=/usr/local\" did not complete successfully: exit code: 2\n\
         ------\n > [3/3] RUN make && make install DESTDIR=/opt/app PREFIX=/usr/local:\n1.000 make: *** [all] Error 2\n------\n\
         Dockerfile:3\n--------------------\n   1 |     FROM alpine:3.20\n   2 |     RUN apk add curl\n   3 | >>> RUN make && make install DESTDIR=/opt/app PREFIX=/usr/local\n--------------------\n\
         ERROR: failed to solve: process \"/bin/sh -c make && make install DESTDIR=/opt/app PREFIX=/usr/local\" did not \n\
         complete successfully: exit code: 2\n"
    );
    let plain = summary(&log);
    assert!(plain.contains(&format!("[1/3] FROM {long} Executed")), "{plain}");
    assert!(plain.contains("PREFIX=/usr/local Error None 1 Some(2) Some([3, 3])"), "{plain}");
    let stamps: [fn(usize) -> String; 4] = [
        |i| format!("2026-01-25 11:31:{:02}.{:03}", i % 60, i * 37 % 1000),
        |i| format!("2026-01-25T11:31:{:02}.{:06}", i % 60, i),
        |i| format!("2026-01-25 11:{:02}:00+01:00  ", i % 60),
        |i| format!("2026-01-25 11:31:{:02}\r", i % 60),
    ];
    for stamp in stamps {
        let copy = stamped(&log, stamp);
        assert_eq!(summary(&copy), plain, "{copy}");
    }
}

#[test]
fn a_stamp_after_a_long_error_line_is_not_its_text() {
    let log = "#4 [3/3] RUN make\n#4 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2\n\
               2026-01-25 11:31:12.296\n------\n > [3/3] RUN make:\n------\n\
               ERROR: failed to solve: process \"/bin/sh -c make\" did not complete successfully: exit code: 2\n";
    let b = &parse_bytes(log.as_bytes()).builds[0];
    assert_eq!(b.steps[0].error.as_deref(), Some("process \"/bin/sh -c make\" did not complete successfully: exit code: 2"));
    assert_eq!(b.steps[0].exit_code, Some(2));
}

//! Unit tests of the plain demultiplexer: hand-made logs of builds printed side by side.

use crate::log::{parse_bytes, Build, LogParser, ParsedLog, StepStatus};

/// One line per build (`result error`) and per step (`name status duration`).
fn summary(parsed: &ParsedLog) -> String {
    let mut out = String::new();
    for b in &parsed.builds {
        out += &format!("build {:?} {:?}\n", b.result, b.error.as_deref().unwrap_or("-"));
        for s in &b.steps {
            out += &format!("  {} {:?} {:?}\n", s.name, s.status, s.duration_ms);
        }
    }
    out
}

fn check(log: &str, expected: &str) -> ParsedLog {
    let parsed = parse_bytes(log.as_bytes());
    let got = summary(&parsed);
    assert_eq!(got.trim(), expected.trim(), "\n{got}");
    parsed
}

fn guessed(build: &Build) -> bool {
    build.problems.iter().any(|p| p.message.contains("by a guess"))
}

/// A backend (single stage, fails) and a frontend (two stages, all cached but the last) started at
/// once: same numbers, lockstep `[internal]` vertexes, then each its own steps.
const TWO: &str = "\
#0 building with \"default\" instance using docker driver

#1 [internal] load build definition from Dockerfile
#0 building with \"default\" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 300B done
#1 transferring dockerfile: 500B done
#1 DONE 0.1s
#1 DONE 0.2s

#2 [internal] load metadata for docker.io/library/alpine:3.20
#2 DONE 0.5s

#2 [internal] load metadata for docker.io/library/node:22
#2 DONE 0.9s

#3 [1/3] FROM docker.io/library/alpine:3.20
#3 CACHED

#3 [deps 1/2] FROM docker.io/library/node:22
#3 CACHED

#4 [deps 2/2] RUN npm ci
#4 CACHED

#4 [2/3] COPY . /src
#4 DONE 0.3s

#5 [web 2/3] COPY --from=deps /n /n
#5 CACHED

#5 [3/3] RUN make
#5 0.101 cc main.c
#6 [web 3/3] RUN npm run build
#5 0.202 main.c:1: error
#6 1.001 building
#5 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2
------
 > [3/3] RUN make:
0.202 main.c:1: error
------
#6 2.002 built
#6 DONE 2.5s
ERROR: failed to solve: process \"/bin/sh -c make\" did not complete successfully: exit code: 2

#7 exporting to image
#7 naming to docker.io/library/web:latest done
#7 DONE 0.4s
";

#[test]
fn two_builds_with_the_same_numbers_are_read_apart() {
    let parsed = check(
        TWO,
        r#"
build Failed "ERROR: failed to solve: process \"/bin/sh -c make\" did not complete successfully: exit code: 2"
  [internal] load build definition from Dockerfile Executed Some(100)
  [internal] load metadata for docker.io/library/alpine:3.20 Executed Some(500)
  [1/3] FROM docker.io/library/alpine:3.20 Cached None
  [2/3] COPY . /src Executed Some(300)
  [3/3] RUN make Error None
build Success "-"
  [internal] load build definition from Dockerfile Executed Some(200)
  [internal] load metadata for docker.io/library/node:22 Executed Some(900)
  [deps 1/2] FROM docker.io/library/node:22 Cached None
  [deps 2/2] RUN npm ci Cached None
  [web 2/3] COPY --from=deps /n /n Cached None
  [web 3/3] RUN npm run build Executed Some(2500)
  exporting to image Executed Some(400)
"#,
    );
    let [backend, frontend] = &parsed.builds[..] else { panic!("two builds") };
    let make = &backend.steps[4];
    assert_eq!((make.output.lines, make.exit_code), (2, Some(2)), "its own output lines, not the other build's");
    assert_eq!(frontend.steps[5].output.lines, 2);
    assert!(!guessed(backend) && !guessed(frontend), "{:?} {:?}", backend.problems, frontend.problems);
    assert_eq!(frontend.image.as_ref().map(|i| i.tags.clone()), Some(vec!["docker.io/library/web:latest".to_string()]));
}

#[test]
fn three_builds_each_keep_their_steps() {
    // Started a moment apart, each while the one before still loads its base image's metadata; then
    // all three print `[s<b> 1/n] FROM`, RUN steps in turns (same numbers), each stage its own `n`.
    let mut log = String::new();
    for b in 1..=3 {
        log += &format!(
            "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from b{b}.Dockerfile\n"
        );
        if b > 1 {
            log += &format!("#2 DONE 0.{}s\n", b - 1);
        }
        log += &format!("#1 DONE 0.{b}s\n\n#2 [internal] load metadata for docker.io/library/img{b}:1\n");
    }
    log += "#2 DONE 0.3s\n";
    for k in 1..=b_steps(3) {
        for b in 1..=3u32 {
            if k <= b_steps(b) {
                let what = if k == 1 {
                    format!("FROM docker.io/library/img{b}:1@sha256:{}", "ab".repeat(32))
                } else {
                    format!("RUN step {k} of {b}")
                };
                log += &format!("\n#{n} [s{b} {k}/{}] {what}\n#{n} {b}.{k}00 out\n#{n} DONE {b}.{k}s\n", b_steps(b), n = k + 2);
            }
        }
    }
    let parsed = parse_bytes(log.as_bytes());
    assert_eq!(parsed.builds.len(), 3, "{}", summary(&parsed));
    for (b, build) in (1..=3u32).zip(&parsed.builds) {
        assert_eq!(build.dockerfile.as_deref(), Some(format!("b{b}.Dockerfile").as_str()));
        let steps: Vec<_> = build.steps.iter().filter(|s| s.k.is_some()).collect();
        assert_eq!(steps.len() as u32, b_steps(b), "{}", summary(&parsed));
        for (k, s) in (1..).zip(&steps) {
            assert!(s.name.starts_with(&format!("[s{b} {k}/{}] ", b_steps(b))), "{}", s.name);
            assert_eq!((s.status, s.duration_ms, s.output.lines), (StepStatus::Executed, Some(u64::from(b * 1000 + k * 100)), 1));
        }
        let internal: Vec<_> = build.steps.iter().filter(|s| s.k.is_none()).map(|s| s.duration_ms).collect();
        assert_eq!(internal, [Some(u64::from(b) * 100); 2]);
        assert!(!guessed(build), "{:?}", build.problems);
    }
}

fn b_steps(b: u32) -> u32 {
    b + 1
}

#[test]
fn one_build_with_parallel_stages_stays_one_build() {
    let log = "\
#0 building with \"default\" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#2 [a 1/2] RUN sleep 1
#2 0.100 a
#2 ...

#3 [b 1/2] RUN sleep 1
#3 0.100 b
#3 ...

#2 [a 1/2] RUN sleep 1
#2 1.000 a done
#2 DONE 1.1s

#3 [b 1/2] RUN sleep 1
#3 DONE 1.2s

#4 exporting to image
#4 DONE 0.1s
";
    let parsed = check(
        log,
        r#"
build Success "-"
  [internal] load build definition from Dockerfile Executed Some(0)
  [a 1/2] RUN sleep 1 Executed Some(1100)
  [b 1/2] RUN sleep 1 Executed Some(1200)
  exporting to image Executed Some(100)
"#,
    );
    assert!(parsed.builds[0].problems.is_empty());
}

#[test]
fn builds_one_after_the_other_are_not_interleaved() {
    let one = "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/1] RUN a\n#2 DONE 1.0s\n";
    let parsed = parse_bytes(format!("{one}{one}").as_bytes());
    assert_eq!(parsed.builds.len(), 2);
    assert!(parsed.builds.iter().all(|b| b.problems.is_empty() && b.steps.len() == 2), "{}", summary(&parsed));
}

#[test]
fn a_line_that_fits_two_builds_is_a_problem_of_both() {
    // Both builds are idle at `#3` and neither has the stage `c` yet: the header fits either one.
    let log = AMBIGUOUS_TWO;
    let parsed = parse_bytes(log.as_bytes());
    assert_eq!(parsed.builds.len(), 2, "{}", summary(&parsed));
    assert!(parsed.builds.iter().all(guessed), "{:?}", parsed.builds.iter().map(|b| &b.problems).collect::<Vec<_>>());
}

#[test]
fn a_checkpoint_taken_between_interleaved_lines_resumes_to_the_same_result() {
    let whole = parse_bytes(TWO.as_bytes());
    for cut in [TWO.find("#2 DONE 0.9s").unwrap_or(0), TWO.find("#6 1.001").unwrap_or(0)] {
        let mut first = LogParser::new();
        first.feed(&TWO.as_bytes()[..cut]);
        let checkpoint = serde_json::to_string(&first.checkpoint()).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&checkpoint).unwrap_or_default();
        let mut resumed = LogParser::resume(&value).expect("the checkpoint reads back");
        let from = usize::try_from(resumed.resume_offset()).unwrap_or(0);
        resumed.feed(&TWO.as_bytes()[from..]);
        assert_eq!(resumed.finish(), whole, "cut at {cut}");
    }
}

#[test]
fn a_finished_build_without_export_does_not_take_the_next_builds_lines() {
    // setup-buildx boots its builder (a "build" of one internal vertex), then the real build runs; a
    // build to the cache only ends without `exporting to`.
    let log = "\
#1 [internal] booting buildkit
#1 DONE 3.0s
#0 building with \"builder-1\" instance using docker-container driver

#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#2 [1/2] FROM docker.io/library/alpine:3.20
#2 DONE 0.5s

#3 [2/2] RUN make
#3 0.100 cc
#3 DONE 1.0s
";
    let parsed = parse_bytes(log.as_bytes());
    // The boot is no build of a Dockerfile: left out beside the real one (channel::builds_a_dockerfile).
    assert_eq!(parsed.builds.len(), 1, "{}", summary(&parsed));
    let build = &parsed.builds[0];
    assert_eq!(
        build.steps.iter().map(|s| (s.duration_ms, s.output.lines)).collect::<Vec<_>>(),
        [(Some(0), 0), (Some(500), 0), (Some(1000), 1)]
    );
    assert!(parsed.builds.iter().all(|b| b.problems.is_empty()), "{:?}", parsed.builds.iter().map(|b| &b.problems).collect::<Vec<_>>());
}

#[test]
fn vertexes_after_the_export_stay_with_the_build_that_exported() {
    // setup-buildx boots its builder, then build-push-action's build exports, writes its cache to
    // GitHub Actions and resolves provenance: vertexes after the export that no other build printed.
    let log = "\
#1 [internal] booting buildkit
#1 DONE 3.0s
#0 building with \"builder-1\" instance using docker-container driver

#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s

#2 [1/2] FROM docker.io/library/alpine:3.20
#2 DONE 0.5s

#3 [2/2] RUN make
#3 DONE 1.0s

#4 exporting to image
#4 pushing layers 0.2s done
#4 DONE 0.3s

#5 [auth] me/app:pull,push token for ghcr.io
#5 DONE 0.0s

#6 exporting to GitHub Actions Cache
#6 preparing build cache for export 2.0s done
#6 DONE 2.0s

#7 resolving provenance for metadata file
#7 DONE 0.0s
";
    let parsed = parse_bytes(log.as_bytes());
    assert_eq!(parsed.builds.len(), 1, "{}", summary(&parsed));
    let build = &parsed.builds[0];
    assert!(build.problems.is_empty(), "{:?}", build.problems);
    let names: Vec<&str> = build.steps.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"exporting to GitHub Actions Cache") && names.contains(&"resolving provenance for metadata file"), "{names:?}");
}

/// Two builds side by side where `#3 [c 2/2]` fits either (both idle, neither has stage `c`): the log the
/// demultiplexer's and the analysis' tests of a guessed line share.
pub(crate) const AMBIGUOUS_TWO: &str = "\
#0 building with \"default\" instance using docker driver

#1 [internal] load build definition from Dockerfile
#0 building with \"default\" instance using docker driver

#1 [internal] load build definition from other.Dockerfile
#1 DONE 0.0s
#1 DONE 0.0s

#2 [a 1/2] RUN a
#2 DONE 1.0s

#2 [b 1/2] RUN b
#2 DONE 1.0s

#3 [c 2/2] RUN c
#3 DONE 1.0s
";

const SHA_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SHA_C: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const SHA_D: &str = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

/// BuildKit v0.8 (digest line under each header): a vertex number printed again with another digest is
/// another build's vertex, even while only one build has been seen, and even when the first build
/// printed its `#2` before its `#1` (v0.8 prints vertexes as they complete).
#[test]
fn a_v08_header_printed_again_with_another_digest_is_another_builds() {
    let log = format!(
        "#2 [internal] load .dockerignore\n#2 {SHA_A}\n#2 DONE 0.1s\n\
         #1 [internal] load build definition from Dockerfile\n#1 {SHA_B}\n\
         #2 [internal] load .dockerignore\n#2 {SHA_C}\n#2 DONE 0.2s\n\
         #1 DONE 0.1s\n\
         #1 [internal] load build definition from Dockerfile\n#1 {SHA_D}\n#1 DONE 0.3s\n\
         #3 [1/2] FROM docker.io/library/alpine\n#3 {SHA_A}\n#3 CACHED\n\
         #3 [1/2] FROM docker.io/library/alpine\n#3 {SHA_A}\n#3 CACHED\n"
    );
    let parsed = parse_bytes(log.as_bytes());
    let internal: Vec<usize> = parsed.builds.iter().map(|b| b.steps.iter().filter(|s| s.name.starts_with("[internal]")).count()).collect();
    assert_eq!(internal, [2, 2], "{}", summary(&parsed));
    let durations: Vec<Vec<Option<u64>>> = parsed.builds.iter().map(|b| b.steps.iter().take(2).map(|s| s.duration_ms).collect()).collect();
    assert!(durations.contains(&vec![Some(100), Some(100)]) || durations.contains(&vec![Some(200), Some(300)]), "{}", summary(&parsed));
}

/// Two builds with their `#5` open at once: output could be either's, but `ERROR: executor failed
/// running [CMD]` names the command of one of them.
#[test]
fn an_exec_error_goes_to_the_build_whose_step_runs_that_command() {
    let log = format!(
        "#1 [internal] load build definition from Dockerfile\n#1 {SHA_A}\n#1 DONE 0.1s\n\
         #1 [internal] load build definition from Dockerfile\n#1 {SHA_B}\n#1 DONE 0.1s\n\
         #5 [app 2/3] RUN echo a && false\n#5 {SHA_C}\n\
         #5 [tools 2/4] RUN echo b && sleep 1\n#5 {SHA_D}\n\
         #5 ERROR: executor failed running [/bin/sh -c echo a && false]: exit code: 1\n\
         #5 DONE 1.2s\n"
    );
    let parsed = parse_bytes(log.as_bytes());
    let status = |name: &str| -> Vec<StepStatus> {
        parsed.builds.iter().flat_map(|b| &b.steps).filter(|s| s.name.contains(name)).map(|s| s.status).collect()
    };
    assert_eq!(status("RUN echo a"), [StepStatus::Error], "{}", summary(&parsed));
    assert_eq!(status("RUN echo b"), [StepStatus::Executed], "{}", summary(&parsed));
}

/// A build that loaded its Dockerfile and has nothing running is not over: a header that fits it and
/// the build started beside it is not given to the newer build without a word (a tie is a guess).
#[test]
fn a_build_between_vertexes_keeps_taking_its_own_headers() {
    let log = format!(
        "#1 [internal] load build definition from Dockerfile\n#1 {SHA_A}\n#1 DONE 0.1s\n\
         #2 [internal] load .dockerignore\n#2 {SHA_B}\n#2 DONE 0.1s\n\
         #1 [internal] load build definition from Dockerfile\n#1 {SHA_C}\n#1 DONE 0.3s\n\
         #5 [internal] load build context\n#5 {SHA_D}\n#5 DONE 0.1s\n\
         #2 [internal] load .dockerignore\n#2 {SHA_A}\n#2 DONE 0.1s\n\
         #5 [final 2/4] RUN echo b\n#5 {SHA_B}\n#5 DONE 0.1s\n"
    );
    let parsed = parse_bytes(log.as_bytes());
    let with_run: Vec<&Build> = parsed.builds.iter().filter(|b| b.steps.iter().any(|s| s.name.contains("RUN echo b"))).collect();
    assert_eq!(with_run.len(), 1, "{}", summary(&parsed));
    let second = with_run[0].steps.first().is_some_and(|s| s.name.contains("build definition") && s.duration_ms == Some(300));
    assert!(second || parsed.builds.iter().any(guessed), "the RUN is the second build's, or a guess said so: {}", summary(&parsed));
}

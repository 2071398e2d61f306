//! `channel`'s tests: which lines start a build, what counts as a build of a Dockerfile, act's verdicts.

use crate::log::{parse_bytes, BuildResult, Format, StepStatus};

/// Every line of every fixture log that one of the parsers would start a build with has a first byte
/// `STARTS_WITH` lets through (a new format signature must be added there).
#[test]
fn every_start_is_let_through() {
    use super::{buildkit_plain, buildkit_tty, engine_api, legacy, podman, rawjson, Active, Line};
    let ungated = |line: &Line<'_>| {
        rawjson::Parser::starts(line)
            || engine_api::Parser::starts(line)
            || buildkit_tty::Parser::starts(line)
            || buildkit_plain::Parser::starts(line)
            || podman::Parser::starts(line)
            || legacy::Parser::starts(line)
    };
    let mut files = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/logs"))];
    let (mut lines, mut starts) = (0, 0);
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut scratch = Vec::new();
        for raw in bytes.split(|&b| b == b'\n') {
            let u = crate::log::unwrap::unwrap(raw, &mut scratch);
            let line = Line { text: u.text, start: 0, end: 0, time: u.time, chatter: u.chatter, truncated: false };
            lines += 1;
            if ungated(&line) {
                starts += 1;
                assert!(Active::start(&line).is_some(), "{}: {:?}", path.display(), String::from_utf8_lossy(line.text));
            }
        }
    }
    assert!(lines > 10_000 && starts > 100, "{lines} lines, {starts} starts");
}

/// `format result steps` per build.
fn builds(log: &str) -> Vec<(Format, BuildResult, usize)> {
    parse_bytes(log.as_bytes()).builds.iter().map(|b| (b.format, b.result, b.steps.len())).collect()
}

const BOOT: &str = "#1 [internal] booting buildkit\n#1 pulling image moby/buildkit:buildx-stable-1\n#1 pulling image moby/buildkit:buildx-stable-1 2.1s done\n#1 creating container buildx_buildkit_builder0\n#1 creating container buildx_buildkit_builder0 0.9s done\n#1 DONE 3.0s\n";
const BANNER: &str = "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\nSending build context to Docker daemon  3.072kB\n";

#[test]
fn setup_buildx_boot_is_no_build() {
    let build = "#0 building with \"builder-1\" instance using docker-container driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/1] FROM docker.io/library/alpine:3.19\n#2 DONE 0.4s\n";
    assert_eq!(builds(&format!("{BOOT}\n{build}")), vec![(Format::BuildkitPlain, BuildResult::Success, 2)]);
    // Also with the boot last, or twice (two setup steps), or behind CI timestamps.
    assert_eq!(builds(&format!("{build}{BOOT}")).len(), 1);
    assert_eq!(builds(&format!("{BOOT}{BOOT}{build}")), vec![(Format::BuildkitPlain, BuildResult::Success, 2)]);
    let stamped: String = format!("{BOOT}{build}").lines().map(|l| format!("2025-06-24T07:32:05.3395638Z {l}\n")).collect();
    assert_eq!(builds(&stamped), vec![(Format::BuildkitPlain, BuildResult::Success, 2)]);
}

#[test]
fn legacy_preamble_before_a_podman_build_is_no_build() {
    let podman =
        "STEP 1/2: FROM alpine:3.19\nSTEP 2/2: RUN echo hi\nhi\nCOMMIT x\n--> abcdef123456\nSuccessfully tagged localhost/x:latest\n";
    assert_eq!(builds(&format!("{BANNER}{podman}")), vec![(Format::Podman, BuildResult::Success, 2)]);
    let staged = "[1/2] STEP 1/1: FROM alpine AS a\n--> 111111111111\n[2/2] STEP 1/1: FROM alpine\n[2/2] COMMIT x\n--> 222222222222\n";
    assert_eq!(builds(&format!("{BANNER}{staged}")), vec![(Format::Podman, BuildResult::Success, 2)]);
}

#[test]
fn a_build_that_fails_before_any_step_is_kept() {
    let failed = "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 2B done\n#1 DONE 0.0s\nERROR: failed to build: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory\n";
    assert_eq!(builds(&format!("{BOOT}{failed}")), vec![(Format::BuildkitPlain, BuildResult::Failed, 1)]);
    let legacy = format!("{BANNER}unable to prepare context: path \"nope\" not found\n");
    assert_eq!(builds(&format!("{legacy}{BOOT}")), vec![(Format::Legacy, BuildResult::Failed, 0)]);
}

#[test]
fn alone_it_stays() {
    assert_eq!(builds(BOOT), vec![(Format::BuildkitPlain, BuildResult::Success, 1)]);
    assert_eq!(builds(BANNER), vec![(Format::Legacy, BuildResult::Running, 0)]);
}

/// `lines` as act prints a step's output, then act's own closing lines.
fn act(lines: &str, closing: &[&str]) -> String {
    let mut log = String::from("[CI/build] ⭐ Run Main docker build\n");
    log.extend(lines.lines().map(|l| format!("[CI/build]   | {l}\n")));
    log.extend(closing.iter().map(|c| format!("[CI/build]   {c}\n")));
    log
}

const PLAIN_CUT: &str = "#0 building with \"default\" instance using docker driver\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#2 [1/2] FROM docker.io/library/alpine:3.19\n#2 DONE 0.4s\n#3 [2/2] RUN false\n#3 0.101 boom\n";
const LEGACY_CUT: &str = "Sending build context to Docker daemon  2.048kB\nStep 1/2 : FROM alpine:3.19\n ---> 05455a08881e\nStep 2/2 : RUN false\n ---> Running in 1a2b3c4d5e6f\nboom\n";

#[test]
fn act_failure_ends_a_cut_build_as_failed() {
    for (what, cut) in [("plain", PLAIN_CUT), ("legacy", LEGACY_CUT)] {
        for closing in [&["❌  Failure - Main docker build [2.1s]", "🏁  Job failed"][..], &["🏁  Job failed"]] {
            let parsed = parse_bytes(act(cut, closing).as_bytes());
            assert_eq!(parsed.builds.len(), 1, "{what}");
            let build = &parsed.builds[0];
            assert_eq!(build.result, BuildResult::Failed, "{what} {closing:?}");
            let last = build.steps.last().expect("a step");
            assert!(last.name.ends_with("RUN false"), "{what}: {}", last.name);
            assert_eq!(last.status, StepStatus::Error, "{what}");
            assert!(build.steps.iter().all(|s| s.status != StepStatus::Running), "{what}");
            assert!(build.problems.iter().any(|p| p.message.contains("act reported failure")), "{what}: {:?}", build.problems);
        }
        // Without act's verdict the step still runs (the log may be growing).
        let open = parse_bytes(act(cut, &[]).as_bytes());
        assert_eq!(open.builds[0].steps.last().map(|s| s.status), Some(StepStatus::Running), "{what}");
    }
}

#[test]
fn act_success_ends_the_open_build() {
    // The build printed its steps' ends: they stay; a later build in the job is a build of its own.
    let done = "#1 [1/1] FROM docker.io/library/alpine:3.19\n#1 DONE 0.4s\n";
    let two =
        format!("{}{}", act(done, &["✅  Success - Main docker build [1.0s]"]), act(done, &["✅  Success - Main docker build [1.0s]"]));
    let parsed = parse_bytes(two.as_bytes());
    assert_eq!(parsed.builds.len(), 2, "{parsed:?}");
    assert!(parsed.builds.iter().all(|b| b.steps[0].status == StepStatus::Executed));
    // A step whose end the build did not print stays as it is, and no failure is made up.
    let parsed = parse_bytes(act(PLAIN_CUT, &["✅  Success - Main docker build [2.1s]", "🏁  Job succeeded"]).as_bytes());
    assert_eq!(parsed.builds.len(), 1);
    assert_ne!(parsed.builds[0].result, BuildResult::Failed);
    assert_eq!(parsed.builds[0].steps.last().map(|s| s.status), Some(StepStatus::Running));
}

#[test]
fn a_failure_after_a_finished_build_changes_nothing() {
    // act's failure of a later command (a push) in the same step: the build had ended well.
    let done = "#1 [1/1] FROM docker.io/library/alpine:3.19\n#1 DONE 0.4s\n#2 exporting to image\n#2 DONE 0.1s\n";
    let parsed = parse_bytes(act(done, &["❌  Failure - Main docker build [2.1s]"]).as_bytes());
    assert_eq!(parsed.builds[0].steps[0].status, StepStatus::Executed);
    assert!(parsed.builds[0].problems.iter().all(|p| !p.message.contains("act reported")));
}

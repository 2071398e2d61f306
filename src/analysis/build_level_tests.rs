//! Build-level errors and check warnings on lines, and one run per platform, on hand-made logs.

use super::super::{annotate, InstructionView, RecordedBuild};
use crate::log::{parse_bytes, StepStatus};

fn recorded(id: &str, log: &str) -> RecordedBuild {
    let mut parsed = parse_bytes(log.as_bytes());
    assert_eq!(parsed.builds.len(), 1, "{parsed:#?}");
    RecordedBuild {
        id: id.into(),
        started: None,
        build: parsed.builds.remove(0),
        log_path: "/b.log".into(),
        live: false,
        built_dockerfile: None,
    }
}

fn at(views: &[InstructionView], line: u32) -> &InstructionView {
    views.iter().find(|v| v.line == line).unwrap_or_else(|| panic!("no instruction on line {line}"))
}

const DOCKERFILE: &str =
    "# syntax=docker/dockerfile:1\nARG BASE=nosuch:1\nFROM ${BASE} AS base\nENV A 1\nRUN make \\\n  all\nCMD make run\n";

fn snippet(line: u32, error: &str) -> String {
    format!("#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 93B done\n#1 DONE 0.0s\nDockerfile:{line}\n--------------------\n {line:>3} | >>> X\n--------------------\nERROR: failed to solve: {error}\n")
}

#[test]
fn an_unresolved_base_image_fails_on_its_from_line() {
    let log = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [internal] load metadata for docker.io/library/nosuch:1\n#2 ERROR: docker.io/library/nosuch:1: not found\n------\n > [internal] load metadata for docker.io/library/nosuch:1:\n------\nDockerfile:3\n--------------------\n   3 | >>> FROM ${BASE} AS base\n--------------------\nERROR: failed to solve: nosuch:1: failed to resolve source metadata for docker.io/library/nosuch:1: not found\n";
    let a = annotate(DOCKERFILE, &[recorded("b1", log)]);
    let from = at(&a.instructions, 3).last.as_ref().expect("the FROM line has the failure");
    assert_eq!(from.status, StepStatus::Error);
    assert_eq!(from.error.as_deref(), Some("docker.io/library/nosuch:1: not found"));
    assert!(a.instructions.iter().filter(|v| v.line != 3).all(|v| v.last.is_none()));
}

#[test]
fn a_parse_error_with_no_step_lands_on_its_line() {
    let a = annotate(DOCKERFILE, &[recorded("b1", &snippet(7, "dockerfile parse error on line 7: unknown instruction: CMDD"))]);
    let run = at(&a.instructions, 7).last.as_ref().expect("line 7 has the error");
    assert_eq!(run.status, StepStatus::Error);
    assert_eq!(run.error.as_deref(), Some("dockerfile parse error on line 7: unknown instruction: CMDD"));
    // Without a snippet (Docker 20.10), a line inside a multi-line instruction.
    let old = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\nfailed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 6: unknown flag: --x\n";
    let a = annotate(DOCKERFILE, &[recorded("b2", old)]);
    let run = at(&a.instructions, 5).last.as_ref().expect("the RUN over lines 5-6 has the error");
    assert_eq!(run.error.as_deref(), Some("failed to create LLB definition: dockerfile parse error line 6: unknown flag: --x"));
}

#[test]
fn a_failed_step_that_mapped_keeps_the_error_to_itself() {
    // The snippet names line 9 of the Dockerfile as it was; the step's text maps it to line 5 today.
    let log = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [base 1/2] FROM docker.io/library/nosuch:1\n#2 DONE 0.1s\n\n#3 [base 2/2] RUN make   all\n#3 ERROR: process \"/bin/sh -c make   all\" did not complete successfully: exit code: 2\n------\n > [base 2/2] RUN make   all:\n------\nDockerfile:3\n--------------------\n   3 | >>> RUN make \\\n--------------------\nERROR: failed to solve: process \"/bin/sh -c make   all\" did not complete successfully: exit code: 2\n";
    let a = annotate(DOCKERFILE, &[recorded("b1", log)]);
    assert_eq!(at(&a.instructions, 5).last.as_ref().map(|r| r.status), Some(StepStatus::Error));
    assert_eq!(
        at(&a.instructions, 3).last.as_ref().map(|r| r.status),
        Some(StepStatus::Executed),
        "not the FROM the old line number names"
    );
}

#[test]
fn a_later_success_clears_a_build_level_error() {
    let failed = recorded("b1", &snippet(4, "dockerfile parse error on line 4: ENV names can not be blank"));
    let ok = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [base 1/2] FROM docker.io/library/nosuch:1\n#2 DONE 0.1s\n\n#3 [base 2/2] RUN make   all\n#3 DONE 1.0s\n";
    let a = annotate(DOCKERFILE, std::slice::from_ref(&failed));
    assert_eq!(at(&a.instructions, 4).last.as_ref().map(|r| r.status), Some(StepStatus::Error));
    let a = annotate(DOCKERFILE, &[failed, recorded("b2", ok)]);
    assert!(at(&a.instructions, 4).last.is_none(), "ENV makes no step: a later build that got past it clears the error");
    assert_eq!(at(&a.instructions, 5).last.as_ref().map(|r| r.build.as_str()), Some("b2"));
}

#[test]
fn check_warnings_sit_on_their_instructions_from_the_latest_build_only() {
    let list = |lines: &[u32]| {
        let mut s = String::from("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [base 1/2] FROM docker.io/library/nosuch:1\n#2 DONE 0.1s\n\n#3 [base 2/2] RUN make   all\n#3 DONE 1.0s\n 2 warnings found (use docker --debug to expand):\n");
        for l in lines {
            s += &format!(
                " - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line {l})\n"
            );
        }
        s
    };
    let latest = list(&[4]) + " - UndefinedVar: Usage of undefined variable '$X' (line 6)\n";
    let a = annotate(DOCKERFILE, &[recorded("b1", &list(&[2])), recorded("b2", &latest)]);
    let env = at(&a.instructions, 4);
    assert_eq!(env.checks.len(), 1);
    assert_eq!((env.checks[0].code.as_deref(), env.checks[0].build.as_str()), (Some("LegacyKeyValueFormat"), "b2"));
    assert!(env.last.is_none(), "ENV has no step; the warning stands alone");
    assert_eq!(at(&a.instructions, 5).checks.iter().map(|c| c.line).collect::<Vec<_>>(), vec![6], "line 6 is inside the RUN");
    assert!(at(&a.instructions, 2).checks.is_empty(), "an older build's warning was fixed since");
}

/// A two-platform build of `FROM alpine` + `RUN make`: each platform's RUN with its time and output lines.
fn multi(amd64: (&str, u32), arm64: (&str, u32), arm_first: bool) -> String {
    let step = |n: u32, platform: &str, (end, lines): (&str, u32)| {
        let mut s = format!("\n#{n} [{platform} 2/2] RUN make\n");
        for i in 0..lines {
            s += &format!("#{n} 0.{i:03} {platform} output {i}\n");
        }
        s + &format!("#{n} {end}\n")
    };
    let mut log = String::from("#0 building with \"multi\" instance using docker-container driver\n\n#1 [linux/amd64 1/2] FROM docker.io/library/alpine:3.19\n#1 DONE 0.5s\n\n#2 [linux/arm64 1/2] FROM docker.io/library/alpine:3.19\n#2 DONE 0.7s\n");
    let (a, b) = (step(3, "linux/amd64", amd64), step(4, "linux/arm64", arm64));
    log += &if arm_first { b + &a } else { a + &b };
    log
}

const MULTI_DOCKERFILE: &str = "FROM alpine:3.19\nRUN make\n";

#[test]
fn a_multi_platform_build_keeps_each_platforms_time_with_its_own_output() {
    for arm_first in [false, true] {
        let log = multi(("DONE 130.0s", 1), ("DONE 1172.4s", 3), arm_first);
        let a = annotate(MULTI_DOCKERFILE, &[recorded("b1", &log)]);
        let run = at(&a.instructions, 2).last.clone().unwrap();
        let platforms: Vec<_> = run.platforms.iter().map(|p| (p.platform.as_str(), p.status, p.duration_ms)).collect();
        assert_eq!(
            platforms,
            vec![("linux/amd64", StepStatus::Executed, Some(130_000)), ("linux/arm64", StepStatus::Executed, Some(1_172_400))]
        );
        assert_eq!((run.duration_ms, run.output.lines), (Some(1_172_400), 3), "the longest platform's time and its own output");
        assert_eq!(at(&a.instructions, 2).history.len(), 1, "one run per build");
    }
}

#[test]
fn a_platform_that_failed_is_the_run_and_the_others_are_kept() {
    let log = multi(("DONE 2.0s", 4), ("ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2", 1), false);
    let a = annotate(MULTI_DOCKERFILE, &[recorded("b1", &log)]);
    let run = at(&a.instructions, 2).last.clone().unwrap();
    assert_eq!((run.status, run.exit_code, run.output.lines), (StepStatus::Error, Some(2), 1), "arm64's failure with arm64's output");
    assert_eq!(run.platforms.iter().map(|p| p.status).collect::<Vec<_>>(), vec![StepStatus::Executed, StepStatus::Error]);
    let cached = multi(("CACHED", 0), ("DONE 9.0s", 2), false);
    let a = annotate(MULTI_DOCKERFILE, &[recorded("b1", &cached)]);
    let run = at(&a.instructions, 2).last.clone().unwrap();
    assert_eq!((run.status, run.duration_ms), (StepStatus::Executed, Some(9_000)));
    assert_eq!(run.platforms[0].status, StepStatus::Cached);
}

#[test]
fn a_single_platform_build_has_no_platform_list() {
    let log = "#1 [1/2] FROM docker.io/library/alpine:3.19\n#1 DONE 0.5s\n\n#2 [2/2] RUN make\n#2 DONE 3.0s\n";
    let a = annotate(MULTI_DOCKERFILE, &[recorded("b1", log)]);
    assert!(at(&a.instructions, 2).last.as_ref().unwrap().platforms.is_empty());
}

#[test]
fn a_build_of_another_dockerfile_puts_nothing_on_lines() {
    let other = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/3] FROM docker.io/library/debian\n#2 DONE 0.1s\n\n#4 [3/3] RUN y\n#4 CANCELED\n\n#3 [2/3] RUN apt-get install -y x\n#3 ERROR: process \"x\" did not complete successfully: exit code: 1\n 1 warning found (use docker --debug to expand):\n - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line 4)\nDockerfile:7\n--------------------\n   7 | >>> RUN apt-get install -y x\n--------------------\nERROR: failed to solve: process \"x\" did not complete successfully: exit code: 1\n";
    let a = annotate(DOCKERFILE, &[recorded("b1", other)]);
    assert!(a.instructions.iter().all(|v| v.last.is_none() && v.checks.is_empty()), "{:#?}", a.instructions);
}

#[test]
fn warnings_follow_the_lines_moved_since_the_build_and_need_their_keyword() {
    // Built from a file with three more lines at the top: the failed COPY was line 9, is line 6 today.
    let today = "FROM alpine AS base\nENV A 1\nENV B 2\nRUN make\nFROM base\nCOPY --from=base /x /y\nCMD run\n";
    let legacy = |line: u32| {
        format!(" - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line {line})\n")
    };
    let log = format!("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [base 1/2] FROM docker.io/library/alpine\n#2 DONE 0.1s\n\n#3 [base 2/2] RUN make\n#3 DONE 1.0s\n\n#4 [stage-1 1/1] COPY --from=base /x /y\n#4 ERROR: failed to calculate checksum: \"/x\": not found\n 3 warnings found (use docker --debug to expand):\n{}{}{}Dockerfile:9\n--------------------\n   9 | >>> COPY --from=base /x /y\n--------------------\nERROR: failed to solve: failed to compute cache key: \"/x\": not found\n", legacy(5), legacy(6), legacy(7));
    let a = annotate(today, &[recorded("b1", &log)]);
    assert_eq!(at(&a.instructions, 6).last.as_ref().map(|r| r.status), Some(StepStatus::Error));
    let lines: Vec<u32> = a.instructions.iter().flat_map(|v| v.checks.iter().map(|c| c.line)).collect();
    assert_eq!(lines, vec![2, 3], "lines 5 and 6 of the built file are 2 and 3 today; 7 -> 4 is a RUN, not an ENV");
    // Without an anchor the printed line is taken as is, still only on the instruction it names.
    let plain = format!("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [base 1/2] FROM docker.io/library/alpine\n#2 DONE 0.1s\n\n#3 [base 2/2] RUN make\n#3 DONE 1.0s\n{}{}", legacy(2), legacy(4));
    let a = annotate(today, &[recorded("b2", &plain)]);
    let lines: Vec<u32> = a.instructions.iter().flat_map(|v| v.checks.iter().map(|c| c.line)).collect();
    assert_eq!(lines, vec![2]);
}

/// Builds printed side by side whose lines were placed by a guess say so where a user reads the problems
/// (`report`): the lines they put on the Dockerfile may be another build's.
#[test]
fn a_guessed_interleaving_is_a_problem_of_the_annotation() {
    let log = crate::log::demux::tests::AMBIGUOUS_TWO;
    let builds: Vec<RecordedBuild> = parse_bytes(log.as_bytes())
        .builds
        .into_iter()
        .enumerate()
        .map(|(i, build)| RecordedBuild {
            id: format!("r#{}", i + 1),
            started: None,
            build,
            log_path: "/b.log".into(),
            live: false,
            built_dockerfile: None,
        })
        .collect();
    assert_eq!(builds.len(), 2);
    let a = annotate("FROM x AS a\nRUN a\nFROM x AS c\nRUN c\n", &builds);
    let guessed: Vec<&String> = a.problems.iter().filter(|p| p.contains(crate::log::demux::GUESSED)).collect();
    assert_eq!(guessed.len(), 2, "{:?}", a.problems);
    assert!(guessed[0].starts_with("build r#1: ") && guessed[1].starts_with("build r#2: "), "{guessed:?}");
}

/// A compose build where service `web` fails at `Dockerfile:3`: api's Dockerfile has its own line 3, which
/// never ran; the error is web's and stays off api's file (it lands on web's).
#[test]
fn another_services_error_lines_stay_off_this_dockerfile() {
    let log = "#1 [api internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [web internal] load build definition from Dockerfile\n#2 DONE 0.0s\n\n#3 [api 1/3] FROM docker.io/library/maven:3.9\n#3 CACHED\n\n#4 [web 1/3] FROM docker.io/library/node:18-alpine\n#4 CACHED\n\n#5 [web 2/3] COPY . .\n#5 DONE 0.3s\n\n#6 [api 2/3] RUN mvn dependency:go-offline\n#6 ...\n\n#7 [web 3/3] RUN npm run build\n#7 0.512 ReferenceError: CustomEvent is not defined\n#7 ERROR: process \"/bin/sh -c npm run build\" did not complete successfully: exit code: 1\n\n#6 [api 2/3] RUN mvn dependency:go-offline\n#6 CANCELED\n------\n > [web 3/3] RUN npm run build:\n------\nDockerfile:3\n--------------------\n   3 | >>> RUN npm run build\n--------------------\ntarget web: failed to solve: process \"/bin/sh -c npm run build\" did not complete successfully: exit code: 1\n";
    let api = "FROM maven:3.9\nRUN mvn dependency:go-offline\nRUN mvn package -DskipTests\n";
    let a = annotate(api, &[recorded("b1", log)]);
    assert_eq!(at(&a.instructions, 2).last.as_ref().map(|r| r.status), Some(StepStatus::Canceled));
    assert!(at(&a.instructions, 3).last.is_none(), "api's line 3 never ran: {:?}", at(&a.instructions, 3).last);
    let web = "FROM node:18-alpine\nCOPY . .\nRUN npm run build\n";
    let a = annotate(web, &[recorded("b1", log)]);
    assert_eq!(at(&a.instructions, 3).last.as_ref().map(|r| r.status), Some(StepStatus::Error));
}

//! Timelines of builds parsed from logs: hand-made rawjson (measured times) and plain (durations only)
//! logs over multi-stage Dockerfiles, and a captured multi-stage build.

use std::path::PathBuf;

use super::*;

fn recorded(log: &[u8]) -> RecordedBuild {
    let build = crate::log::parse_bytes(log).builds.into_iter().next().expect("a build in the log");
    RecordedBuild { id: "b1".into(), started: None, build, log_path: PathBuf::from("/x/build.log"), live: false, built_dockerfile: None }
}

fn timeline(dockerfile: &str, log: &str) -> Timeline {
    of_build(dockerfile, &recorded(log.as_bytes()), &mut MappingCache::default())
}

/// One rawjson vertex that started and completed at the given seconds after 10:00:00.
fn vertex(n: usize, name: &str, start: f64, end: f64) -> String {
    let at = |s: f64| format!("2026-11-24T10:00:{:06.3}Z", s);
    format!(
        "{{\"vertexes\":[{{\"digest\":\"sha256:{n:064x}\",\"name\":\"{name}\",\"started\":\"{}\",\"completed\":\"{}\"}}]}}\n",
        at(start),
        at(end)
    )
}

/// (line, lane, start, end, slack, critical) of each bar.
fn bars(t: &Timeline) -> Vec<(u32, usize, u64, u64, u64, bool)> {
    t.bars.iter().map(|b| (b.line, b.lane, b.start_ms, b.end_ms, b.slack_ms, b.critical)).collect()
}

const TWO_BRANCHES: &str =
    "FROM alpine AS a\nRUN sleep 3\n\nFROM alpine AS b\nRUN sleep 1\n\nFROM alpine\nCOPY --from=a /x /x\nCOPY --from=b /y /y\n";

#[test]
fn measured_parallel_stages_put_the_long_branch_on_the_path() {
    let log = [
        vertex(1, "[a 1/2] FROM docker.io/library/alpine", 0.0, 0.5),
        vertex(2, "[b 1/2] FROM docker.io/library/alpine", 0.0, 0.5),
        vertex(3, "[stage-2 1/3] FROM docker.io/library/alpine", 0.0, 0.5),
        vertex(4, "[a 2/2] RUN sleep 3", 0.5, 3.5),
        vertex(5, "[b 2/2] RUN sleep 1", 0.5, 1.5),
        vertex(6, "[stage-2 2/3] COPY --from=a /x /x", 3.5, 3.6),
        vertex(7, "[stage-2 3/3] COPY --from=b /y /y", 3.6, 3.7),
    ]
    .concat();
    let t = timeline(TWO_BRANCHES, &log);
    assert_eq!(t.lanes, vec!["a", "b", "stage-2"]);
    assert_eq!(t.total_ms, 3700);
    assert_eq!(
        bars(&t),
        vec![
            (1, 0, 0, 500, 0, true),
            (2, 0, 500, 3500, 0, true),
            (4, 1, 0, 500, 2100, false),
            (5, 1, 500, 1500, 2100, false),
            (7, 2, 0, 500, 3000, false),
            (8, 2, 3500, 3600, 0, true),
            (9, 2, 3600, 3700, 0, true),
        ]
    );
    assert!(t.bars.iter().all(|b| b.measured));
    assert_eq!(t.path_ms(), 3700);
    assert_eq!(t.at_line(5).map(|b| b.text.as_str()), Some("RUN sleep 1"));
}

#[test]
fn plain_durations_are_laid_along_the_stage_graph() {
    // No clock: `FROM <stage>` and `RUN --mount=from=` edges decide; a cached branch has the slack.
    let dockerfile = "FROM alpine AS base\nRUN make deps\n\nFROM base AS build\nRUN make\n\nFROM alpine AS docs\nRUN make docs\n\nFROM alpine\nRUN --mount=type=bind,from=build,target=/b cp /b/x /x\nCOPY --from=docs /d /d\n";
    let log = "#1 [base 1/2] FROM docker.io/library/alpine\n#1 DONE 1.0s\n\n\
               #2 [base 2/2] RUN make deps\n#2 DONE 4.0s\n\n\
               #3 [build 1/1] RUN make\n#3 DONE 6.0s\n\n\
               #4 [docs 2/2] RUN make docs\n#4 CACHED\n\n\
               #5 [stage-3 2/3] RUN --mount=type=bind,from=build,target=/b cp /b/x /x\n#5 DONE 0.5s\n\n\
               #6 [stage-3 3/3] COPY --from=docs /d /d\n#6 DONE 0.2s\n";
    let t = timeline(dockerfile, log);
    assert_eq!(t.lanes, vec!["base", "build", "docs", "stage-3"]);
    assert_eq!(
        bars(&t),
        vec![
            (1, 0, 0, 1000, 0, true),
            (2, 0, 1000, 5000, 0, true),
            (5, 1, 5000, 11000, 0, true),
            (8, 2, 0, 0, 11500, false),
            (11, 3, 11000, 11500, 0, true),
            (12, 3, 11500, 11700, 0, true),
        ]
    );
    assert!(t.bars.iter().all(|b| !b.measured));
    assert_eq!(t.at_line(8).map(|b| b.status), Some(StepStatus::Cached));
}

#[test]
fn a_failed_branch_ends_the_build_and_the_other_is_canceled() {
    let dockerfile = "FROM alpine AS a\nRUN make\n\nFROM alpine AS b\nRUN false\n\nFROM alpine\nCOPY --from=a /x /x\n";
    let log = "#1 [a 2/2] RUN make\n#2 [b 2/2] RUN false\n#2 ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n#1 CANCELED\n------\n > [b 2/2] RUN false:\n------\nERROR: failed to solve: process \"/bin/sh -c false\" did not complete successfully: exit code: 1\n";
    let t = timeline(dockerfile, log);
    let status: Vec<(u32, StepStatus)> = t.bars.iter().map(|b| (b.line, b.status)).collect();
    assert_eq!(status, vec![(2, StepStatus::Canceled), (5, StepStatus::Error)]);
    assert_eq!(t.result, BuildResult::Failed);
    assert_eq!(t.path.len(), 1, "{:?}", bars(&t));
}

#[test]
fn the_captured_multistage_build_waits_for_the_builder() {
    let dockerfile = include_str!("../../fixtures/logs/rawjson/bk20-rawjson-equivalent-multistage.Dockerfile");
    let log = include_str!("../../fixtures/logs/rawjson/bk20-rawjson-equivalent-multistage.jsonl");
    let t = timeline(dockerfile, log);
    let critical: Vec<u32> = t.path.iter().filter_map(|&i| t.bars.get(i)).map(|b| b.line).collect();
    // builder: 2 s + 1.6 s of sleeps; tester: 2 s. The final stage copies from both.
    assert!(critical.contains(&5) && critical.contains(&6) && critical.contains(&13), "{critical:?} {:?}", bars(&t));
    let tester = t.at_line(9).expect("the tester's RUN");
    assert!(!tester.critical && (1000..=2500).contains(&tester.slack_ms), "{tester:?}");
    assert!(t.bars.iter().all(|b| b.measured));
}

#[test]
fn a_build_that_maps_nowhere_is_an_empty_timeline() {
    let rb = RecordedBuild { build: crate::log::Build::new(crate::log::Format::BuildkitPlain, 0), ..recorded(b"#1 [1/1] FROM x\n") };
    let t = of_build("FROM alpine\nRUN true\n", &rb, &mut MappingCache::default());
    assert!(t.bars.is_empty() && t.path.is_empty() && t.total_ms == 0);
}

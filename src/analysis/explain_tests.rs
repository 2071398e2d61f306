//! Tests of `explain` and `advice` over recorded pairs: the bundled example's three real builds (a file
//! under `COPY . .` changed, then another), and hand-made BuildKit logs for the other causes.

use std::path::PathBuf;

use super::*;
use crate::analysis::inputs::{FileEntry, Inputs, Manifest};
use crate::analysis::latest::explain_latest;

const EXAMPLE: &str = include_str!("../../fixtures/example/Dockerfile");
const B1: &[u8] = include_bytes!("../../fixtures/example/.buildlens/builds/20261124T083038.435Z-d008/build.log");
const B2: &[u8] = include_bytes!("../../fixtures/example/.buildlens/builds/20261124T083052.049Z-06c0/build.log");
const B3: &[u8] = include_bytes!("../../fixtures/example/.buildlens/builds/20261124T083104.046Z-b5b3/build.log");

fn build(id: &str, log: &[u8]) -> RecordedBuild {
    let parsed = crate::log::parse_bytes(log);
    let build = parsed.builds.into_iter().next().expect("a build in the log");
    RecordedBuild { id: id.into(), started: None, build, log_path: PathBuf::from("/x/build.log"), live: false, built_dockerfile: None }
}

fn facts() -> BuildFacts {
    BuildFacts { tool: "docker-build".into(), ..BuildFacts::default() }
}

fn side<'a>(b: &'a RecordedBuild, f: &'a BuildFacts) -> Side<'a> {
    Side { build: b, facts: f }
}

/// `line kind root_line` per executed step, for one-line expectations.
fn summary(e: &Explained) -> Vec<String> {
    e.steps.iter().map(|s| format!("{} {:?} {}", s.line, s.cause.kind, s.cause.root_line)).collect()
}

fn check(text: &str, prev: Option<(&RecordedBuild, &BuildFacts)>, latest: (&RecordedBuild, &BuildFacts), expect: &[&str]) -> Explained {
    let e = explain(text, prev.map(|(b, f)| side(b, f)), side(latest.0, latest.1));
    assert_eq!(summary(&e), expect, "{:#?}", e.steps.iter().map(|s| (s.line, s.cause.kind, &s.cause.detail)).collect::<Vec<_>>());
    e
}

fn manifest(files: &[(&str, i64)]) -> Inputs {
    let files = files.iter().map(|(p, t)| FileEntry { path: p.to_string(), size: 10, mtime_ns: *t }).collect();
    Inputs {
        schema: 1,
        dockerfile: Some(EXAMPLE.into()),
        dockerignore: Some(".buildlens\n".into()),
        manifest: Some(Manifest { files, truncated: false }),
    }
}

#[test]
fn the_example_toolchain_was_rebuilt_because_copy_dot_missed() {
    let (b1, b2, f) = (build("b1", B1), build("b2", B2), facts());
    let e = check(
        EXAMPLE,
        Some((&b1, &f)),
        (&b2, &f),
        &["8 InputsChanged 8", "9 ParentRebuilt 8", "14 ParentRebuilt 8", "16 ParentRebuilt 8", "19 ParentRebuilt 8", "20 ParentRebuilt 8"],
    );
    let toolchain = e.at_line(9).unwrap();
    assert_eq!(toolchain.cause.detail, "line 8 (COPY . .) was not cached: its inputs changed");
    assert_eq!((toolchain.root_kind, toolchain.root_keyword.as_str()), (CauseKind::InputsChanged, "COPY"));
    assert_eq!(toolchain.duration_ms, Some(8100));
}

#[test]
fn manifests_name_the_changed_files() {
    let (b1, b2) = (build("b1", B1), build("b2", B2));
    let before = BuildFacts {
        inputs: Some(std::sync::Arc::new(manifest(&[("feeds.conf", 1), ("package/hello/hello.sh", 1), ("package/hello/build.sh", 1)]))),
        ..facts()
    };
    let after = BuildFacts {
        inputs: Some(std::sync::Arc::new(manifest(&[("feeds.conf", 1), ("package/hello/hello.sh", 2), ("package/hello/build.sh", 1)]))),
        ..facts()
    };
    let e = explain(EXAMPLE, Some(side(&b1, &before)), side(&b2, &after));
    assert_eq!(e.at_line(8).unwrap().cause.detail, "its inputs changed (package/hello/hello.sh)");
    assert_eq!(e.at_line(9).unwrap().cause.detail, "line 8 (COPY . .) was not cached: its inputs changed (package/hello/hello.sh)");
}

#[test]
fn a_first_build_has_no_earlier_build_and_failures_leave_no_cache() {
    let (b1, b3, f) = (build("b1", B1), build("b3", B3), facts());
    let e = check(
        EXAMPLE,
        None,
        (&b1, &f),
        &[
            "5 NoEarlierBuild 5",
            "6 NoEarlierBuild 6",
            "7 NoEarlierBuild 7",
            "8 NoEarlierBuild 8",
            "9 NoEarlierBuild 9",
            "14 NoEarlierBuild 14",
            "16 NoEarlierBuild 16",
            "19 NoEarlierBuild 19",
            "20 NoEarlierBuild 20",
        ],
    );
    assert_eq!(e.from, None);
    // b3 failed at line 16; explained against itself, line 16 is a step no earlier build completed.
    let e = explain(EXAMPLE, Some(side(&b3, &f)), side(&b3, &f));
    let s = e.at_line(16).unwrap();
    assert_eq!(s.cause.kind, CauseKind::ParentRebuilt, "the COPY before it missed again");
}

#[test]
fn no_cache_another_tool_and_a_pruned_cache_mean_the_cache_was_not_used() {
    let (b1, b2, f) = (build("b1", B1), build("b2", B2), facts());
    let no_cache = BuildFacts { no_cache: true, ..facts() };
    let e = explain(EXAMPLE, Some(side(&b1, &f)), side(&b2, &no_cache));
    assert!(e.steps.iter().all(|s| s.cause.kind == CauseKind::CacheNotUsed && s.cause.detail.contains("--no-cache")), "{e:#?}");
    let podman = BuildFacts { tool: "podman-build".into(), ..facts() };
    let e = explain(EXAMPLE, Some(side(&b1, &podman)), side(&b2, &f));
    assert!(e.steps.iter().all(|s| s.cause.kind == CauseKind::CacheNotUsed && s.cause.detail.contains("podman-build")), "{e:#?}");
    // A cold build after a full one, nothing changed: the cache was pruned.
    let e = check(
        EXAMPLE,
        Some((&b2, &f)),
        (&b1, &f),
        &[
            "5 CacheNotUsed 5",
            "6 ParentRebuilt 5",
            "7 ParentRebuilt 5",
            "8 ParentRebuilt 5",
            "9 ParentRebuilt 5",
            "14 ParentRebuilt 5",
            "16 ParentRebuilt 5",
            "19 ParentRebuilt 5",
            "20 ParentRebuilt 5",
        ],
    );
    assert!(e.at_line(5).unwrap().cause.detail.contains("pruned"), "{e:#?}");
}

const ARG_DF: &str = "FROM fixture-base AS sdk\nARG RELEASE=1\nWORKDIR /w\nCOPY a ./\nRUN echo $RELEASE\nRUN make\n";

/// A BuildKit log of `ARG_DF`: `from` the FROM's digest character, `missed_from` the first of steps
/// 2..=5 that executed (6: none).
fn arg_log(release: &str, missed_from: u32, from: &str) -> Vec<u8> {
    let status = |k: u32| if k >= missed_from { "DONE 1.0s" } else { "CACHED" };
    format!(
        "#1 [sdk 1/5] FROM docker.io/library/fixture-base@sha256:{}\n#1 DONE 0.0s\n\n#2 [sdk 2/5] WORKDIR /w\n#2 {}\n\n#3 [sdk 3/5] COPY a ./\n#3 {}\n\n\
#5 [sdk 4/5] RUN echo {release}\n#5 {}\n\n#6 [sdk 5/5] RUN make\n#6 {}\n",
        from.repeat(64),
        status(2),
        status(3),
        status(4),
        status(5)
    )
    .into_bytes()
}

#[test]
fn a_changed_build_arg_is_the_cause_of_the_first_run_that_sees_it() {
    let (a, b) = (build("a", &arg_log("1", 6, "a")), build("b", &arg_log("2", 4, "a")));
    let arg = |v: &str| BuildFacts { build_args: vec![("RELEASE".into(), Some(v.into()))], ..facts() };
    let (fa, fb) = (arg("1"), arg("2"));
    let e = check(ARG_DF, Some((&a, &fa)), (&b, &fb), &["5 BuildArgChanged 5", "6 ParentRebuilt 5"]);
    assert_eq!(e.at_line(5).unwrap().cause.detail, "build arg RELEASE changed (1 → 2)");
    assert_eq!(e.at_line(6).unwrap().cause.detail, "line 5 (RUN echo $RELEASE) was not cached: build arg RELEASE changed (1 → 2)");
    // The same logs without recorded args: the printed text differs, so the instruction changed.
    let (f, g) = (facts(), facts());
    check(ARG_DF, Some((&a, &f)), (&b, &g), &["5 InstructionChanged 5", "6 ParentRebuilt 5"]);
}

#[test]
fn a_new_base_image_digest_is_the_root() {
    let (a, b) = (build("a", &arg_log("1", 6, "a")), build("b", &arg_log("1", 2, "b")));
    let f = facts();
    let e = check(
        ARG_DF,
        Some((&a, &f)),
        (&b, &f),
        &["1 BaseImageChanged 1", "3 ParentRebuilt 1", "4 ParentRebuilt 1", "5 ParentRebuilt 1", "6 ParentRebuilt 1"],
    );
    assert_eq!(e.at_line(1).unwrap().cause.detail, "the base image changed (aaaaaaaaaaaa → bbbbbbbbbbbb)");
}

#[test]
fn an_edited_instruction_in_the_snapshot_is_the_root() {
    let (a, b) = (build("a", &arg_log("1", 6, "a")), build("b", &arg_log("1", 4, "a")));
    let snap = |text: &str| BuildFacts {
        inputs: Some(std::sync::Arc::new(Inputs { schema: 1, dockerfile: Some(text.into()), ..Inputs::default() })),
        ..facts()
    };
    let before = snap(&ARG_DF.replace("RUN echo $RELEASE", "RUN echo $RELEASE # old"));
    let after = snap(ARG_DF);
    let e = check(ARG_DF, Some((&a, &before)), (&b, &after), &["5 InstructionChanged 5", "6 ParentRebuilt 5"]);
    assert_eq!(e.at_line(6).unwrap().root_keyword, "RUN");
}

const STAGES: &str = include_str!("../../fixtures/logs/plain/bk20-plain-multistage-cached.Dockerfile");
const COLD: &[u8] = include_bytes!("../../fixtures/logs/plain/bk20-plain-multistage-cold.log");
const CACHED: &[u8] = include_bytes!("../../fixtures/logs/plain/bk20-plain-multistage-cached.log");

#[test]
fn captured_multistage_builds_cached_then_cold() {
    let (cold, cached, f) = (build("cold", COLD), build("cached", CACHED), facts());
    let e = check(STAGES, Some((&cold, &f)), (&cached, &f), &[]);
    assert!(e.steps.is_empty());
    // The "cold" build had a fresh hello.txt (its WORKDIR still came from the cache); the tester stage's
    // RUN, which reads no file, missed with nothing changed. COPY --from=builder follows the builder's chain.
    check(
        STAGES,
        Some((&cached, &f)),
        (&cold, &f),
        &[
            "4 InputsChanged 4",
            "5 ParentRebuilt 4",
            "6 ParentRebuilt 4",
            "9 CacheNotUsed 9",
            "13 ParentRebuilt 4",
            "14 ParentRebuilt 4",
            "15 ParentRebuilt 4",
        ],
    );
}

#[test]
fn advice_on_the_copy_that_keeps_invalidating_the_toolchain() {
    let (b1, b2, b3, f) = (build("b1", B1), build("b2", B2), build("b3", B3), facts());
    let sides = [side(&b1, &f), side(&b2, &f), side(&b3, &f)];
    let e = explain_latest(EXAMPLE, &sides, 5_000).unwrap();
    assert_eq!((e.from.as_deref(), e.to.as_str()), (Some("b2"), "b3"));
    assert_eq!(e.advice.len(), 1, "{:#?}", e.advice);
    let a = &e.advice[0];
    assert_eq!((a.line, a.expensive_line, a.builds, a.of), (8, 9, 2, 2));
    assert!(a.cost_ms >= 2 * 11_000, "toolchain and rust steps of both builds: {a:?}");
    assert!(a.message.contains("line 9 (RUN for part in") && a.message.contains("Copy only the files it needs"), "{}", a.message);
    assert!(explain_latest(EXAMPLE, &sides, 60_000).unwrap().advice.is_empty(), "no step takes a minute");
    assert!(explain_latest(EXAMPLE, &sides[1..], 5_000).unwrap().advice.is_empty(), "one build is no evidence");
}

const I1: &str = include_str!("../../fixtures/example/.buildlens/builds/20261124T083038.435Z-d008/inputs.json");
const I2: &str = include_str!("../../fixtures/example/.buildlens/builds/20261124T083052.049Z-06c0/inputs.json");
const I3: &str = include_str!("../../fixtures/example/.buildlens/builds/20261124T083104.046Z-b5b3/inputs.json");

fn recorded(inputs: &str) -> BuildFacts {
    BuildFacts { inputs: Some(std::sync::Arc::new(serde_json::from_str(inputs).expect("inputs.json of the example"))), ..facts() }
}

#[test]
fn the_example_records_name_the_file_that_changed_each_time() {
    let (b1, b2, b3) = (build("b1", B1), build("b2", B2), build("b3", B3));
    let (f1, f2, f3) = (recorded(I1), recorded(I2), recorded(I3));
    let e = explain(EXAMPLE, Some(side(&b1, &f1)), side(&b2, &f2));
    assert_eq!(e.at_line(9).unwrap().cause.detail, "line 8 (COPY . .) was not cached: its inputs changed (package/hello/hello.sh)");
    let e = explain(EXAMPLE, Some(side(&b2, &f2)), side(&b3, &f3));
    assert_eq!(e.at_line(9).unwrap().cause.detail, "line 8 (COPY . .) was not cached: its inputs changed (package/hello/build.sh)");
    assert_eq!(e.at_line(16).map(|s| s.status), Some(StepStatus::Error));
}

const LEGACY_DF: &str = include_str!("../../fixtures/logs/legacy/legacy28-multistage-cold.Dockerfile");
const LEGACY_COLD: &str = include_str!("../../fixtures/logs/legacy/legacy28-multistage-cold.log");
const LEGACY_CACHED: &str = include_str!("../../fixtures/logs/legacy/legacy28-multistage-cached.log");

#[test]
fn legacy_builds_compare_their_from_image_ids() {
    let (cold, cached, f) = (build("cold", LEGACY_COLD.as_bytes()), build("cached", LEGACY_CACHED.as_bytes()), facts());
    check(LEGACY_DF, Some((&cold, &f)), (&cached, &f), &[]);
    // Nothing changed and every step missed: a pruned cache, rooted at each stage's first step.
    let e = explain(LEGACY_DF, Some(side(&cached, &f)), side(&cold, &f));
    assert_eq!(e.at_line(3).map(|s| s.cause.kind), Some(CauseKind::CacheNotUsed), "{e:#?}");
    assert_eq!(e.at_line(6).map(|s| (s.cause.kind, s.cause.root_line)), Some((CauseKind::ParentRebuilt, 3)));
    // The same cold build, its first FROM resolved to another image id (` ---> <id>` after the FROM).
    let moved = build("moved", LEGACY_COLD.replacen(" ---> 02434731010d", " ---> 99999999aaaa", 1).as_bytes());
    let e = explain(LEGACY_DF, Some(side(&cold, &f)), side(&moved, &f));
    assert_eq!(
        e.at_line(2).map(|s| (s.cause.kind, s.cause.detail.as_str())),
        Some((CauseKind::BaseImageChanged, "the base image changed (02434731010d → 99999999aaaa)")),
        "{e:#?}"
    );
    assert_eq!(e.at_line(3).map(|s| (s.cause.kind, s.cause.root_line)), Some((CauseKind::ParentRebuilt, 2)));
}

/// A plain log of one build whose steps are `[k/n] <instruction>`, all executed.
fn plain_build(id: &str, instructions: &[&str]) -> RecordedBuild {
    let n = instructions.len();
    let mut log = String::from("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n");
    for (k, ins) in instructions.iter().enumerate() {
        log += &format!("#{v} [{k}/{n}] {ins}\n#{v} 0.1 working\n#{v} DONE 1.0s\n", v = k + 2, k = k + 1);
    }
    build(id, log.as_bytes())
}

#[test]
fn only_builds_of_this_dockerfile_are_explained() {
    let api = "FROM golang:1.22\nCOPY . /src\nRUN go build -o /app ./cmd/api\n";
    let api_build = |id: &str| plain_build(id, &["FROM docker.io/library/golang:1.22", "COPY . /src", "RUN go build -o /app ./cmd/api"]);
    let web_build = |id: &str| plain_build(id, &["FROM docker.io/library/node:20", "COPY package.json .", "RUN npm install"]);
    let (a1, w1, a2, w2, f) = (api_build("a1"), web_build("w1"), api_build("a2"), web_build("w2"), facts());
    // The newest build is another image: the newest build of the Dockerfile is explained, on its own.
    let e = explain_latest(api, &[side(&a1, &f), side(&w1, &f)], 5_000).expect("a build of the Dockerfile");
    assert_eq!((e.from.as_deref(), e.to.as_str()), (None, "a1"));
    assert_eq!(summary(&e), ["2 NoEarlierBuild 2", "3 NoEarlierBuild 3"]);
    // Builds of it are compared with each other, never with the other image between them.
    let e = explain_latest(api, &[side(&a1, &f), side(&w1, &f), side(&a2, &f), side(&w2, &f)], 5_000).unwrap();
    assert_eq!((e.from.as_deref(), e.to.as_str()), (Some("a1"), "a2"));
    // No build of it: nothing to explain (not "every step came from the cache").
    assert!(explain_latest(api, &[side(&w1, &f), side(&w2, &f)], 5_000).is_none());
}

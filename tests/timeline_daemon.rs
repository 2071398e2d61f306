//! The critical path of a real multi-stage build, end to end against the private dockerd (BuildKit v0.8)
//! that `scripts/test.sh` starts: `fixtures/daemon/parallel` has two stages BuildKit runs side by side
//! (`sleep 3` and `sleep 1`) and a final stage that copies from both. Recorded with `buildlens record`,
//! the timeline must put the 3 s stage on the critical path and give the 1 s stage about 2 s of slack;
//! `report --markdown` and `report --html` must say so too.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use buildlens::analysis::timeline::{self, Timeline};
use buildlens::analysis::{MappingCache, RecordedBuild};
use support::{fresh_context, record, run, unique, BIN, DOCKER};

/// Lines of `fixtures/daemon/parallel/Dockerfile`.
const SLEEP_3: u32 = 5;
const SLEEP_1: u32 = 9;
const COPY_A: u32 = 12;
const COPY_B: u32 = 13;

fn timeline_of(log: &std::path::Path, dockerfile: &str) -> Timeline {
    let parsed = buildlens::log::parse_bytes(&std::fs::read(log).unwrap());
    let build = parsed.builds.into_iter().last().expect("a build in the recorded log");
    let rb = RecordedBuild { id: "r".into(), started: None, build, log_path: PathBuf::from(log), live: false, built_dockerfile: None };
    timeline::of_build(dockerfile, &rb, &mut MappingCache::default())
}

fn report(ctx: &std::path::Path, flag: &str) -> String {
    let out =
        run(Command::new(BIN).current_dir(ctx).args(["report", "Dockerfile", "--store", ".buildlens", flag]), Duration::from_secs(60));
    assert!(out.status.success(), "report {flag}: {}", support::text(&out.stderr));
    support::text(&out.stdout)
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn the_longer_parallel_stage_is_the_critical_path_and_the_shorter_has_its_slack() {
    support::require_docker();
    let ctx = fresh_context("parallel");
    let tag = unique("buildlens-parallel");
    let cmd = [DOCKER, "build", "--network=none", "--progress=plain", "-t", &tag, "."];
    let store = ctx.path().join(".buildlens");
    let r = record(&store, ctx.path(), &[("DOCKER_BUILDKIT", "1")], &[], &cmd);
    assert!(r.status.success(), "the build failed: {}", support::text(&r.stderr));
    let dockerfile = std::fs::read_to_string(ctx.path().join("Dockerfile")).unwrap();
    let t = timeline_of(&r.log_path, &dockerfile);

    let path: Vec<u32> = t.path.iter().filter_map(|&i| t.bars.get(i)).map(|b| b.line).collect();
    for line in [SLEEP_3, COPY_A, COPY_B] {
        assert!(path.contains(&line), "line {line} on the critical path {path:?}: {t:#?}");
    }
    assert!(!path.contains(&SLEEP_1), "the 1 s stage is not on the path {path:?}");
    let short = t.at_line(SLEEP_1).expect("the sleep 1 step");
    let long = t.at_line(SLEEP_3).expect("the sleep 3 step");
    assert!((2700..4500).contains(&long.length_ms()) && (700..2500).contains(&short.length_ms()), "{long:?} {short:?}");
    assert!((1500..=2800).contains(&short.slack_ms), "about 2 s of slack: {short:?}");
    assert_eq!(long.slack_ms, 0);
    let lanes: Vec<&str> = t.lanes.iter().map(String::as_str).collect();
    assert!(lanes.starts_with(&["a", "b"]), "{lanes:?}");

    let md = report(ctx.path(), "--markdown");
    assert!(md.contains("#### Critical path") && md.contains(&format!("    L{SLEEP_3} RUN sleep 3 cp /nonce.txt /a.txt :crit,")), "{md}");
    assert!(md.lines().any(|l| l.starts_with(&format!("    L{SLEEP_1} RUN sleep 1")) && !l.contains("crit")), "{md}");
    let text = report(ctx.path(), "--timeline");
    eprintln!("{text}");
    assert!(text.lines().any(|l| l.trim_start().starts_with(&format!("{SLEEP_3} a")) && l.ends_with('◆')), "{text}");
    let html = report(ctx.path(), "--html");
    assert!(html.contains(&format!("class=\"bar executed crit\" data-line=\"{SLEEP_3}\"")), "the long stage outlined");
    assert!(html.contains(&format!("class=\"bar executed\" data-line=\"{SLEEP_1}\"")), "the short stage not outlined");
    let _ = Command::new(DOCKER).args(["image", "rm", "-f", &tag]).output();
}

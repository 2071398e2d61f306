//! Step-to-line mapping over real builds run by the test suite against the daemon (BuildKit, the classic
//! builder and podman): every step of `fixtures/daemon/mapping` lands on its instruction's lines, through
//! `buildlens record` and `buildlens report --json`, the way a user gets them.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{fresh_context, record, unique, DOCKER};

/// The instructions that run a process or change files: every builder has a step for each of them.
fn counted_lines(dockerfile: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for (i, line) in dockerfile.lines().enumerate() {
        if ["COPY ", "RUN ", "WORKDIR "].iter().any(|k| line.starts_with(k)) {
            out.push((i as u64 + 1, line.to_string()));
        }
    }
    out
}

fn report(store: &Path, dockerfile: &Path) -> Value {
    let out = Command::new(support::BIN).arg("report").arg(dockerfile).arg("--store").arg(store).arg("--json").output().unwrap();
    assert!(out.status.success(), "report failed: {}", support::text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(env: &[(&str, &str)], command: &[&str], ctx: &Path, store: &Path, all_instructions: bool) {
    let rec = record(store, ctx, env, &[], command);
    assert!(!rec.status.success(), "the build fails at its last step: {}", support::text(&rec.stderr));
    let dockerfile = ctx.join("Dockerfile");
    let r = report(store, &dockerfile);
    assert_eq!(r["problems"], Value::Array(vec![]), "every step maps: {r:#}");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let lines = counted_lines(&text);
    let by_line = |line: u64| r["instructions"].as_array().unwrap().iter().find(|i| i["line"] == line).cloned().unwrap_or(Value::Null);
    let last_line = lines.last().unwrap().0;
    for (line, source) in &lines {
        let last = &by_line(*line)["last"];
        let want = if *line == last_line { "error" } else { "executed" };
        assert_eq!(last["status"].as_str(), Some(want), "line {line} `{source}`: {last:#}");
    }
    assert_eq!(by_line(last_line)["last"]["exit_code"].as_i64(), Some(4));
    let continued = by_line(6);
    assert_eq!((continued["line"].as_u64(), continued["end_line"].as_u64()), (Some(6), Some(9)), "the RUN with a comment inside");
    if all_instructions {
        // The classic builder and podman make a step of every instruction, ENV included.
        assert_eq!(by_line(16)["last"]["status"].as_str(), Some("executed"), "ENV GREETING=hello");
    }
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn buildkit_steps_map_to_their_lines() {
    support::require_docker();
    let ctx = fresh_context("mapping");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-map-bk");
    let command = [DOCKER, "build", "--network=none", "--progress=plain", "-t", &tag, "."];
    check(&[("DOCKER_BUILDKIT", "1")], &command, ctx.path(), store.path(), false);
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn legacy_steps_map_to_their_lines() {
    support::require_docker();
    let ctx = fresh_context("mapping");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-map-legacy");
    let command = [DOCKER, "build", "--network=none", "-t", &tag, "."];
    check(&[("DOCKER_BUILDKIT", "0")], &command, ctx.path(), store.path(), true);
}

#[test]
#[ignore = "needs podman prepared by scripts/test.sh"]
fn podman_steps_map_to_their_lines() {
    support::require_podman();
    let ctx = fresh_context("mapping");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-map-podman");
    let command = ["podman", "build", "--network=none", "-t", &tag, "."];
    check(&[], &command, ctx.path(), store.path(), true);
    support::podman_remove(&tag, &std::fs::read(support::only_record(store.path()).0).unwrap_or_default());
}

/// A single-stage build (BuildKit prints `[k/n]` without a stage name): each step on its line.
#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn single_stage_steps_map_to_their_lines() {
    support::require_docker();
    for (buildkit, prefix) in [("1", "buildlens-map-single-bk"), ("0", "buildlens-map-single-legacy")] {
        let ctx = fresh_context("failing");
        let store = tempfile::tempdir().unwrap();
        let tag = unique(prefix);
        let rec =
            record(store.path(), ctx.path(), &[("DOCKER_BUILDKIT", buildkit)], &[], &[DOCKER, "build", "--network=none", "-t", &tag, "."]);
        assert!(!rec.status.success());
        let r = report(store.path(), &ctx.path().join("Dockerfile"));
        assert_eq!(r["problems"], Value::Array(vec![]), "{r:#}");
        let text = std::fs::read_to_string(ctx.path().join("Dockerfile")).unwrap();
        let statuses: Vec<(u64, Option<String>)> = counted_lines(&text)
            .iter()
            .map(|(line, _)| {
                let view = r["instructions"].as_array().unwrap().iter().find(|i| i["line"] == *line).unwrap();
                (*line, view["last"]["status"].as_str().map(String::from))
            })
            .collect();
        let want: Vec<(u64, Option<String>)> = counted_lines(&text)
            .iter()
            .map(|(line, source)| {
                let status = if source.contains("never runs") {
                    None
                } else if source.contains("exit 3") {
                    Some("error".to_string())
                } else {
                    Some("executed".to_string())
                };
                (*line, status)
            })
            .collect();
        assert_eq!(statuses, want, "DOCKER_BUILDKIT={buildkit}");
    }
}

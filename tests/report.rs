//! `buildlens import` + `buildlens report`: which records belong to which Dockerfile, and a log from
//! another Dockerfile mapping nothing (counted in the report's problems) instead of being guessed.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_buildlens");

fn fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs").join(path)
}

fn run(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(BIN).current_dir(dir).args(args).env_remove("BUILDLENS_STORE").output().unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code().unwrap_or(-1))
}

fn report(dir: &Path, dockerfile: &str) -> Value {
    let (out, err, code) = run(dir, &["report", dockerfile, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn mapped_lines(r: &Value) -> Vec<u64> {
    r["instructions"].as_array().unwrap().iter().filter(|i| !i["last"].is_null()).filter_map(|i| i["line"].as_u64()).collect()
}

/// A workspace (with `.git`, so it is its own root) holding the two captured Dockerfiles.
fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join(".git")).unwrap();
    std::fs::copy(fixture("plain/bk20-plain-multistage-cold.Dockerfile"), ws.path().join("multi.Dockerfile")).unwrap();
    std::fs::copy(fixture("plain/bk20-plain-failing.Dockerfile"), ws.path().join("Dockerfile")).unwrap();
    ws
}

#[test]
fn a_record_without_a_dockerfile_goes_to_the_best_text_match() {
    let ws = workspace();
    let (out, err, code) = run(ws.path(), &["import", fixture("plain/bk20-plain-multistage-cold.log").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("buildkit-plain success with 9 steps"), "{out}");
    let multi = report(ws.path(), "multi.Dockerfile");
    assert_eq!(multi["builds"], 1);
    assert_eq!(mapped_lines(&multi), vec![3, 4, 5, 6, 8, 9, 13, 14, 15]);
    let other = report(ws.path(), "Dockerfile");
    assert_eq!(other["builds"], 0, "the build belongs to multi.Dockerfile only: {other:#}");
    assert!(mapped_lines(&other).is_empty());
}

#[test]
fn a_log_from_another_dockerfile_maps_nothing_and_says_so() {
    let ws = workspace();
    let log = fixture("plain/bk20-plain-multistage-cold.log");
    let (_, err, code) = run(ws.path(), &["import", "--dockerfile", "Dockerfile", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let r = report(ws.path(), "Dockerfile");
    assert_eq!(r["builds"], 1, "the record names this Dockerfile");
    assert!(mapped_lines(&r).is_empty(), "nothing is guessed onto lines: {r:#}");
    let problems: Vec<&str> = r["problems"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(problems.iter().any(|p| p.contains("does not match this Dockerfile")), "{problems:?}");
}

#[test]
fn errors_a_user_sees_say_what_to_do() {
    let ws = workspace();
    let (_, err, code) = run(ws.path(), &["report", "missing.Dockerfile"]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot read the Dockerfile") && err.contains("give its path"), "{err}");
    let (_, err, code) = run(ws.path(), &["import", "no-such.log"]);
    assert_ne!(code, 0);
    assert!(err.contains("no-such.log") && err.contains("cannot open"), "{err}");
    let (out, _, code) = run(ws.path(), &["parse", fixture("plain/bk20-plain-failing.Dockerfile").to_str().unwrap()]);
    assert_eq!(code, 2, "not a build log");
    assert!(out.starts_with("not a build log"), "{out}");
    assert!(out.contains("`Step N/M : `") && out.contains("`#N [..]`"), "names the anchors it looked for: {out}");
    assert!(out.contains("the log starts with:\n    1: \"FROM "), "shows the first lines: {out}");
    assert!(out.lines().count() <= 8, "short: {out}");
}

/// Issue 13, classes 8 and 9: a build that failed before any step (its base image could not be resolved)
/// still belongs to the Dockerfile it loaded and shows on the FROM line its error block names; a parse
/// error without a step lands on its line; build checks' warnings are listed on their lines.
#[test]
fn a_failure_before_any_step_and_check_warnings_show_on_their_lines() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join(".git")).unwrap();
    std::fs::write(
        ws.path().join("Dockerfile"),
        "# syntax=docker/dockerfile:1\nARG TAG=1\nFROM nosuch:${TAG} AS base\nENV A 1\nRUN make\n",
    )
    .unwrap();
    let head = "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 120B done\n#1 DONE 0.0s\n\n";
    let unresolved = format!("{head}#2 [internal] load metadata for docker.io/library/nosuch:1\n#2 ERROR: docker.io/library/nosuch:1: not found\n------\n > [internal] load metadata for docker.io/library/nosuch:1:\n------\n 1 warning found (use docker --debug to expand):\n - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line 4)\nDockerfile:3\n--------------------\n   2 |     ARG TAG=1\n   3 | >>> FROM nosuch:${{TAG}} AS base\n   4 |     ENV A 1\n--------------------\nERROR: failed to solve: nosuch:1: failed to resolve source metadata for docker.io/library/nosuch:1: docker.io/library/nosuch:1: not found\n");
    let log = ws.path().join("unresolved.log");
    std::fs::write(&log, unresolved).unwrap();
    let (_, err, code) = run(ws.path(), &["import", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let r = report(ws.path(), "Dockerfile");
    assert_eq!(r["builds"], 1, "the record belongs to the Dockerfile it loaded: {r:#}");
    let at = |line: u64| r["instructions"].as_array().unwrap().iter().find(|i| i["line"] == line).unwrap().clone();
    assert_eq!(at(3)["last"]["status"], "error");
    assert_eq!(at(3)["last"]["error"], "docker.io/library/nosuch:1: not found");
    assert_eq!(at(4)["checks"][0]["code"], "LegacyKeyValueFormat");
    let (text, _, _) = run(ws.path(), &["report", "Dockerfile"]);
    assert!(text.contains("^ FAILED: docker.io/library/nosuch:1: not found"), "{text}");
    assert!(text.contains("^ warning (line 4, build #1): LegacyKeyValueFormat: \"ENV key=value\""), "{text}");

    let parse_error = format!("{head}Dockerfile:5\n--------------------\n   4 |     ENV A 1\n   5 | >>> RUNN make\n--------------------\nERROR: failed to solve: dockerfile parse error on line 5: unknown instruction: RUNN\n");
    let log = ws.path().join("parse.log");
    std::fs::write(&log, parse_error).unwrap();
    let (_, err, code) = run(ws.path(), &["import", log.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let r = report(ws.path(), "Dockerfile");
    assert_eq!(r["builds"], 2);
    let at = |line: u64| r["instructions"].as_array().unwrap().iter().find(|i| i["line"] == line).unwrap().clone();
    assert_eq!(at(5)["last"]["error"], "dockerfile parse error on line 5: unknown instruction: RUNN");
    assert!(at(4)["checks"].is_null(), "the latest build ran no checks: the older warning is not shown");
}

/// `--last N` reads the newest N records of the Dockerfile and numbers their builds after the older ones
/// (as the editor does); `--all` reads every record; the default reads enough for a short history.
#[test]
fn report_reads_the_newest_records_and_numbers_after_the_older() {
    let ws = workspace();
    let log = fixture("plain/bk20-plain-failing.log");
    for _ in 0..7 {
        let (_, err, code) = run(ws.path(), &["import", "--dockerfile", "Dockerfile", log.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
    }
    let (out, err, code) = run(ws.path(), &["report", "Dockerfile", "--last", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Dockerfile: 3 recorded builds and 4 older records, not read (--all reads them)\n  #5 "), "{out}");
    assert!(out.contains("(build #7)") && !out.contains("(build #3)"), "{out}");
    let (json, _, _) = run(ws.path(), &["report", "Dockerfile", "--last", "3", "--json"]);
    let r: Value = serde_json::from_str(&json).unwrap();
    assert_eq!((r["builds"].as_u64(), r["older_records"].as_u64()), (Some(3), Some(4)));
    for all in [&["report", "Dockerfile", "--all", "--json"][..], &["report", "Dockerfile", "--json"][..]] {
        let (json, _, _) = run(ws.path(), all);
        let r: Value = serde_json::from_str(&json).unwrap();
        assert_eq!((r["builds"].as_u64(), r["older_records"].as_u64()), (Some(7), Some(0)), "{all:?}");
    }
}

/// A run that was canceled (another step failed first) did not execute: the report's count says so
/// instead of counting it among the executed runs.
#[test]
fn a_canceled_run_is_not_counted_as_executed() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join(".git")).unwrap();
    std::fs::write(ws.path().join("Dockerfile"), "FROM alpine:3.20 AS a\nRUN sleep 100\n\nFROM alpine:3.20 AS b\nRUN exit 3\n").unwrap();
    let log = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [a 1/2] FROM docker.io/library/alpine:3.20\n#2 CACHED\n\n#3 [a 2/2] RUN sleep 100\n#3 ...\n\n#4 [b 2/2] RUN exit 3\n#4 ERROR: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3\n\n#3 [a 2/2] RUN sleep 100\n#3 CANCELED\n------\n > [b 2/2] RUN exit 3:\n------\nERROR: failed to solve: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3\n";
    std::fs::write(ws.path().join("build.log"), log).unwrap();
    let (_, err, code) = run(ws.path(), &["import", "--dockerfile", "Dockerfile", "build.log"]);
    assert_eq!(code, 0, "{err}");
    let (out, err, code) = run(ws.path(), &["report", "Dockerfile"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("canceled (build #1) · ran in 1 build: 0 executed, 0 cached, 1 canceled"), "{out}");
    assert!(out.contains("ran in 1 build: 1 executed, 0 cached"), "the failed run executed: {out}");
}

/// Compose: service `app` fails before its first instruction (its base image's metadata denied). The
/// failure is app's, on app's `FROM` line (the snippet's `app.Dockerfile:3`), not base's, whose step ran.
#[test]
fn a_service_that_failed_before_any_step_shows_on_its_own_dockerfile() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    std::fs::create_dir(dir.join(".git")).unwrap();
    std::fs::write(dir.join("compose.yaml"), "services:\n  base:\n    build: {context: ., dockerfile: base.Dockerfile}\n  app:\n    build: {context: ., dockerfile: app.Dockerfile}\n").unwrap();
    std::fs::write(dir.join("base.Dockerfile"), "FROM alpine:3.20\n").unwrap();
    std::fs::write(dir.join("app.Dockerfile"), "# app\nARG BASE=example/private-base:1\nFROM $BASE\nRUN make\n").unwrap();
    let log = "#1 [base internal] load build definition from base.Dockerfile\n#1 DONE 0.0s\n\n#2 [app internal] load build definition from app.Dockerfile\n#2 DONE 0.0s\n\n#3 [base 1/1] FROM docker.io/library/alpine:3.20\n#3 DONE 0.1s\n\n#4 [app internal] load metadata for docker.io/example/private-base:1\n#4 ERROR: pull access denied, repository does not exist or may require authorization\n------\n > [app internal] load metadata for docker.io/example/private-base:1:\n------\napp.Dockerfile:3\n--------------------\n   3 | >>> FROM $BASE\n--------------------\ntarget app: failed to solve: example/private-base:1: pull access denied\n";
    std::fs::write(dir.join("build.log"), log).unwrap();
    let (_, err, code) = run(dir, &["import", "build.log"]);
    assert_eq!(code, 0, "{err}");
    let app = report(dir, "app.Dockerfile");
    let line3 = app["instructions"].as_array().unwrap().iter().find(|i| i["line"] == 3).cloned().unwrap();
    assert_eq!(line3["last"]["status"], "error", "{app:#}");
    let base = report(dir, "base.Dockerfile");
    let line1 = base["instructions"].as_array().unwrap().iter().find(|i| i["line"] == 1).cloned().unwrap();
    assert_eq!(line1["last"]["status"], "executed", "{base:#}");
}

/// A bake (or compose) target built for several platforms: buildx puts the target before the platform
/// (`[web linux/arm64 builder 2/3]`); every stage of the target's Dockerfile shows both platforms' runs.
#[test]
fn a_multi_platform_bake_target_marks_every_stage_with_each_platform() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    std::fs::create_dir(dir.join(".git")).unwrap();
    std::fs::write(dir.join("compose.yaml"), "services:\n  web:\n    build: {context: ., dockerfile: web.Dockerfile}\n").unwrap();
    std::fs::write(dir.join("web.Dockerfile"), "FROM node:20 AS builder\nRUN npm ci\n\nFROM nginx:alpine\nCOPY --from=builder /app /srv\n")
        .unwrap();
    let mut log = String::from("#1 [web internal] load build definition from web.Dockerfile\n#1 DONE 0.0s\n\n");
    let steps = [
        ("builder 1/2", "FROM docker.io/library/node:20", "1.0"),
        ("builder 2/2", "RUN npm ci", "20.0"),
        ("stage-1 1/2", "FROM docker.io/library/nginx:alpine", "0.5"),
        ("stage-1 2/2", "COPY --from=builder /app /srv", "0.2"),
    ];
    let mut n = 2;
    for (platform, factor) in [("linux/amd64", 1.0), ("linux/arm64", 3.0)] {
        for (slot, instruction, secs) in steps {
            let secs: f64 = secs.parse::<f64>().unwrap() * factor;
            log.push_str(&format!("#{n} [web {platform} {slot}] {instruction}\n#{n} DONE {secs:.1}s\n\n"));
            n += 1;
        }
    }
    std::fs::write(dir.join("build.log"), log).unwrap();
    let (_, err, code) = run(dir, &["import", "build.log"]);
    assert_eq!(code, 0, "{err}");
    let web = report(dir, "web.Dockerfile");
    let instructions = web["instructions"].as_array().unwrap();
    for line in [1, 2, 4, 5] {
        let at = instructions.iter().find(|i| i["line"] == line).unwrap_or_else(|| panic!("line {line}: {web:#}"));
        assert_eq!(at["last"]["status"], "executed", "line {line}: {web:#}");
        let text = at.to_string();
        assert!(text.contains("linux/amd64") && text.contains("linux/arm64"), "line {line} shows both platforms: {web:#}");
    }
}

/// `explain` of a Dockerfile whose recorded builds all built another one says so (not "every step came
/// from the cache", not a bare "no recorded build").
#[test]
fn explain_says_when_the_builds_read_built_another_dockerfile() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path();
    std::fs::create_dir(dir.join(".git")).unwrap();
    std::fs::write(dir.join("api.Dockerfile"), "FROM golang:1.22\nRUN go build ./...\n").unwrap();
    let web = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/node:20\n#2 DONE 1.0s\n\n#3 [2/2] RUN npm ci\n#3 DONE 30.5s\n\n#4 exporting to image\n#4 DONE 0.2s\n";
    std::fs::write(dir.join("build.log"), web).unwrap();
    let (_, err, code) = run(dir, &["import", "--dockerfile", "api.Dockerfile", "build.log"]);
    assert_eq!(code, 0, "{err}");
    let (out, err, code) = run(dir, &["explain", "api.Dockerfile"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no recorded build ran a step of this Dockerfile (the 1 read built another"), "{out}");
    assert!(!out.contains("cache"), "{out}");
}

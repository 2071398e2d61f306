//! Real logs the generator test (tests/generated_daemon.rs) made here and buildlens got wrong, kept as
//! fixtures so they fail without a daemon until fixed: `fixtures/generated/<case>/` holds the Dockerfile,
//! the build's log and `expected.txt` (`<line> <status>` per instruction, written from the log and the
//! Dockerfile, with why). Each is imported into a fresh store with `--dockerfile` and checked line by line
//! in `report --json`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{repo_root, run, text, BIN};

fn check(case: &str) {
    let from = repo_root().join("fixtures/generated").join(case);
    let dir = tempfile::tempdir().unwrap();
    for name in ["Dockerfile", "build.log"] {
        std::fs::copy(from.join(name), dir.path().join(name)).unwrap_or_else(|e| panic!("{case}/{name}: {e}"));
    }
    let store = dir.path().join(".buildlens");
    let dockerfile = dir.path().join("Dockerfile");
    let imported = run(
        Command::new(BIN).arg("import").arg("--store").arg(&store).arg("--dockerfile").arg(&dockerfile).arg(dir.path().join("build.log")),
        Duration::from_secs(60),
    );
    assert!(imported.status.success(), "import: {}", text(&imported.stderr));
    let report = report(&store, &dockerfile);
    let expected = std::fs::read_to_string(from.join("expected.txt")).unwrap();
    let mut wrong = Vec::new();
    for row in expected.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (line, want) = row.split_once(' ').unwrap_or_else(|| panic!("{case}/expected.txt: bad row {row:?}"));
        let line: u64 = line.parse().unwrap_or_else(|_| panic!("{case}/expected.txt: bad line in {row:?}"));
        let found = report["instructions"].as_array().and_then(|a| a.iter().find(|i| i["line"].as_u64() == Some(line)));
        let got = found.map(|i| i["last"]["status"].as_str().unwrap_or("none"));
        let ok = match (want.trim(), got) {
            (_, None) => false,
            ("any", Some(g)) => g != "none",
            (w, Some(g)) => w == g,
        };
        if !ok {
            wrong.push(format!("line {line}: expected {want}, got {}", got.unwrap_or("no such instruction")));
        }
    }
    assert!(
        wrong.is_empty(),
        "{case}: {}\nproblems: {}\nimport said: {}\nDockerfile:\n{}",
        wrong.join("; "),
        report["problems"],
        text(&imported.stdout).trim(),
        std::fs::read_to_string(&dockerfile).unwrap_or_default()
    );
}

fn report(store: &Path, dockerfile: &Path) -> serde_json::Value {
    let out = run(Command::new(BIN).arg("report").arg("--store").arg(store).arg("--json").arg(dockerfile), Duration::from_secs(60));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report --json printed no JSON ({e}): {}", text(&out.stderr)))
}

/// BuildKit names the shared image vertex after a stage that only derives from it, with the label of that
/// stage's first step (`[app 1/3] FROM ...` and `[app 1/3] COPY ...`): the COPY must still be on its line.
#[test]
fn buildkit_image_vertex_named_after_a_derived_stage() {
    check("buildkit-image-vertex-named-after-derived-stage");
}

/// podman builds a `COPY --from` stage on demand between the COPY's header and its result.
#[test]
fn podman_copy_from_builds_its_stage_in_between() {
    check("podman-copy-from-builds-its-stage-in-between");
}

/// A Go log date on some lines only, the first header among them: the date is learned from the build it
/// continues and stripped from every later line, so a dated `--> Using cache` is still a cache hit.
#[test]
fn podman_go_date_on_some_lines() {
    check("podman-go-date-on-some-lines");
}

/// A Go log date on a cache hit line and on no header: the cache hit still counts.
#[test]
fn podman_go_date_on_cache_hits_only() {
    check("podman-go-date-on-cache-hits-only");
}

//! Layer sizes end to end against the real daemon `scripts/test.sh` starts: `buildlens record` builds
//! fixtures/daemon/layers (a RUN that writes exactly 2 MiB) with BuildKit and the legacy builder, stores
//! the image's history beside the log, and `report --json` puts the sizes on the right lines; the snapshot
//! keeps answering after `docker rmi` and with the daemon gone, and a live query of a dead or silent
//! engine fails quietly and fast.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{fresh_context, record, run, text, unique, BIN, DOCKER};

const MIB2: u64 = 2 * 1024 * 1024;
/// fixtures/daemon/layers: the `dd` of 2 MiB, the two 1-line COPYs of the nonce, the RUN that writes 6 bytes.
const LINE_DD: u64 = 13;
const LINE_GREETING: u64 = 15;
/// The builder stage's 3 MiB `dd`: not in the final image, so no size.
const LINE_BUILDER_DD: u64 = 6;

/// Records a build of a fresh copy of fixtures/daemon/layers with BuildKit (`true`) or the legacy builder.
fn record_layers(buildkit: bool, store: &Path, ctx: &Path, tag: &str) {
    let env: &[(&str, &str)] = if buildkit { &[("DOCKER_BUILDKIT", "1")] } else { &[("DOCKER_BUILDKIT", "0")] };
    let mut command = vec![DOCKER, "build", "--network=none"];
    if buildkit {
        command.push("--progress=plain");
    }
    command.extend(["-t", tag, "."]);
    let rec = record(store, ctx, env, &[], &command);
    assert_eq!(rec.status.code(), Some(0), "record failed:\n{}", text(&rec.stderr));
    assert!(!text(&rec.stderr).contains("no layer sizes"), "the snapshot was not taken:\n{}", text(&rec.stderr));
}

/// `buildlens report --json` with `env` added; returns the JSON and how long it took.
fn report(store: &Path, dockerfile: &Path, env: &[(&str, &str)]) -> (Value, Duration, String) {
    let start = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.arg("report").arg(dockerfile).arg("--store").arg(store).arg("--json").envs(env.iter().copied());
    let out = run(&mut cmd, Duration::from_secs(60));
    assert!(out.status.success(), "report failed: {}", text(&out.stderr));
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("report printed no JSON ({e}): {}", text(&out.stdout)));
    (json, start.elapsed(), text(&out.stderr))
}

/// `last.size_bytes` of the instruction starting at `line`.
fn size_at(report: &Value, line: u64) -> Option<u64> {
    let ins = report["instructions"].as_array().unwrap().iter().find(|i| i["line"] == line);
    let ins = ins.unwrap_or_else(|| panic!("no instruction at line {line}: {report:#}"));
    ins["last"]["size_bytes"].as_u64()
}

fn assert_sizes(report: &Value) {
    assert_eq!(size_at(report, LINE_DD), Some(MIB2), "{report:#}");
    assert_eq!(size_at(report, LINE_GREETING), Some(6), "{report:#}");
    assert_eq!(size_at(report, LINE_BUILDER_DD), None, "{report:#}");
}

fn the_record(store: &Path) -> buildlens::store::Record {
    let records = buildlens::store::Store::at(store).records();
    records.last().cloned().expect("a record")
}

fn sizes_on_their_lines(buildkit: bool) {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-engine");
    record_layers(buildkit, store.path(), ctx.path(), &tag);
    let record = the_record(store.path());
    let snapshot = record.image().expect("image.json after a successful build");
    assert!(snapshot.id.as_deref().is_some_and(|id| id.starts_with("sha256:")), "{snapshot:?}");
    let (json, _, _) = report(store.path(), &ctx.path().join("Dockerfile"), &[]);
    assert_sizes(&json);
    // A cached rebuild (same nonce): a second record of the same image, sizes on both runs. (support::record
    // wants one record per store: it goes to its own store first, then joins the first one.)
    let second = tempfile::tempdir().unwrap();
    record_layers(buildkit, second.path(), ctx.path(), &tag);
    let rebuilt = the_record(second.path());
    let into = store.path().join("builds").join(&rebuilt.id);
    std::fs::create_dir(&into).unwrap();
    for entry in std::fs::read_dir(&rebuilt.dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), into.join(entry.file_name())).unwrap();
    }
    let (json, _, _) = report(store.path(), &ctx.path().join("Dockerfile"), &[]);
    assert_sizes(&json);
    let dd = json["instructions"].as_array().unwrap().iter().find(|i| i["line"] == LINE_DD).unwrap();
    let history: Vec<Option<u64>> = dd["history"].as_array().unwrap().iter().map(|r| r["size_bytes"].as_u64()).collect();
    assert_eq!(history, [Some(MIB2), Some(MIB2)]);
    // The text report marks it as the largest layer.
    let out =
        run(Command::new(BIN).arg("report").arg(ctx.path().join("Dockerfile")).arg("--store").arg(store.path()), Duration::from_secs(60));
    let printed = text(&out.stdout);
    assert!(printed.contains("layer 2.1 MB (largest #1)"), "{printed}");
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn buildkit_layer_sizes_on_their_lines() {
    sizes_on_their_lines(true);
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn legacy_layer_sizes_on_their_lines() {
    sizes_on_their_lines(false);
}

/// The image is removed after recording: the snapshot still answers; a live query finds nothing, quietly.
#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn the_snapshot_outlives_the_image() {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-engine-rmi");
    record_layers(true, store.path(), ctx.path(), &tag);
    let out = run(Command::new(DOCKER).args(["rmi", &tag]), Duration::from_secs(60));
    assert!(out.status.success(), "docker rmi: {}", text(&out.stderr));
    let (json, _, _) = report(store.path(), &ctx.path().join("Dockerfile"), &[]);
    assert_sizes(&json);
    // Without the snapshot, the live query finds no image: sizes are absent, the report still succeeds.
    std::fs::remove_file(the_record(store.path()).image_path()).unwrap();
    let (json, _, stderr) = report(store.path(), &ctx.path().join("Dockerfile"), &[]);
    assert_eq!(size_at(&json, LINE_DD), None, "{json:#}");
    assert_eq!(stderr.lines().filter(|l| l.contains("no layer sizes")).count(), 1, "one line about it: {stderr}");
}

/// No snapshot: the live query answers while the image exists.
#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn a_live_query_answers_without_a_snapshot() {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    let tag = unique("buildlens-engine-live");
    record_layers(false, store.path(), ctx.path(), &tag);
    std::fs::remove_file(the_record(store.path()).image_path()).unwrap();
    let (json, _, _) = report(store.path(), &ctx.path().join("Dockerfile"), &[]);
    assert_sizes(&json);
}

/// The daemon is gone (a socket path nobody serves) or hangs (accepts, never answers): the snapshot
/// still answers, and without it the report is quick and quiet.
#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn a_dead_or_silent_daemon_costs_no_error_and_little_time() {
    support::require_docker();
    let ctx = fresh_context("layers");
    let store = tempfile::tempdir().unwrap();
    record_layers(true, store.path(), ctx.path(), &unique("buildlens-engine-down"));
    let dir = tempfile::tempdir().unwrap();
    let silent = dir.path().join("silent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().flatten().collect();
        drop(held);
    });
    let dead = format!("unix://{}", dir.path().join("dead.sock").display());
    let silent = format!("unix://{}", silent.display());
    let dockerfile = ctx.path().join("Dockerfile");
    for host in [&dead, &silent] {
        let (json, _, _) = report(store.path(), &dockerfile, &[("DOCKER_HOST", host)]);
        assert_sizes(&json);
    }
    std::fs::remove_file(the_record(store.path()).image_path()).unwrap();
    for host in [&dead, &silent] {
        let (json, took, stderr) = report(store.path(), &dockerfile, &[("DOCKER_HOST", host)]);
        assert_eq!(size_at(&json, LINE_DD), None, "{json:#}");
        assert!(took < Duration::from_secs(5), "report took {took:?} with DOCKER_HOST={host}");
        assert_eq!(stderr.lines().count(), 1, "one line about the engine: {stderr}");
    }
}

//! "Why was this rebuilt", end to end against the private dockerd (BuildKit v0.8) that `scripts/test.sh`
//! starts: an OpenWrt-style toolchain Dockerfile scaled down (`fixtures/daemon/explain`, a one-second
//! `sleep` stands for the compile) is recorded, then rebuilt after a file under `COPY . .` changed, after a
//! `--build-arg` changed, and after an instruction changed. `buildlens explain --json` must name the root
//! of each rebuild, and the language server's lens and advice must name the COPY line.

mod support;
mod support_lsp;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::{run, unique, BIN, DOCKER};
use support_lsp::{copy_dir, file_uri, TestClient};

/// Lines of `fixtures/daemon/explain/Dockerfile`.
const ARG_RUN: u64 = 6;
const COPY_ALL: u64 = 7;
const TOOLCHAIN: u64 = 8;
const LS: u64 = 9;

fn build(ctx: &Path, tag: &str, release: &str) {
    let arg = format!("RELEASE={release}");
    let cmd = [DOCKER, "build", "--network=none", "--progress=plain", "--build-arg", &arg, "-t", tag, "."];
    let r = record_in(ctx, &cmd);
    assert!(r, "the build failed; see the record in {}", ctx.display());
}

/// `buildlens record --store <ctx>/.buildlens -- cmd` in `ctx`; true when the build succeeded.
fn record_in(ctx: &Path, cmd: &[&str]) -> bool {
    let mut c = std::process::Command::new(BIN);
    c.current_dir(ctx).env("DOCKER_BUILDKIT", "1").arg("record").arg("--store").arg(ctx.join(".buildlens")).arg("--").args(cmd);
    let out = run(&mut c, support::BUILD_DEADLINE);
    out.status.success()
}

fn explain(ctx: &Path) -> Value {
    let mut c = std::process::Command::new(BIN);
    c.current_dir(ctx).args(["explain", "Dockerfile", "--json", "--store", ".buildlens", "--expensive-seconds", "1"]);
    let out = run(&mut c, Duration::from_secs(60));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("explain --json printed no JSON ({e}): {}", support::text(&out.stderr)))
}

fn step(e: &Value, line: u64) -> &Value {
    e["steps"].as_array().unwrap().iter().find(|s| s["line"] == line).unwrap_or_else(|| panic!("line {line} did not execute: {e:#}"))
}

fn cause(e: &Value, line: u64) -> (String, u64, String) {
    let c = &step(e, line)["cause"];
    (c["kind"].as_str().unwrap().to_string(), c["root_line"].as_u64().unwrap(), c["detail"].as_str().unwrap().to_string())
}

fn touch_source(ctx: &Path) {
    let file = ctx.join("src/pkg.c");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}/* {} */\n", unique("edit"))).unwrap();
}

#[tokio::test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
async fn explain_names_the_root_of_each_rebuild_and_the_lens_names_the_copy() {
    support::require_docker();
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ws");
    copy_dir(&support::repo_root().join("fixtures/daemon/explain"), &ctx);
    std::fs::create_dir_all(ctx.join(".git")).unwrap();
    // A fresh nonce: no earlier run's cache serves the first build.
    std::fs::write(ctx.join("feeds.conf"), format!("src-git packages {}\n", unique("feeds"))).unwrap();
    let tag = unique("buildlens-explain");

    build(&ctx, &tag, "1");
    let e = explain(&ctx);
    assert_eq!(cause(&e, TOOLCHAIN).0, "no-earlier-build", "{e:#}");
    let record = buildlens::store::Store::at(ctx.join(".buildlens")).records().pop().unwrap();
    let inputs = record.inputs().expect("record kept inputs.json");
    let files: Vec<&str> = inputs.manifest.as_ref().unwrap().files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, vec![".dockerignore", "feeds.conf", "src/pkg.c"], "the store and the Dockerfile are left out by .dockerignore");
    assert!(inputs.dockerfile.as_deref().is_some_and(|d| d.contains("RUN ls /w/src")), "the Dockerfile as built");

    // A file `COPY . .` takes changed: the COPY is the root, the toolchain is rebuilt because of it.
    touch_source(&ctx);
    build(&ctx, &tag, "1");
    let e = explain(&ctx);
    let (kind, root, detail) = cause(&e, COPY_ALL);
    assert_eq!((kind.as_str(), root), ("inputs-changed", COPY_ALL), "{e:#}");
    assert!(detail.contains("src/pkg.c"), "{detail}");
    let (kind, root, detail) = cause(&e, TOOLCHAIN);
    assert_eq!((kind.as_str(), root), ("parent-rebuilt", COPY_ALL), "{e:#}");
    assert!(detail.starts_with("line 7 (COPY . .) was not cached: its inputs changed (src/pkg.c)"), "{detail}");
    assert_eq!(step(&e, TOOLCHAIN)["status"], "executed");
    assert!(
        e["steps"].as_array().unwrap().iter().all(|s| s["line"].as_u64().unwrap() >= COPY_ALL),
        "steps before the COPY came from the cache: {e:#}"
    );

    // Once more: now the record proves the advice (2 of 2 builds), and the editor shows it.
    touch_source(&ctx);
    build(&ctx, &tag, "1");
    let e = explain(&ctx);
    let advice = &e["advice"][0];
    assert_eq!(
        (advice["line"].as_u64(), advice["expensive_line"].as_u64(), advice["builds"].as_u64()),
        (Some(COPY_ALL), Some(TOOLCHAIN), Some(2)),
        "{e:#}"
    );
    assert!(advice["cost_ms"].as_u64().unwrap() >= 2000, "two toolchain runs of at least 1s: {advice}");
    lsp_names_the_copy(&ctx).await;

    // A build arg the stage declares changed: the first RUN that sees it is the root.
    build(&ctx, &tag, "2");
    let e = explain(&ctx);
    let (kind, root, detail) = cause(&e, ARG_RUN);
    assert_eq!((kind.as_str(), root, detail.as_str()), ("build-arg-changed", ARG_RUN, "build arg RELEASE changed (1 → 2)"), "{e:#}");
    assert_eq!(cause(&e, TOOLCHAIN).1, ARG_RUN);

    // An instruction changed.
    let df = std::fs::read_to_string(ctx.join("Dockerfile")).unwrap();
    std::fs::write(ctx.join("Dockerfile"), df.replace("RUN ls /w/src", "RUN ls -l /w/src")).unwrap();
    build(&ctx, &tag, "2");
    let e = explain(&ctx);
    assert_eq!(cause(&e, LS).0, "instruction-changed", "{e:#}");
    assert!(e["steps"].as_array().unwrap().iter().all(|s| s["line"] != TOOLCHAIN), "the toolchain came from the cache: {e:#}");
    let _ = run(std::process::Command::new(DOCKER).args(["rmi", "-f", &tag]), Duration::from_secs(60));
}

/// The lens of the toolchain step names the COPY line; the advice is an information diagnostic on it.
async fn lsp_names_the_copy(ctx: &Path) {
    let mut c = TestClient::start();
    let options = json!({"storePath": ctx.join(".buildlens"), "explain": {"expensiveSeconds": 1}});
    c.initialize(json!({}), options, ctx).await;
    let path = ctx.join("Dockerfile");
    let uri = file_uri(&path);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&path).unwrap()).await;
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let titles: Vec<(u64, String)> = lenses
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["range"]["start"]["line"].as_u64().unwrap() + 1, l["command"]["title"].as_str().unwrap_or("").to_string()))
        .collect();
    let toolchain = titles.iter().find(|(l, _)| *l == TOOLCHAIN).map(|(_, t)| t.as_str()).unwrap_or("");
    assert!(
        toolchain.ends_with("rebuilt: line 7 COPY changed inputs") || toolchain.contains("· rebuilt: line 7 COPY changed inputs"),
        "{titles:?}"
    );
    let diags = c.diagnostics(&uri, 1).await;
    let info: Vec<&Value> = diags.iter().filter(|d| d["severity"] == 3).collect();
    assert_eq!(info.len(), 1, "{diags:#?}");
    assert_eq!(info[0]["range"]["start"]["line"], COPY_ALL - 1);
    assert!(info[0]["message"].as_str().unwrap().contains("line 8 (RUN echo \"compiling the toolchain\""), "{info:?}");
    let hover =
        c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": TOOLCHAIN - 1, "character": 1}})).await;
    let md = hover["contents"]["value"].as_str().unwrap_or("");
    assert!(md.contains("**Why it ran**") && md.contains("\nline 7 COPY . .\nline 8 RUN echo"), "{md}");
}

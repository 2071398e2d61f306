//! The bundled example (fixtures/example: an OpenWrt-style toolchain Dockerfile and three builds recorded
//! against a real daemon by scripts/make-example.sh) is what the README's first command reports on. The
//! test runs `buildlens report` on a copy in another folder, so the store's relative paths are exercised.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support_lsp::copy_dir;

mod support_lsp;

fn report(dir: &Path, json: bool) -> (String, i32) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildlens"));
    cmd.arg("report").arg(dir.join("Dockerfile")).env_remove("BUILDLENS_STORE");
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (String::from_utf8(out.stdout).unwrap(), out.status.code().unwrap_or(-1))
}

fn instruction(report: &Value, line: u64) -> &Value {
    report["instructions"].as_array().unwrap().iter().find(|i| i["line"] == line).unwrap_or_else(|| panic!("no instruction at line {line}"))
}

#[test]
fn the_example_report_shows_the_rebuilt_toolchain_and_the_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let example = tmp.path().join("example");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &example);
    let (json, code) = report(&example, true);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(r["builds"], 3);
    assert_eq!(r["problems"], Value::Array(vec![]), "every step of the three builds maps");

    let toolchain = instruction(&r, 9);
    assert_eq!((toolchain["end_line"].as_u64(), toolchain["keyword"].as_str()), (Some(13), Some("RUN")));
    let runs = toolchain["history"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|h| h["status"] == "executed" && h["duration_ms"].as_u64().unwrap() >= 8000), "rebuilt every time: {runs:#?}");

    let package = instruction(&r, 16);
    assert_eq!((package["last"]["status"].as_str(), package["last"]["exit_code"].as_i64()), (Some("error"), Some(2)));
    let excerpt: Vec<&str> = package["last"]["excerpt"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(excerpt.contains(&"make[3]: *** [Makefile:1234: all] Error 2"), "{excerpt:?}");
    // The headline is the compiler's error, not the make echo after it; its offset is its line in the log.
    let cause = &package["last"]["cause"];
    assert_eq!(cause["text"], HELLO_C_ERROR, "{cause}");
    let log = std::fs::read(example.join(".buildlens/builds").join(package["last"]["build"].as_str().unwrap()).join("build.log")).unwrap();
    let at = cause["offset"].as_u64().unwrap() as usize;
    let line = String::from_utf8_lossy(&log[at..]).lines().next().unwrap_or_default().to_string();
    assert_eq!(line, format!("#12 0.344 {HELLO_C_ERROR}"));

    let workdir = instruction(&r, 5);
    assert_eq!((workdir["last"]["status"].as_str(), workdir["last"]["cached"].as_bool()), (Some("cached"), Some(true)));
    assert_eq!(instruction(&r, 2)["last"], Value::Null, "an ARG before FROM produces no step");

    let (text, _) = report(&example, false);
    assert!(text.contains(&format!("FAILED (exit 2): {HELLO_C_ERROR} (build #3)")), "{text}");
    assert!(text.contains("   9 | RUN for part in binutils"), "{text}");
}

/// What the example's failing package step printed first: the cause its headline shows.
const HELLO_C_ERROR: &str = "hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'";

/// `buildlens explain` names the cause of the toolchain rebuild in one line: the COPY and the file.
#[test]
fn explain_names_the_cause_of_the_toolchain_rebuild_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let example = tmp.path().join("example");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &example);
    let out = Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .arg("explain")
        .arg(example.join("Dockerfile"))
        .env_remove("BUILDLENS_STORE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let toolchain: Vec<&str> = text.lines().filter(|l| l.starts_with("line 9 ")).collect();
    assert_eq!(toolchain.len(), 1, "{text}");
    assert!(toolchain[0].contains("RUN for part in binutils"), "{text}");
    assert!(
        toolchain[0].ends_with("rebuilt because line 8 (COPY . .) was not cached: its inputs changed (package/hello/build.sh)"),
        "{text}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .arg("explain")
        .arg(example.join("Dockerfile"))
        .args(["--json", "--expensive-seconds", "5"])
        .output()
        .unwrap();
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = e["steps"].as_array().unwrap().iter().find(|s| s["line"] == 9).unwrap();
    assert_eq!(step["status"], "executed");
    assert_eq!(
        step["cause"],
        serde_json::json!({"kind": "parent-rebuilt", "root_line": 8, "detail": "line 8 (COPY . .) was not cached: its inputs changed (package/hello/build.sh)"})
    );
    assert_eq!((e["advice"][0]["line"].as_u64(), e["advice"][0]["builds"].as_u64()), (Some(8), Some(2)), "{e:#}");
}

/// A relative `--store` is taken from the folder the command was typed in, not from the Dockerfile's.
#[test]
fn a_relative_store_is_taken_from_the_current_folder() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &tmp.path().join("example"));
    for command in ["report", "explain"] {
        let out = Command::new(env!("CARGO_BIN_EXE_buildlens"))
            .args([command, "example/Dockerfile", "--store", "example/.buildlens", "--json"])
            .current_dir(tmp.path())
            .env_remove("BUILDLENS_STORE")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{command}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        let r: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{command}: {e}: {stdout}"));
        let found = if command == "report" { r["builds"] == 3 } else { r["from"].is_string() };
        assert!(found, "{command} read the store: {stdout}");
    }
}

/// Output into a closed pipe (`buildlens report | head -1`) ends the command quietly with the status of a
/// SIGPIPE, not with an error message or a panic.
#[test]
fn a_closed_reader_ends_output_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &tmp.path().join("example"));
    let log = ".buildlens/builds/20261124T083104.046Z-b5b3/build.log";
    let commands = [
        vec!["report"],
        vec!["report", "--json"],
        vec!["explain"],
        vec!["explain", "--json"],
        vec!["builds"],
        vec!["builds", "--json"],
        vec!["parse", log],
        vec!["parse", "--json", log],
    ];
    for args in commands {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(theirs);
        let out = Command::new(env!("CARGO_BIN_EXE_buildlens"))
            .args(&args)
            .current_dir(tmp.path().join("example"))
            .env_remove("BUILDLENS_STORE")
            .stdout(std::process::Stdio::from(std::os::fd::OwnedFd::from(ours)))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

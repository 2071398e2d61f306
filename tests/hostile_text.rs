//! Text from a log or a store that would act on a terminal or an editor (issue 19, 10): control
//! characters (ESC, OSC 8 hyperlinks, BEL, NUL, C1), bidi overrides and isolates, zero-width characters
//! and VS Code's `$(icon)` syntax, through every surface: lens titles, hover, diagnostics of the
//! Dockerfile and of an open log, and the CLI's `parse`, `report`, `builds` (text and `--json`) and
//! `explain`. Each is shown visibly (`<U+202E>`), icons escaped (`\$(`), JSON keeps the exact string.

mod support_lsp;

use std::process::Command;
use std::time::Duration;

use buildlens::present::hidden;
use serde_json::{json, Value};
use support_lsp::{file_uri, TestClient, Workspace, FAILING};

/// Every class in one line (it stays one line: no line break in it).
const HOSTILE: &str = "\u{1b}]8;;https://evil.example/\u{7}click\u{1b}]8;;\u{7} \u{202e}txt.exe\u{202c} \u{2066}iso\u{2069} a\u{200b}b\u{200d}c\u{feff}d\u{2060} $(zap) nul\0 c1\u{9b}31m del\u{7f}";

/// No hidden character left, and no icon syntax that is not escaped.
fn assert_clean(surface: &str, text: &str) {
    assert!(!text.chars().any(hidden), "{surface}: a hidden character in {text:?}");
    let unescaped_icon = text.match_indices("$(").any(|(i, _)| !text[..i].ends_with('\\'));
    assert!(!unescaped_icon, "{surface}: icon syntax in {text:?}");
}

/// The captured failing build with `HOSTILE` in the failed step's error line (its cause).
fn hostile_workspace() -> Workspace {
    let ws = Workspace::with_record(FAILING);
    let log = std::fs::read_to_string(&ws.log).unwrap();
    let line = "#9 0.042 error: something went wrong in step 3";
    assert!(log.contains(line));
    std::fs::write(&ws.log, log.replace(line, &format!("#9 0.042 error: {HOSTILE}"))).unwrap();
    let meta = ws.log.with_file_name("meta.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    m["command"] = json!(["docker", "build", format!("--label=x{HOSTILE}"), "."]);
    std::fs::write(&meta, m.to_string()).unwrap();
    ws
}

#[tokio::test]
async fn hostile_text_is_shown_visibly_in_lenses_hover_and_diagnostics() {
    let ws = hostile_workspace();
    let mut c = TestClient::start();
    c.initialize(json!({}), ws.options(), &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;

    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let titles: Vec<String> = lenses.as_array().unwrap().iter().filter_map(|l| l["command"]["title"].as_str().map(String::from)).collect();
    let failed = titles.iter().find(|t| t.starts_with("✗ failed")).unwrap_or_else(|| panic!("{titles:?}"));
    assert!(failed.contains("<U+202E>txt.exe") && failed.contains("\\$(zap)"), "{failed}");
    for t in &titles {
        assert_clean("lens title", t);
    }

    let diagnostics = c.diagnostics(&uri, 1).await;
    let messages: Vec<&str> = diagnostics.iter().filter_map(|d| d["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("<U+202E>")), "{messages:?}");
    for m in &messages {
        assert_clean("Dockerfile diagnostic", m);
    }

    let line = failed_line(&lenses);
    let hover = c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 2}})).await;
    let md = hover["contents"]["value"].as_str().unwrap_or_else(|| panic!("{hover}"));
    assert!(md.contains("<U+202E>"), "{md}");
    assert!(!md.chars().any(hidden), "hover: {md:?}");

    // The log opened in the editor: its error lines become diagnostics.
    let log_uri = file_uri(&ws.log);
    let text = std::fs::read_to_string(&ws.log).unwrap() + &format!("ERROR: {HOSTILE}\n");
    c.open(&log_uri, "log", &text).await;
    let diagnostics = c.diagnostics(&log_uri, 1).await;
    let messages: Vec<&str> = diagnostics.iter().filter_map(|d| d["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("<U+202E>txt.exe")), "{messages:?}");
    for m in &messages {
        assert_clean("log diagnostic", m);
    }
}

/// The 0-based line of the failed step's lens.
fn failed_line(lenses: &Value) -> u64 {
    let failed = lenses.as_array().unwrap().iter().find(|l| l["command"]["title"].as_str().is_some_and(|t| t.starts_with("✗"))).unwrap();
    failed["range"]["start"]["line"].as_u64().unwrap()
}

/// Runs the CLI, bounded: its standard output.
fn cli(ws: &Workspace, args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .args(args)
        .current_dir(ws.root())
        .env_remove("BUILDLENS_STORE")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        let _ = tx.send(s);
    });
    let text = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("buildlens {args:?} did not finish within 60 s")
    });
    let _ = child.wait();
    text
}

#[test]
fn hostile_text_never_reaches_the_terminal_raw() {
    let ws = hostile_workspace();
    let dockerfile = ws.dockerfile.to_str().unwrap();
    let store = ws.store.to_str().unwrap();
    // A log whose step name and error say it all (`parse` prints names and errors, not excerpts).
    let named = ws.root().join("named.log");
    std::fs::write(&named, format!("#5 [2/2] RUN echo {HOSTILE}\n#5 0.1 {HOSTILE}\n#5 ERROR: process did not complete: {HOSTILE}\n"))
        .unwrap();
    let log = named.to_str().unwrap();
    for args in [
        vec!["parse", log],
        vec!["report", dockerfile, "--store", store],
        vec!["builds", "--store", store],
        vec!["explain", dockerfile, "--store", store],
    ] {
        let out = cli(&ws, &args);
        assert!(!out.chars().any(hidden), "{args:?}: a hidden character in {out:?}");
        if args[0] != "explain" {
            assert!(out.contains("<U+202E>"), "{args:?}: the text is shown: {out}");
        }
    }
    // JSON: the exact strings, with the characters escaped.
    for args in
        [vec!["parse", "--json", log], vec!["builds", "--json", "--store", store], vec!["report", "--json", dockerfile, "--store", store]]
    {
        let out = cli(&ws, &args);
        assert!(!out.chars().any(hidden), "{args:?}: a hidden character in the JSON");
        let value: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(value.to_string().contains('\u{202e}'), "{args:?}: the JSON keeps the exact text");
    }
}

/// A record folder's name as a hostile store could hold it: a terminal escape, a bidi override, a tab and
/// a line break that would print a line of its own.
const FOLDER_TAIL: &str = "-\u{1b}[31mred\u{202e}gpj.exe\tTAB\nFORGED LINE";

/// The captured failing build in a record folder named with `FOLDER_TAIL`, with an `image.json` that is
/// a folder (a problem line on stderr that names the record folder).
fn hostile_folder() -> Workspace {
    let ws = Workspace::with_record(FAILING);
    let record = ws.log.parent().unwrap().to_path_buf();
    let renamed = record.with_file_name(format!("{}{FOLDER_TAIL}", record.file_name().unwrap().to_str().unwrap()));
    std::fs::rename(&record, &renamed).unwrap();
    std::fs::create_dir(renamed.join("image.json")).unwrap();
    Workspace { log: renamed.join("build.log"), ..ws }
}

/// Runs the CLI, bounded: its standard output and standard error.
fn cli_both(ws: &Workspace, args: &[&str]) -> (String, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .args(args)
        .current_dir(ws.root())
        .env_remove("BUILDLENS_STORE")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
        // SAFETY: kill only signals the child this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        panic!("buildlens {args:?} did not finish within 60 s")
    });
    let out = out.unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn hostile_record_folder_names_are_shown_escaped_on_stdout_and_stderr() {
    let ws = hostile_folder();
    let dockerfile = ws.dockerfile.to_str().unwrap();
    let store = ws.store.to_str().unwrap();
    let mut shown = 0;
    for args in
        [vec!["builds", "--store", store], vec!["report", dockerfile, "--store", store], vec!["explain", dockerfile, "--store", store]]
    {
        let (out, err) = cli_both(&ws, &args);
        for (stream, text) in [("stdout", &out), ("stderr", &err)] {
            assert!(!text.chars().any(hidden), "{args:?} {stream}: a hidden character in {text:?}");
            assert!(!text.lines().any(|l| l.starts_with("FORGED")), "{args:?} {stream}: the name's line break printed raw: {text}");
            assert!(!text.contains('\t'), "{args:?} {stream}: a raw tab: {text:?}");
            if text.contains("FORGED") {
                assert!(text.contains("<U+001B>[31mred<U+202E>gpj.exe<U+0009>TAB<U+000A>FORGED LINE"), "{args:?} {stream}: {text}");
                shown += 1;
            }
        }
    }
    // The name is shown on stdout by builds, report and explain, and in the problem line on stderr.
    assert!(shown >= 4, "the folder name was shown {shown} times");
}

#[tokio::test]
async fn hostile_record_folder_names_are_shown_escaped_by_the_server() {
    let ws = hostile_folder();
    let mut client = TestClient::start();
    client.initialize(json!({}), ws.options(), &ws.root()).await;
    let uri = file_uri(&ws.dockerfile);
    client.open(&uri, "dockerfile", &std::fs::read_to_string(&ws.dockerfile).unwrap()).await;
    let diagnostics = client.diagnostics(&uri, 1).await;
    let related: Vec<&str> = diagnostics
        .iter()
        .flat_map(|d| d["relatedInformation"].as_array().into_iter().flatten())
        .filter_map(|r| r["message"].as_str())
        .collect();
    assert!(related.iter().any(|m| m.contains("<U+000A>FORGED LINE")), "{diagnostics:?}");
    for text in related.iter().copied().chain(diagnostics.iter().filter_map(|d| d["message"].as_str())) {
        assert_clean("diagnostics", text);
        assert!(!text.contains('\n'), "a line break in {text:?}");
    }
    let lenses = client.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let position = json!({"line": failed_line(&lenses), "character": 0});
    let hover = client.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": position})).await;
    assert_clean("hover", &hover.to_string());
}

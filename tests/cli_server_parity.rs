//! The language server and `buildlens report` say the same thing about every instruction: for the bundled
//! example and every corpus build that has its Dockerfile (`../shared/corpus/captured/*`, and the logs of
//! `../shared/corpus/real/` with their Dockerfiles beside them, copied into a temporary workspace only),
//! the last-run lens or hint of each line and the `^` line `report` prints under that instruction agree
//! on the status (executed, cached, failed, canceled, running), the time, the exit code and the failure's
//! headline; a line one of them annotates, the other annotates too.

mod support_lsp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use buildlens::store::{RecordMeta, Source, Store};
use serde_json::{json, Value};
use support_lsp::{copy_dir, file_uri, TestClient};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// A workspace to compare: its Dockerfiles (the store is `<root>/.buildlens`).
struct Case {
    name: String,
    _dir: tempfile::TempDir,
    root: PathBuf,
    dockerfiles: Vec<PathBuf>,
}

fn empty_case() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    (dir, root)
}

/// One record of `log` (started at `started`), naming `dockerfile` when given.
fn add_record(root: &Path, log: &Path, dockerfile: Option<&Path>, started: &str) {
    let store = Store::at(root.join(".buildlens"));
    let record = store.create_record(started.parse().unwrap()).unwrap();
    std::fs::copy(log, record.log_path()).unwrap();
    let mut meta = RecordMeta::new(record.id.clone(), Source::Import, started.into());
    meta.dockerfile = dockerfile.map(Path::to_path_buf);
    meta.cwd = Some(root.to_path_buf());
    record.write_meta(&meta).unwrap();
}

fn example() -> Case {
    let (dir, root) = empty_case();
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), &root);
    Case { name: "example".into(), _dir: dir, dockerfiles: vec![root.join("Dockerfile")], root }
}

/// Every captured build with its Dockerfile: one record naming it.
fn captured() -> Vec<Case> {
    let dir = Path::new(SHARED).join("captured");
    let mut out = Vec::new();
    for dockerfile in files(&dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "Dockerfile")) {
        let stem = dockerfile.file_stem().unwrap().to_string_lossy().to_string();
        let Some(log) = ["log", "jsonl"].iter().map(|e| dir.join(format!("{stem}.{e}"))).find(|p| p.is_file()) else { continue };
        let (tmp, root) = empty_case();
        let df = root.join("Dockerfile");
        std::fs::copy(&dockerfile, &df).unwrap();
        add_record(&root, &log, Some(&df), "2026-11-01T10:00:00Z");
        out.push(Case { name: format!("captured/{stem}"), _dir: tmp, root, dockerfiles: vec![df] });
    }
    out
}

/// Every real log with Dockerfiles beside it, laid out as in the project it came from: `<log>.Dockerfile`
/// at the root, `<log>.<name>.Dockerfile` at `<name>/Dockerfile` (or where the compose file beside it,
/// `<log>.docker-compose.yml`, builds `…/<name>/Dockerfile`). The record names the Dockerfile when there
/// is one, else the builds decide (the names they loaded, their text, the compose file).
fn real() -> Vec<Case> {
    let dir = Path::new(SHARED).join("real");
    let all = files(&dir);
    let mut out = Vec::new();
    for log in all.iter().filter(|p| p.extension().is_some_and(|e| e == "log")) {
        let name = log.file_name().unwrap().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".log");
        let beside: Vec<(&PathBuf, String)> = all
            .iter()
            .filter_map(|p| {
                let file = p.file_name()?.to_str()?;
                let rest = file.strip_prefix(stem)?.strip_prefix('.')?;
                (rest != "log" && !rest.ends_with("source.txt")).then(|| (p, rest.to_string()))
            })
            .collect();
        if !beside.iter().any(|(_, n)| n.ends_with("Dockerfile")) {
            continue;
        }
        let compose =
            beside.iter().find(|(_, n)| n.ends_with(".yml") || n.ends_with(".yaml")).map(|(p, _)| std::fs::read_to_string(p).unwrap());
        let (tmp, root) = empty_case();
        let mut copies = Vec::new();
        for (from, to) in &beside {
            let place = match to.strip_suffix(".Dockerfile") {
                None if to == "Dockerfile" => root.join(to),
                None => root.join(to),
                Some(folder) => {
                    let wanted = format!("{folder}/Dockerfile");
                    let named = compose.as_deref().and_then(|c| {
                        c.lines()
                            .filter_map(|l| l.trim().strip_prefix("dockerfile:"))
                            .map(str::trim)
                            .find(|p| p.ends_with(&wanted) || *p == wanted)
                    });
                    root.join(named.unwrap_or(&wanted))
                }
            };
            std::fs::create_dir_all(place.parent().unwrap()).unwrap();
            std::fs::copy(from, &place).unwrap();
            if to.ends_with("Dockerfile") {
                copies.push(place);
            }
        }
        let named = (copies.len() == 1).then(|| copies[0].as_path());
        add_record(&root, log, named, "2026-11-01T10:00:00Z");
        out.push(Case { name: format!("real/{stem}"), _dir: tmp, root, dockerfiles: copies });
    }
    out
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    out.sort();
    out
}

/// What one side says about an instruction's last run.
#[derive(Debug, Clone, PartialEq)]
enum Said {
    Cached,
    /// The time as printed (`8.1s`, `amd64 2m10s · arm64 19m32s`), when there is one.
    Executed(Option<String>),
    /// The time or platforms, `(exit n)`, and the headline (cut the same way or not: compared by prefix).
    Failed {
        time: Option<String>,
        exit: Option<String>,
        headline: Option<String>,
    },
    Canceled,
    Running,
    /// The server's will-rebuild lens in place of the last run (the buffer differs from the build): the
    /// last run's time when it names one.
    WillRebuild(Option<String>),
}

/// `report`'s `^` lines, by the instruction's first line (1-based).
fn report_says(case: &Case, dockerfile: &Path) -> BTreeMap<u32, Said> {
    report_says_and_notes(case, dockerfile).0
}

/// The timeline note at the end of a `^` line (`◆ critical path: 8.2s of 11.5s`, `ran in parallel, 2.0s
/// of slack`), or of a hover's line.
fn note_in(line: &str) -> Option<String> {
    // The last one: a failure's headline (log text) comes before it.
    let at = line.rfind("◆ critical path: ").max(line.rfind("ran in parallel, "))?;
    Some(line[at..].trim_end().to_string())
}

/// `report`'s `^` lines and their timeline notes, by the instruction's first line (1-based).
fn report_says_and_notes(case: &Case, dockerfile: &Path) -> (BTreeMap<u32, Said>, BTreeMap<u32, String>) {
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildlens"));
        cmd.arg("report").arg(dockerfile).arg("--store").arg(case.root.join(".buildlens")).current_dir(&case.root);
        cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}: report failed: {}", case.name, String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let parsed: Value = serde_json::from_str(&run(true)).unwrap();
    let starts: BTreeMap<u32, u32> = parsed["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["end_line"].as_u64().unwrap() as u32, v["line"].as_u64().unwrap() as u32))
        .collect();
    let (mut out, mut notes) = (BTreeMap::new(), BTreeMap::new());
    let mut current = None;
    for line in run(false).lines() {
        if let Some((n, _)) = line.split_once(" | ").filter(|(n, _)| n.trim().parse::<u32>().is_ok()) {
            current = n.trim().parse::<u32>().ok();
            continue;
        }
        let Some(summary) = line.strip_prefix("     ^ ").filter(|l| !l.starts_with("warning (")) else { continue };
        let Some(end) = current else { continue };
        if let Some(note) = note_in(summary) {
            notes.insert(starts[&end], note);
        }
        let summary = summary.split(" (build ").next().unwrap();
        out.insert(starts[&end], report_said(summary));
    }
    (out, notes)
}

fn report_said(summary: &str) -> Said {
    if summary == "cached" {
        return Said::Cached;
    }
    if summary == "canceled" {
        return Said::Canceled;
    }
    if summary.starts_with("running") {
        return Said::Running;
    }
    if let Some(t) = summary.strip_prefix("executed in ") {
        return Said::Executed(Some(t.to_string()).filter(|t| t != "?"));
    }
    if let Some(p) = summary.strip_prefix("executed: ") {
        return Said::Executed(Some(p.to_string()));
    }
    let rest = summary.strip_prefix("FAILED").unwrap_or_else(|| panic!("unknown summary {summary:?}"));
    let (mut time, mut rest) = (None, rest);
    if let Some(after) = rest.strip_prefix(" after ") {
        let end = after.find([' ', ':']).unwrap_or(after.len());
        time = Some(after[..end].to_string());
        rest = &after[end..];
    } else if let Some(p) = rest.strip_prefix(" (").filter(|r| !r.starts_with("exit ")) {
        let end = p.find(')').unwrap_or(p.len());
        time = Some(p[..end].to_string());
        rest = p.get(end + 1..).unwrap_or("");
    }
    let (exit, rest) = exit_of(rest);
    Said::Failed { time, exit, headline: rest.strip_prefix(": ").map(String::from) }
}

/// A leading ` (exit n)` and what follows it.
fn exit_of(rest: &str) -> (Option<String>, &str) {
    match rest.strip_prefix(" (exit ").and_then(|r| r.split_once(')')) {
        Some((code, after)) => (Some(code.to_string()), after),
        None => (None, rest),
    }
}

/// A trailing ` · 12 MB` (a layer size) or ` · 2h ago` removed.
fn without_tail(text: &str) -> &str {
    let mut text = text;
    loop {
        let Some((head, last)) = text.rsplit_once(" · ") else { return text };
        let size = last.split_once(' ').is_some_and(|(n, u)| n.parse::<f64>().is_ok() && u.ends_with('B'));
        if size || last.ends_with(" ago") || last == "just now" {
            text = head;
        } else {
            return text;
        }
    }
}

/// The server's last-run lens (or hint) titles, by 1-based line.
fn server_said(text: &str) -> Said {
    if text == "✓ cached" {
        return Said::Cached;
    }
    if text.starts_with("⊘ canceled") {
        return Said::Canceled;
    }
    if text.starts_with("⏵ running") {
        return Said::Running;
    }
    if let Some(rest) = text.strip_prefix("✗ failed") {
        let (mut time, mut rest) = (None, rest);
        if let Some(after) = rest.strip_prefix(" after ").or_else(|| rest.strip_prefix(' ').filter(|r| !r.starts_with('('))) {
            let end = after.find([' ', ':']).unwrap_or(after.len());
            time = Some(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(p) = rest.strip_prefix(" · ") {
            let end = p.find(" (exit ").or_else(|| p.find(": ")).unwrap_or(p.len());
            time = Some(p[..end].to_string());
            rest = &p[end..];
        }
        let (exit, rest) = exit_of(rest);
        return Said::Failed { time, exit, headline: rest.strip_prefix(": ").map(String::from) };
    }
    // A lens: `⏱ <time> · executed|rebuilt… [· size] [· ago]`; a hint: `<time>[ · size]` or `executed[ · size]`.
    if let Some(rest) = text.strip_prefix("⏱ ") {
        let end = rest.find(" · executed").or_else(|| rest.find(" · rebuilt")).unwrap_or(rest.len());
        return Said::Executed(Some(rest[..end].to_string()).filter(|t| t != "?"));
    }
    let time = without_tail(text);
    Said::Executed((time != "executed").then(|| time.to_string()))
}

/// The two sides agree: the same status and time and exit code; headlines where both have one, one the
/// prefix of the other (each may cut a long line at its own width).
fn agree(report: &Said, server: &Said) -> bool {
    match (report, server) {
        (Said::Failed { time: t1, exit: e1, headline: h1 }, Said::Failed { time: t2, exit: e2, headline: h2 }) => {
            let cut = |h: &str| h.trim_end_matches('…').trim_end().to_string();
            let same_headline = match (h1, h2) {
                (Some(a), Some(b)) => {
                    let (a, b) = (cut(a), cut(b));
                    a.starts_with(&b) || b.starts_with(&a)
                }
                // A hint does not carry the headline; the server never shows one report has not.
                (None, Some(_)) => false,
                (_, None) => true,
            };
            t1 == t2 && e1 == e2 && same_headline
        }
        (Said::Executed(Some(t)) | Said::Failed { time: Some(t), .. }, Said::WillRebuild(Some(last))) => t == last,
        (_, Said::WillRebuild(last)) => last.is_none(),
        (a, b) => a == b,
    }
}

async fn server_says(case: &Case, dockerfile: &Path) -> BTreeMap<u32, Said> {
    server_says_and_notes(case, dockerfile, &[]).await.0
}

/// The server's lens and hint titles, and the timeline notes of its hovers at `hover_lines` (1-based).
async fn server_says_and_notes(case: &Case, dockerfile: &Path, hover_lines: &[u32]) -> (BTreeMap<u32, Said>, BTreeMap<u32, String>) {
    let mut c = TestClient::start();
    c.initialize(json!({}), json!({"storePath": case.root.join(".buildlens"), "lenses": "all"}), &case.root).await;
    let uri = file_uri(dockerfile);
    c.open(&uri, "dockerfile", &std::fs::read_to_string(dockerfile).unwrap()).await;
    let lenses = c.result("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let all = json!({"start": {"line": 0, "character": 0}, "end": {"line": u32::MAX, "character": 0}});
    let hints = c.result("textDocument/inlayHint", json!({"textDocument": {"uri": uri}, "range": all})).await;
    let mut out = BTreeMap::new();
    for lens in lenses.as_array().unwrap() {
        if lens["command"]["command"] == "buildlens.openLog" && !lens["command"]["title"].as_str().unwrap().starts_with('↻') {
            let line = lens["range"]["start"]["line"].as_u64().unwrap() as u32 + 1;
            out.insert(line, server_said(lens["command"]["title"].as_str().unwrap()));
        }
    }
    for lens in lenses.as_array().unwrap() {
        let title = lens["command"]["title"].as_str().unwrap_or("");
        if let Some(what) = title.strip_prefix("↻ ").filter(|w| !w.starts_with("changed since build")) {
            let line = lens["range"]["start"]["line"].as_u64().unwrap() as u32 + 1;
            let last = what.strip_prefix("will rebuild · last ").map(String::from);
            out.entry(line).or_insert(Said::WillRebuild(last));
        }
    }
    for hint in hints.as_array().unwrap() {
        let line = hint["position"]["line"].as_u64().unwrap() as u32 + 1;
        let label = hint["label"][0]["value"].as_str().unwrap();
        out.entry(line).or_insert_with(|| server_said(label));
    }
    let mut notes = BTreeMap::new();
    for &line in hover_lines {
        let hover =
            c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": line - 1, "character": 1}})).await;
        let md = hover["contents"]["value"].as_str().unwrap_or("");
        if let Some(note) = md.lines().rev().find_map(note_in) {
            notes.insert(line, note);
        }
    }
    (out, notes)
}

#[tokio::test]
async fn the_server_and_report_say_the_same_on_every_instruction() {
    let mut cases = vec![example()];
    cases.extend(captured());
    cases.extend(real());
    assert!(cases.len() >= 20, "the corpus is where it was: {} cases", cases.len());
    let (mut compared, mut annotated, mut noted) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for case in &cases {
        for dockerfile in &case.dockerfiles {
            let (report, report_notes) = report_says_and_notes(case, dockerfile);
            let instructions: Vec<u32> = report.keys().copied().collect();
            let (server, server_notes) = server_says_and_notes(case, dockerfile, &instructions).await;
            // The hover's timeline note and report's, on every instruction report annotates.
            for line in &instructions {
                let (r, s) = (report_notes.get(line), server_notes.get(line));
                noted += usize::from(r.is_some());
                if r != s {
                    let df = dockerfile.file_name().unwrap().to_string_lossy();
                    disagreements.push(format!("{} {df}:{line}: report's note {r:?}, the hover's {s:?}", case.name));
                }
            }
            let lines: std::collections::BTreeSet<u32> = report.keys().chain(server.keys()).copied().collect();
            for line in lines {
                compared += 1;
                let (r, s) = (report.get(&line), server.get(&line));
                annotated += usize::from(r.is_some());
                let same = match (r, s) {
                    (Some(r), Some(s)) => agree(r, s),
                    // A prediction on a line without a last run (a new line) is no claim about a run.
                    (None, Some(Said::WillRebuild(None))) | (None, None) => true,
                    _ => false,
                };
                if !same {
                    let df = dockerfile.file_name().unwrap().to_string_lossy();
                    disagreements.push(format!("{} {df}:{line}: report {r:?}, server {s:?}", case.name));
                }
            }
        }
    }
    eprintln!("{} cases, {compared} lines compared, {annotated} with a last run in report, {noted} timeline notes", cases.len());
    assert!(annotated >= 100, "the comparison saw the instructions ({annotated} annotated of {compared})");
    assert!(noted >= 10, "the comparison saw timeline notes ({noted})");
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}

#[test]
fn each_side_is_read_as_it_prints() {
    assert_eq!(report_said("executed in 8.1s"), Said::Executed(Some("8.1s".into())));
    assert_eq!(server_said("⏱ 8.1s · executed · 12 MB · 2h ago"), Said::Executed(Some("8.1s".into())));
    assert_eq!(server_said("8.1s · 12 MB"), Said::Executed(Some("8.1s".into())));
    assert_eq!(server_said("⏱ 6.1s · rebuilt: line 8 COPY changed inputs"), Said::Executed(Some("6.1s".into())));
    let failed = Said::Failed { time: Some("0.2s".into()), exit: Some("2".into()), headline: Some("E: no".into()) };
    assert_eq!(report_said("FAILED after 0.2s (exit 2): E: no"), failed);
    assert_eq!(server_said("✗ failed after 0.2s (exit 2): E: no"), failed);
    assert_eq!(server_said("✗ failed 0.2s (exit 2)"), Said::Failed { time: Some("0.2s".into()), exit: Some("2".into()), headline: None });
    assert!(!agree(&report_said("executed in 8.1s"), &server_said("⏱ 8.2s · executed")), "another time");
    assert!(!agree(&report_said("cached"), &server_said("8.1s")), "another status");
    let p = Said::Executed(Some("amd64 2m10s · arm64 19m32s".into()));
    assert_eq!(report_said("executed: amd64 2m10s · arm64 19m32s"), p);
    assert_eq!(server_said("⏱ amd64 2m10s · arm64 19m32s · executed"), p);
}

/// A BuildKit plain log of `RUN echo <word>` then `COPY site /srv` on alpine, loaded from `Dockerfile`.
fn plain_log(word: &str) -> String {
    format!(
        "#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 80B done\n#1 DONE 0.0s\n\n\
         #2 [internal] load metadata for docker.io/library/alpine:3.19\n#2 DONE 0.5s\n\n\
         #3 [1/3] FROM docker.io/library/alpine:3.19\n#3 CACHED\n\n\
         #4 [2/3] RUN echo {word}\n#4 0.120 {word}\n#4 DONE 1.2s\n\n\
         #5 [3/3] COPY site /srv\n#5 DONE 0.3s\n\n\
         #6 exporting to image\n#6 DONE 0.1s\n"
    )
}

/// A record that names no Dockerfile, in a workspace with several files called `Dockerfile`: its build
/// belongs to the one its text matches best (ties: to each tied one), for the server and `report` alike,
/// never to every file of that name.
#[tokio::test]
async fn a_build_that_names_no_dockerfile_goes_to_its_best_text_match_on_both_sides() {
    let (dir, root) = empty_case();
    let files = [
        ("web/Dockerfile", "FROM alpine:3.19\nRUN echo web\nCOPY site /srv\n"),
        // Two of its three lines are the build's: mapped on their own, they would pass.
        ("api/Dockerfile", "FROM alpine:3.19\nRUN echo web\nCOPY api /srv\n"),
        ("Dockerfile", "FROM alpine:3.19\nRUN echo web\nCOPY site /srv\n"),
        ("docs/Dockerfile", "FROM alpine:3.19\nRUN echo docs\nCOPY docs /srv\n"),
    ];
    for (path, text) in files {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    let log = root.join("web.log");
    std::fs::write(&log, plain_log("web")).unwrap();
    add_record(&root, &log, None, "2026-11-01T10:00:00Z");
    let dockerfiles = files.iter().map(|(p, _)| root.join(p)).collect();
    let case = Case { name: "best text match".into(), _dir: dir, root, dockerfiles };
    for (dockerfile, mine) in case.dockerfiles.iter().zip([true, false, true, false]) {
        let report = report_says(&case, dockerfile);
        let server = server_says(&case, dockerfile).await;
        let name = dockerfile.strip_prefix(&case.root).unwrap().display().to_string();
        if mine {
            let expected: BTreeMap<u32, Said> =
                [(1, Said::Cached), (2, Said::Executed(Some("1.2s".into()))), (3, Said::Executed(Some("0.3s".into())))].into();
            assert_eq!(report, expected, "{name}: report gives the build to its best match (a tie: each)");
            assert_eq!(server, expected, "{name}: so does the server");
        } else {
            assert_eq!(report, BTreeMap::new(), "{name}: another text, no build in report");
            assert_eq!(server, BTreeMap::new(), "{name}: nor in the server (the same name is not enough)");
        }
    }
}

/// The classic builder and podman print no Dockerfile name: a podman build of a `Containerfile`, imported
/// without naming it, belongs to the Containerfile on both sides (the server once required the name
/// `Dockerfile` of a build that printed none).
#[tokio::test]
async fn a_podman_build_of_a_containerfile_that_names_no_file_is_its_on_both_sides() {
    let (dir, root) = empty_case();
    std::fs::write(root.join("Containerfile"), "FROM alpine:3.19\nRUN echo podman\n").unwrap();
    let log = root.join("podman.log");
    std::fs::write(&log, "STEP 1/2: FROM alpine:3.19\nSTEP 2/2: RUN echo podman\npodman\nCOMMIT\n--> 3f1e2c9a7b1d\n3f1e2c9a7b1d4e5f\n")
        .unwrap();
    add_record(&root, &log, None, "2026-11-01T10:00:00Z");
    let dockerfiles = vec![root.join("Containerfile")];
    let case = Case { name: "containerfile".into(), _dir: dir, root, dockerfiles };
    let containerfile = case.dockerfiles[0].clone();
    let report = report_says(&case, &containerfile);
    let server = server_says(&case, &containerfile).await;
    assert_eq!(report.len(), 2, "report maps both steps: {report:?}");
    assert_eq!(server, report, "the server says what report says");
}

/// The server's host over the store (`StoreSource`, as the language server runs it) with `dockerfile`
/// open: its snapshot.
fn server_snapshot(root: &Path, dockerfile: &Path) -> std::sync::Arc<buildlens::workspace::Snapshot> {
    use buildlens::workspace::{Feeds, Host, Settings, StoreSource};
    let host = Host::new(std::sync::Arc::new(StoreSource::default()), Feeds::default(), std::sync::Arc::default());
    let store = Store::at(root.join(".buildlens"));
    host.set_settings(Settings { store, root: root.to_path_buf(), history_depth: 10, expensive_seconds: 60 });
    host.open(dockerfile, 1, &std::sync::Arc::from(std::fs::read_to_string(dockerfile).unwrap()));
    host.snapshot(dockerfile).unwrap()
}

/// A BuildKit plain build of `steps` (`(name, end)`: `DONE 1.0s`, `CACHED`, or `None`: still running).
fn plain_build(steps: &[(&str, Option<&str>)], exported: bool) -> String {
    let mut log = String::from("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n");
    for (i, (name, end)) in steps.iter().enumerate() {
        let n = i + 2;
        log += &format!("#{n} {name}\n");
        match end {
            Some(end) => log += &format!("#{n} {end}\n\n"),
            None => log += &format!("#{n} 0.120 working\n"),
        }
    }
    if exported {
        log += &format!("#{n} exporting to image\n#{n} DONE 0.1s\n", n = steps.len() + 2);
    }
    log
}

/// A record still being written (its recorder, this test, alive) that holds two builds: the first ended
/// (exported), the second still running. Only the second is live, for the server's index and the CLI's
/// read of the newest records alike (one rule, `workspace::select::still_running`): the server once
/// marked every build of a live record running, the CLI only its last, whatever the log said.
#[test]
fn a_live_record_has_its_unfinished_builds_running_on_both_sides() {
    let (_dir, root) = empty_case();
    let dockerfile = root.join("Dockerfile");
    std::fs::write(&dockerfile, "FROM alpine:3.19\nRUN echo one\nRUN sleep 100\n").unwrap();
    let from = "[1/3] FROM docker.io/library/alpine:3.19";
    let first =
        plain_build(&[("[1/2] FROM docker.io/library/alpine:3.19", Some("CACHED")), ("[2/2] RUN echo one", Some("DONE 1.0s"))], true);
    let second = plain_build(&[(from, Some("CACHED")), ("[2/3] RUN echo one", Some("CACHED")), ("[3/3] RUN sleep 100", None)], false);
    let store = Store::at(root.join(".buildlens"));
    let started = "2026-11-01T10:00:00Z";
    let record = store.create_record(started.parse().unwrap()).unwrap();
    std::fs::write(record.log_path(), format!("{first}\n{second}")).unwrap();
    let mut meta = RecordMeta::new(record.id.clone(), Source::Import, started.into());
    meta.dockerfile = Some(dockerfile.clone());
    meta.recorder_pid = Some(std::process::id());
    record.write_meta(&meta).unwrap();
    assert!(meta.is_live(), "the record is live while this test runs");

    let runs = |a: &buildlens::analysis::Annotated| -> Vec<(u32, String, bool)> {
        a.instructions.iter().flat_map(|v| v.history.iter().map(move |r| (v.line, r.build.clone(), r.live))).collect()
    };
    let (one, two) = (format!("{}#1", record.id), format!("{}#2", record.id));
    let expected =
        vec![(1, one.clone(), false), (1, two.clone(), true), (2, one.clone(), false), (2, two.clone(), true), (3, two.clone(), true)];
    let server = server_snapshot(&root, &dockerfile);
    assert_eq!(runs(&server.annotated), expected, "the server: the ended build is not live");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let options = buildlens::workspace::Options { limit: 20, ..Default::default() };
    let cli = buildlens::workspace::Batch::open(store, &dockerfile, text, &options);
    assert_eq!(runs(cli.annotated()), expected, "the CLI says the same");

    let out = Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .arg("report")
        .arg(&dockerfile)
        .current_dir(&root)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let word = |id: &str| {
        text.lines()
            .find(|l| l.ends_with(id) || l.contains(&format!("{id}  ")))
            .map(|l| l.split_whitespace().nth(4).unwrap_or("").to_string())
    };
    assert_eq!(word(&one).as_deref(), Some("succeeded"), "{text}");
    assert_eq!(word(&two).as_deref(), Some("running"), "{text}");
}

/// A plain build of `FROM` and `RUN apk add make` (cached), `COPY site /srv` and an expensive `RUN make`
/// (75 s) rebuilt after it.
fn copy_then_make(copy: &str) -> String {
    plain_build(
        &[
            ("[1/4] FROM docker.io/library/alpine:3.19", Some("CACHED")),
            ("[2/4] RUN apk add make", Some("CACHED")),
            ("[3/4] COPY site /srv", Some(copy)),
            ("[4/4] RUN make -C /srv", Some("DONE 75.0s")),
        ],
        true,
    )
}

/// `buildlens explain` and the server say the same about the latest build when the records kept their
/// `inputs.json` (the changed files of a COPY, the Dockerfile as built): the same causes, the same advice,
/// read by one rule (`workspace::compared`: the recent builds, the inputs of the compared pair only); and
/// the hover says the cause explain prints.
#[tokio::test]
async fn explain_and_the_hover_agree_when_the_records_kept_their_inputs() {
    use buildlens::analysis::inputs::{FileEntry, Inputs, Manifest};
    let (dir, root) = empty_case();
    let dockerfile = root.join("Dockerfile");
    let text = "FROM alpine:3.19\nRUN apk add make\nCOPY site /srv\nRUN make -C /srv\n";
    std::fs::write(&dockerfile, text).unwrap();
    let store = Store::at(root.join(".buildlens"));
    for k in 0..5 {
        let started = format!("2026-11-01T10:0{k}:00Z");
        let record = store.create_record(started.parse().unwrap()).unwrap();
        std::fs::write(record.log_path(), copy_then_make("DONE 0.3s")).unwrap();
        let mut meta = RecordMeta::new(record.id.clone(), Source::Import, started);
        meta.dockerfile = Some(dockerfile.clone());
        meta.cwd = Some(root.clone());
        record.write_meta(&meta).unwrap();
        let file = |path: &str, size: u64| FileEntry { path: path.into(), size, mtime_ns: 1_000 * size as i64 };
        // Each build changed another file under site/ (and README.md, outside it, every time).
        let files = vec![file("README.md", 10 + k), file("site/a.html", 1 + k), file("site/b.html", 1 + k / 2)];
        let inputs =
            Inputs { schema: 1, dockerfile: Some(text.into()), dockerignore: None, manifest: Some(Manifest { files, truncated: false }) };
        record.write_inputs(&inputs).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .arg("explain")
        .arg(&dockerfile)
        .arg("--json")
        .current_dir(&root)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    cli.as_object_mut().unwrap().remove("dockerfile");
    let server = server_snapshot(&root, &dockerfile);
    let server_json = serde_json::to_value(server.annotated.explain.as_ref().expect("the server explains the latest build")).unwrap();
    assert_eq!(cli, server_json, "explain and the server's explanation");
    let copy = cli["steps"].as_array().unwrap().iter().find(|s| s["line"] == 3).expect("the COPY executed");
    let detail = copy["cause"]["detail"].as_str().unwrap();
    assert!(detail.contains("site/a.html") && !detail.contains("README"), "the inputs were read: {detail}");
    assert_eq!(cli["advice"][0]["line"], 3, "advice on the COPY: {cli}");

    // The hover of the COPY says the same cause, and the advice.
    let case = Case { name: "inputs".into(), _dir: dir, root: root.clone(), dockerfiles: vec![dockerfile.clone()] };
    let mut c = TestClient::start();
    c.initialize(json!({}), json!({"storePath": case.root.join(".buildlens"), "lenses": "all"}), &case.root).await;
    let uri = file_uri(&dockerfile);
    c.open(&uri, "dockerfile", text).await;
    let hover = c.result("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 1}})).await;
    let md = hover["contents"]["value"].as_str().unwrap().replace('\\', "");
    assert!(md.contains(&format!("not cached: {detail}")), "the hover says explain's cause {detail:?}: {md}");
}

/// A record of two builds that names the Dockerfile, the last of another Dockerfile's text: its timeline
/// maps onto no line, so neither the hover nor `report` puts a timeline note on the first build's steps
/// (`report` once drew the newest build with a step on the text, the hover the newest build: one function
/// now, `Host::critical_note`); on a record of one timed build both give the same notes.
#[tokio::test]
async fn the_timeline_note_comes_from_one_timeline_on_both_sides() {
    let (dir, root) = empty_case();
    let dockerfile = root.join("Dockerfile");
    std::fs::write(&dockerfile, "FROM alpine:3.19\nRUN make\nRUN make install\n").unwrap();
    let ours = plain_build(
        &[
            ("[1/3] FROM docker.io/library/alpine:3.19", Some("CACHED")),
            ("[2/3] RUN make", Some("DONE 4.0s")),
            ("[3/3] RUN make install", Some("DONE 2.0s")),
        ],
        true,
    );
    let other = plain_build(
        &[("[1/2] FROM docker.io/library/debian:12", Some("DONE 1.0s")), ("[2/2] RUN ./configure --prefix=/opt", Some("DONE 9.0s"))],
        true,
    );
    let log = root.join("two.log");
    std::fs::write(&log, format!("{ours}\n{other}")).unwrap();
    add_record(&root, &log, Some(&dockerfile), "2026-11-01T10:00:00Z");
    let case = Case { name: "two builds".into(), _dir: dir, root, dockerfiles: vec![dockerfile.clone()] };
    let (report, report_notes) = report_says_and_notes(&case, &dockerfile);
    let lines: Vec<u32> = report.keys().copied().collect();
    assert_eq!(lines, [1, 2, 3], "report reads the first build: {report:?}");
    let (_, server_notes) = server_says_and_notes(&case, &dockerfile, &lines).await;
    assert_eq!(report_notes, BTreeMap::new(), "the newest build maps onto no line: no note in report");
    assert_eq!(server_notes, report_notes, "nor in the hover");

    let log = case.root.join("ours.log");
    std::fs::write(&log, &ours).unwrap();
    add_record(&case.root, &log, Some(&dockerfile), "2026-11-01T11:00:00Z");
    let (_, report_notes) = report_says_and_notes(&case, &dockerfile);
    let (_, server_notes) = server_says_and_notes(&case, &dockerfile, &lines).await;
    assert_eq!(report_notes.get(&2).map(String::as_str), Some("◆ critical path: 4.0s of 6.0s"), "{report_notes:?}");
    assert_eq!(server_notes, report_notes, "the hover's notes are report's");
}

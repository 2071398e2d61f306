//! `buildlens report --markdown | --html [-o FILE] | --timeline [--width N]` and the critical path of the
//! text report, on a copy of the bundled example (three real recorded builds; the last failed at line 16
//! after the toolchain's 8.2 s).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_buildlens");

fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/example"), dir.path());
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn run(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(BIN).current_dir(dir).args(args).env_remove("BUILDLENS_STORE").output().unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn the_text_report_marks_the_critical_path() {
    let ws = example();
    let (out, err, code) = run(ws.path(), &["report", "Dockerfile"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("critical path (build #3, 11.5s): line 3 → 5 → 6 → 7 → 8 → 9 → 14 → 16\n"), "{out}");
    assert!(
        out.contains("executed in 8.2s (build #3) · ran in 3 builds: 3 executed, 0 cached · ◆ critical path: 8.2s of 11.5s\n"),
        "{out}"
    );
    // Line 19 last ran in build #2 (build #3 failed before it): no mark from build #3's timeline.
    let line_19 = out.lines().skip_while(|l| !l.starts_with("  19 |")).nth(1).unwrap_or("");
    assert!(line_19.contains("(build #2)") && !line_19.contains("critical") && !line_19.contains("slack"), "{line_19}");
}

#[test]
fn markdown_html_and_timeline_from_the_cli() {
    let ws = example();
    let (md, err, code) = run(ws.path(), &["report", "Dockerfile", "--markdown"]);
    assert_eq!(code, 0, "{err}");
    assert!(md.starts_with("### buildlens: `Dockerfile` failed\n"), "{md}");
    assert!(md.contains("| 9 | `sdk` | `RUN for part in binutils"), "{md}");
    assert!(md.contains("#### Why steps missed the cache") && md.contains("- line 8 `COPY . .` (0.1s): changed inputs"), "{md}");
    assert!(md.contains("```mermaid\ngantt\n") && md.contains("    L16 RUN sh package/hello/build.sh FAILED :crit,"), "{md}");

    let (tl, _, code) = run(ws.path(), &["report", "Dockerfile", "--timeline", "--width", "80"]);
    assert_eq!(code, 0);
    assert_eq!(tl.lines().count(), 9, "{tl}");
    assert!(tl.lines().skip(1).all(|l| l.chars().count() == 78), "{tl}");

    let (stdout, err, code) = run(ws.path(), &["report", "Dockerfile", "--html", "-o", "timeline.html"]);
    assert_eq!((code, stdout.as_str()), (0, ""), "{err}");
    let page = std::fs::read_to_string(ws.path().join("timeline.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.matches("<rect class=\"bar ").count() == 8);
    let nonce = page.split("script-src 'nonce-").nth(1).and_then(|r| r.split('\'').next()).unwrap_or("");
    assert_eq!(nonce.len(), 32, "a 128-bit nonce");
    assert!(page.contains(&format!("<script nonce=\"{nonce}\">")) && page.contains(&format!("<style nonce=\"{nonce}\">")));
    let (again, _, _) = run(ws.path(), &["report", "Dockerfile", "--html"]);
    assert!(!again.contains(nonce), "a fresh nonce per page");

    for bad in [&["--json", "--markdown"][..], &["--markdown", "--html"], &["-o", "x.html"], &["--width", "50"]] {
        let mut args = vec!["report", "Dockerfile"];
        args.extend_from_slice(bad);
        let (_, err, code) = run(ws.path(), &args);
        assert_eq!(code, 2, "{bad:?} is refused: {err}");
    }
}

#[test]
fn no_recorded_build_still_makes_the_pictures() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM alpine\nRUN true\n").unwrap();
    let (md, _, code) = run(dir.path(), &["report", "Dockerfile", "--markdown"]);
    assert_eq!((code, md.as_str()), (0, "### buildlens: `Dockerfile`\n\nNo recorded build of this Dockerfile.\n"));
    let (page, _, code) = run(dir.path(), &["report", "Dockerfile", "--html"]);
    assert!(code == 0 && page.contains("No recorded build of this Dockerfile.") && page.ends_with("</html>\n"));
    let (tl, _, code) = run(dir.path(), &["report", "Dockerfile", "--timeline"]);
    assert_eq!((code, tl.as_str()), (0, "Dockerfile: no recorded build\n"));
}

//! Assertions shared by the end-to-end tests: the stored log against what the recorder printed, the
//! record's `meta.json`, and the parsed steps as one-line summaries (`builder 2/4 COPY executed`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{text, Recorded};

/// The recorder passes the command's stdout and stderr through to its own, and its log holds both in
/// arrival order. So the log must be an interleaving of exactly what it printed on stdout and on stderr
/// (the recorder's own closing `buildlens: …` lines on stderr excepted).
pub fn assert_log_is_what_was_printed(rec: &Recorded) {
    let stderr = without_own_lines(&rec.stderr);
    let ok = if rec.stdout.is_empty() || stderr.is_empty() {
        rec.log == [rec.stdout.as_slice(), stderr].concat()
    } else {
        is_interleaving(&rec.log, &rec.stdout, stderr)
    };
    assert!(
        ok,
        "{} is not what was printed\n--- log ---\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        rec.log_path.display(),
        text(&rec.log),
        text(&rec.stdout),
        text(stderr)
    );
}

/// `stderr` without the recorder's own trailing lines (`buildlens: recorded …`).
fn without_own_lines(stderr: &[u8]) -> &[u8] {
    let mut end = stderr.len();
    loop {
        let body = &stderr[..end];
        let body_end = body.strip_suffix(b"\n").map_or(body.len(), <[u8]>::len);
        let start = body[..body_end].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if body_end == 0 || !body[start..].starts_with(b"buildlens: ") {
            return &stderr[..end];
        }
        end = start;
    }
}

/// True when `whole` is `a` and `b` shuffled together with each one's byte order kept
/// (dynamic programming over prefixes; the logs here are a few kilobytes).
pub fn is_interleaving(whole: &[u8], a: &[u8], b: &[u8]) -> bool {
    if whole.len() != a.len() + b.len() {
        return false;
    }
    // row[j]: whole[..i+j] is an interleaving of a[..i] and b[..j], for the current i.
    let mut row = vec![false; b.len() + 1];
    row[0] = true;
    for j in 1..=b.len() {
        row[j] = row[j - 1] && b[j - 1] == whole[j - 1];
    }
    for i in 1..=a.len() {
        row[0] = row[0] && a[i - 1] == whole[i - 1];
        for j in 1..=b.len() {
            let c = whole[i + j - 1];
            row[j] = (row[j] && a[i - 1] == c) || (row[j - 1] && b[j - 1] == c);
        }
    }
    row[b.len()]
}

/// The parts of `meta.json` a record of a build command must have.
pub struct MetaExpect<'a> {
    pub exit_code: i32,
    pub dockerfile: Option<&'a Path>,
    pub context: Option<&'a Path>,
    pub tags: &'a [&'a str],
}

pub fn assert_meta(meta: &Value, command: &[&str], cwd: &Path, want: &MetaExpect) {
    for field in ["id", "started", "finished"] {
        assert!(meta[field].is_string(), "meta.{field} missing: {meta:#}");
    }
    let recorded: Vec<&str> = meta["command"].as_array().expect("meta.command").iter().filter_map(Value::as_str).collect();
    assert_eq!(recorded, command, "meta.command");
    assert_eq!(same_path(&meta["cwd"]), Some(canonical(cwd)), "meta.cwd: {meta:#}");
    assert_eq!(meta["exit_code"].as_i64(), Some(i64::from(want.exit_code)), "meta.exit_code: {meta:#}");
    assert_eq!(same_path(&meta["dockerfile"]), want.dockerfile.map(canonical), "meta.dockerfile: {meta:#}");
    assert_eq!(same_path(&meta["context"]), want.context.map(canonical), "meta.context: {meta:#}");
    let tags: Vec<&str> = meta["tags"].as_array().expect("meta.tags").iter().filter_map(Value::as_str).collect();
    assert_eq!(tags, want.tags, "meta.tags");
}

/// A path from meta.json, canonicalised so `/tmp/x/./Dockerfile` and `/tmp/x/Dockerfile` compare equal.
fn same_path(v: &Value) -> Option<PathBuf> {
    v.as_str().map(|p| canonical(Path::new(p)))
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// The only build of a parsed log: format and result, checked.
pub fn only_build<'a>(parsed: &'a Value, format: &str, result: &str) -> &'a Value {
    let builds = parsed["builds"].as_array().unwrap_or_else(|| panic!("no builds: {parsed:#}"));
    assert_eq!(builds.len(), 1, "expected one build: {parsed:#}");
    let build = &builds[0];
    assert_eq!((build["format"].as_str(), build["result"].as_str()), (Some(format), Some(result)), "{build:#}");
    build
}

/// Whether step summaries name the stage (BuildKit does; the legacy builder numbers the whole file and
/// podman prints a stage index, so a stage name there is the parser's guess and not checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Named,
    Ignored,
}

/// The Dockerfile steps of a build, one line each, sorted: `[<stage> ][<stage_index>:]k/n KEYWORD status[ exit=N]`.
/// FROM steps are left out: BuildKit shares one FROM vertex between stages with the same base (named
/// after either stage) and reports it DONE or CACHED depending on the engine's state, not the build's.
pub fn steps(build: &Value, stage: Stage) -> Vec<String> {
    let mut out: Vec<String> = build["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["k"].is_u64() && !keyword(s).eq_ignore_ascii_case("FROM"))
        .map(|s| summary(s, stage))
        .collect();
    out.sort();
    out
}

fn keyword(step: &Value) -> &str {
    step["instruction"].as_str().and_then(|i| i.split_whitespace().next()).unwrap_or("?")
}

fn summary(step: &Value, stage: Stage) -> String {
    let mut line = String::new();
    if let (Stage::Named, Some(name)) = (stage, step["stage"].as_str()) {
        line += &format!("{name} ");
    }
    if let Some(i) = step["stage_index"].as_u64() {
        line += &format!("{i}:");
    }
    line += &format!("{}/{} {} {}", step["k"], step["n"], keyword(step).to_ascii_uppercase(), step["status"].as_str().unwrap_or("?"));
    if let Some(code) = step["exit_code"].as_i64() {
        line += &format!(" exit={code}");
    }
    line
}

/// Asserts the step summaries (any order in `want`).
pub fn assert_steps(build: &Value, want: &[&str], stage: Stage) {
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(steps(build, stage), want, "steps of {build:#}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleavings() {
        assert!(is_interleaving(b"", b"", b""));
        assert!(is_interleaving(b"ab", b"a", b"b"));
        assert!(is_interleaving(b"ba", b"a", b"b"));
        assert!(is_interleaving(b"aXbY", b"ab", b"XY"));
        assert!(!is_interleaving(b"ba", b"ab", b""));
        assert!(!is_interleaving(b"aYbX", b"ab", b"XY"));
        assert!(!is_interleaving(b"abc", b"a", b"b"));
    }

    #[test]
    fn own_lines_are_cut_from_the_end_only() {
        assert_eq!(without_own_lines(b"x\nbuildlens: recorded 1\n"), b"x\n");
        assert_eq!(without_own_lines(b"buildlens: a\nx\n"), b"buildlens: a\nx\n");
        assert_eq!(without_own_lines(b"buildlens: recorded 1\n"), b"");
        assert_eq!(without_own_lines(b""), b"");
    }
}

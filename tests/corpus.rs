//! No-panic and sanity tests over the shared corpus (`../shared/corpus/`): every file, log or not, is parsed
//! whole, in small chunks, truncated, with CRLF line ends and re-encoded as UTF-16LE; build logs must give
//! builds with `k/n` steps. `real/` holds other people's logs: read here, never copied into the repo.

use std::path::{Path, PathBuf};

use buildlens::log::{parse_bytes, LogParser, ParsedLog, StepStatus};

/// Captured files that are not build logs (the CLI refused to build).
const NOT_BUILDS: &[&str] = &["cli28-buildkit-without-buildx.log"];
/// Build logs with no Dockerfile step: the build failed before any step ran.
const NO_STEPS: &[&str] = &["bk20-plain-parse-error.log"];

fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(dir.is_dir(), "corpus directory {} is missing: these tests need the shared corpus (CI always has it)", dir.display());
    dir.canonicalize().unwrap_or(dir)
}

/// Every file under the corpus, sorted.
fn corpus_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![corpus_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())).flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    assert!(out.len() > 20, "only {} files under {}: corpus incomplete?", out.len(), corpus_dir().display());
    out
}

fn name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// A build log that must yield builds: `*.log`/`*.jsonl` directly in `real/` or `captured/`.
fn is_build_log(path: &Path) -> bool {
    let n = name(path);
    let dir = path.parent().map(name).unwrap_or_default();
    (n.ends_with(".log") || n.ends_with(".jsonl")) && (dir == "real" || dir == "captured") && !NOT_BUILDS.contains(&n.as_str())
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every offset in the result lies within the `len` bytes of the log it came from.
fn assert_in_bounds(parsed: &ParsedLog, len: usize, what: &str) {
    let len = len as u64;
    assert!(parsed.bytes <= len, "{what}: read {} bytes of {len}", parsed.bytes);
    for b in &parsed.builds {
        assert!(b.span[0] <= b.span[1] && b.span[1] <= len, "{what}: build span {:?} outside 0..{len}", b.span);
        for s in &b.steps {
            let o = s.output;
            assert!(o.start <= o.end && o.end <= len, "{what}: step {:?} output {}..{} outside 0..{len}", s.name, o.start, o.end);
        }
    }
}

fn parse_in_chunks(bytes: &[u8], chunk: usize) -> ParsedLog {
    let mut parser = LogParser::new();
    for c in bytes.chunks(chunk) {
        parser.feed(c);
    }
    parser.finish()
}

/// Names and statuses of all steps, in order: what must not change with the encoding or line ends.
fn steps(parsed: &ParsedLog) -> Vec<(String, StepStatus)> {
    parsed.builds.iter().flat_map(|b| &b.steps).map(|s| (s.name.clone(), s.status)).collect()
}

#[test]
fn every_corpus_file_parses_whole_and_in_chunks_to_the_same_result() {
    for path in corpus_files() {
        let bytes = read(&path);
        let whole = parse_bytes(&bytes);
        assert_in_bounds(&whole, bytes.len(), &path.display().to_string());
        // Runs of plain output lines are read at once (`log::run`): the same as one line at a time.
        let mut line_by_line = LogParser::new();
        line_by_line.feed_line_by_line(&bytes);
        assert_eq!(line_by_line.finish(), whole, "{} read line by line", path.display());
        let sizes: &[usize] = if bytes.len() < 100_000 { &[1, 7, 61, 4096] } else { &[7, 61, 4096] };
        for &chunk in sizes {
            assert_eq!(parse_in_chunks(&bytes, chunk), whole, "{} fed in chunks of {chunk}", path.display());
        }
    }
}

#[test]
fn every_corpus_file_resumes_from_a_checkpoint_to_the_same_result() {
    for path in corpus_files() {
        let bytes = read(&path);
        let whole = parse_bytes(&bytes);
        for cut in [bytes.len() / 3, bytes.len() * 9 / 10] {
            let mut first = LogParser::new();
            first.feed(&bytes[..cut]);
            let mut resumed = LogParser::resume(&first.checkpoint()).expect("a checkpoint reads back");
            let from = usize::try_from(resumed.resume_offset()).unwrap_or(usize::MAX);
            assert!(from <= cut, "{}: resume offset {from} past the cut {cut}", path.display());
            resumed.feed(&bytes[from..]);
            assert_eq!(resumed.finish(), whole, "{} resumed at {cut}", path.display());
        }
    }
}

#[test]
fn truncated_corpus_files_parse_without_panic() {
    for path in corpus_files() {
        let bytes = read(&path);
        let len = bytes.len();
        for cut in [1, 2, 3, 63, 64, 65, len / 7, len / 3, len / 2, len * 2 / 3, len.saturating_sub(2), len.saturating_sub(1)] {
            let cut = cut.min(len);
            let part = &bytes[..cut];
            let parsed = parse_bytes(part);
            assert_in_bounds(&parsed, cut, &format!("{} cut at {cut}", path.display()));
            assert_eq!(parse_in_chunks(part, 13), parsed, "{} cut at {cut}, fed in chunks of 13", path.display());
        }
    }
}

/// The log with every `\n` turned into `\r\n` (existing CRLFs become `\r\r\n`).
fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[test]
fn crlf_line_ends_give_the_same_steps() {
    for path in corpus_files().into_iter().filter(|p| !is_utf16(&read(p))) {
        let bytes = read(&path);
        let crlf = to_crlf(&bytes);
        let parsed = parse_bytes(&crlf);
        assert_in_bounds(&parsed, crlf.len(), &format!("{} as CRLF", path.display()));
        assert_eq!(steps(&parsed), steps(&parse_bytes(&bytes)), "{}: CRLF changed the steps", path.display());
    }
}

fn is_utf16(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF])
}

/// The log as UTF-16LE with a BOM (a UTF-8 BOM is dropped, invalid UTF-8 becomes U+FFFD as in step names).
fn to_utf16le(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[test]
fn utf16le_re_encoding_gives_the_same_steps() {
    for path in corpus_files() {
        let bytes = read(&path);
        if is_utf16(&bytes) {
            continue; // already UTF-16 (the PowerShell log): its steps are checked by the other tests
        }
        let utf16 = to_utf16le(&bytes);
        let parsed = parse_bytes(&utf16);
        assert_in_bounds(&parsed, utf16.len(), &format!("{} as UTF-16LE", path.display()));
        assert_eq!(parse_in_chunks(&utf16, 61), parsed, "{} as UTF-16LE, fed in chunks of 61", path.display());
        assert_eq!(steps(&parsed), steps(&parse_bytes(&bytes)), "{}: UTF-16LE changed the steps", path.display());
    }
}

/// What is wrong with a build log's result, if anything (only meaningful with the real format parsers).
fn sanity_problem(path: &Path, parsed: &ParsedLog) -> Option<String> {
    let n = name(path);
    if parsed.builds.is_empty() {
        return Some("no build found".into());
    }
    let kn_steps = parsed.builds.iter().flat_map(|b| &b.steps).filter(|s| s.k.is_some() && s.n.is_some()).count();
    if kn_steps == 0 && !NO_STEPS.contains(&n.as_str()) {
        return Some(format!("{} builds but no step with k/n", parsed.builds.len()));
    }
    let captured = path.parent().map(name).as_deref() == Some("captured");
    let expect_failure = captured && (n.contains("fail") || n.contains("error"));
    let failed = parsed.builds.iter().any(|b| b.result == buildlens::log::BuildResult::Failed);
    if expect_failure && !failed {
        return Some("a failing build's log, but no build has result `failed`".into());
    }
    None
}

#[test]
fn build_logs_yield_builds_with_numbered_steps() {
    let mut failures = Vec::new();
    let logs: Vec<PathBuf> = corpus_files().into_iter().filter(|p| is_build_log(p)).collect();
    assert!(logs.len() >= 30, "only {} build logs in the corpus", logs.len());
    for path in &logs {
        if let Some(problem) = sanity_problem(path, &parse_bytes(&read(path))) {
            failures.push(format!("{}: {problem}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{} of {} corpus build logs fail the sanity checks:\n{}", failures.len(), logs.len(), failures.join("\n"));
}

#[test]
fn files_that_are_not_build_logs_say_so() {
    for n in NOT_BUILDS {
        let path = corpus_dir().join("captured").join(n);
        let parsed = parse_bytes(&read(&path));
        assert!(parsed.builds.is_empty(), "{}: found builds in a log of a refused build", path.display());
        assert!(parsed.problems.iter().any(|p| p.message.contains("not a build log")), "{}: no 'not a build log' problem", path.display());
    }
}

/// Issue 19, 3: the summary cache is checked against the parser's own bounds; every corpus file's honest
/// summary (whole, and UTF-16 re-encoded: decoding grows text) is within them, so a normal store is never
/// re-indexed because of the check.
#[test]
fn every_corpus_summary_is_within_the_cache_bounds() {
    use buildlens::store::index::{within_bounds, Summary, FORMAT_VERSION};
    for path in corpus_files() {
        let bytes = read(&path);
        let utf16 = if is_utf16(&bytes) { None } else { Some(to_utf16le(&bytes)) };
        for (what, bytes) in [("whole", Some(bytes)), ("utf-16", utf16)] {
            let Some(bytes) = bytes else { continue };
            let parsed = parse_bytes(&bytes);
            let summary = Summary {
                format_version: FORMAT_VERSION,
                log_len: bytes.len() as u64,
                complete: true,
                parsed,
                checkpoint: serde_json::Value::Null,
            };
            assert_eq!(within_bounds(&summary), Ok(()), "{} ({what})", path.display());
        }
    }
}

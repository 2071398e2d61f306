//! Expected-output tests of the log parsers: every log under `fixtures/logs/` has an
//! `<name>.expected.json` beside it holding what `buildlens parse --json` must print for it.
//! `UPDATE_EXPECT=1 cargo test --test parse_fixtures` rewrites them; review the diff before committing.

use std::path::{Path, PathBuf};

fn fixture_logs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if is_log(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn is_log(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    (name.ends_with(".log") || name.ends_with(".jsonl")) && !name.ends_with(".expected.json")
}

fn expected_path(log: &Path) -> PathBuf {
    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    log.with_file_name(format!("{name}.expected.json"))
}

#[test]
fn every_fixture_log_parses_to_its_expected_output() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let logs = fixture_logs();
    assert!(!logs.is_empty(), "no fixture logs found");
    let mut failures = Vec::new();
    for log in &logs {
        let bytes = std::fs::read(log).unwrap();
        let parsed = buildlens::log::parse_bytes(&bytes);
        let actual = serde_json::to_string_pretty(&parsed).unwrap() + "\n";
        let expected_file = expected_path(log);
        if update {
            std::fs::write(&expected_file, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_file) {
            Ok(expected) if expected == actual => {}
            Ok(_) => failures.push(format!("{}: output differs from {}", log.display(), expected_file.display())),
            Err(_) => failures.push(format!("{}: no {}", log.display(), expected_file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ (UPDATE_EXPECT=1 to rewrite, then review):\n{}",
        failures.len(),
        logs.len(),
        failures.join("\n")
    );
}

#[test]
fn chunked_feeding_gives_the_same_result_as_one_chunk() {
    for log in fixture_logs() {
        let bytes = std::fs::read(&log).unwrap();
        let whole = buildlens::log::parse_bytes(&bytes);
        for chunk in [1usize, 7, 4096] {
            let mut parser = buildlens::log::LogParser::new();
            for c in bytes.chunks(chunk) {
                parser.feed(c);
            }
            assert_eq!(parser.finish(), whole, "{} fed in chunks of {chunk}", log.display());
        }
    }
}

#[test]
fn resuming_from_a_checkpoint_gives_the_same_result() {
    for log in fixture_logs() {
        let bytes = std::fs::read(&log).unwrap();
        let whole = buildlens::log::parse_bytes(&bytes);
        let half = bytes.len() / 2;
        let mut first = buildlens::log::LogParser::new();
        first.feed(&bytes[..half]);
        let checkpoint = first.checkpoint();
        let mut resumed = buildlens::log::LogParser::resume(&checkpoint).expect("checkpoint reads back");
        resumed.feed(&bytes[resumed.resume_offset() as usize..]);
        assert_eq!(resumed.finish(), whole, "{} resumed at {half}", log.display());
    }
}

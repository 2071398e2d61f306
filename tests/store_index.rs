//! The store's summary cache: a record is parsed once, a log that grew is read from where the last
//! indexing stopped, a newer format version re-reads everything, and nothing but the cache is written.

use std::fs;
use std::io::Write;

use buildlens::store::index::{self, Indexed};
use buildlens::store::{RecordMeta, Source, Store};

const FIRST: &str = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/alpine\n#2 CACHED\n\n#3 [2/2] RUN make\n#3 0.5 compiling a\n";
const SECOND: &str = "#3 1.5 compiling b\n#3 DONE 2.0s\n";

fn new_record(store: &Store, log: &str) -> buildlens::store::Record {
    let record = store.create_record(chrono::Utc::now()).unwrap();
    record.write_meta(&RecordMeta::new(record.id.clone(), Source::Record, chrono::Utc::now().to_rfc3339())).unwrap();
    fs::write(record.log_path(), log).unwrap();
    record
}

fn cached_checkpoint(record: &buildlens::store::Record) -> serde_json::Value {
    let cached: serde_json::Value = serde_json::from_slice(&fs::read(record.summary_path()).unwrap()).unwrap();
    cached["checkpoint"].clone()
}

#[test]
fn a_growing_log_is_read_from_where_indexing_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let record = new_record(&store, FIRST);
    let (first, how) = index::summary(&record, false).unwrap();
    assert_eq!(how, Indexed::Full);
    assert_eq!(first.log_len, FIRST.len() as u64);
    assert!(cached_checkpoint(&record).is_object(), "a growing log's cache keeps the parser state");

    fs::OpenOptions::new().append(true).open(record.log_path()).unwrap().write_all(SECOND.as_bytes()).unwrap();
    let (grown, how) = index::summary(&record, true).unwrap();
    assert_eq!(how, Indexed::Resumed { from: FIRST.len() as u64 }, "only the new bytes are parsed");
    let whole = buildlens::log::parse_bytes(format!("{FIRST}{SECOND}").as_bytes());
    assert_eq!(grown.parsed, whole, "resumed indexing gives the same result as a full parse");

    assert!(cached_checkpoint(&record).is_null(), "a complete log's cache drops the parser state");
    let (_, how) = index::summary(&record, true).unwrap();
    assert_eq!(how, Indexed::Cached);
    assert_eq!(fs::read_to_string(record.log_path()).unwrap(), format!("{FIRST}{SECOND}"), "the log is never rewritten");
}

#[test]
fn a_summary_of_another_format_version_is_reindexed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let record = new_record(&store, FIRST);
    index::summary(&record, true).unwrap();
    let mut cached: serde_json::Value = serde_json::from_slice(&fs::read(record.summary_path()).unwrap()).unwrap();
    cached["format_version"] = serde_json::json!(0);
    fs::write(record.summary_path(), serde_json::to_vec(&cached).unwrap()).unwrap();
    assert_eq!(index::summary(&record, true).unwrap().1, Indexed::Full);
}

#[test]
fn a_corrupt_summary_is_reindexed_and_a_missing_log_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let record = new_record(&store, FIRST);
    fs::write(record.summary_path(), b"{not json").unwrap();
    assert_eq!(index::summary(&record, true).unwrap().1, Indexed::Full);
    fs::remove_file(record.log_path()).unwrap();
    let err = index::summary(&record, true).unwrap_err();
    assert!(format!("{err:#}").contains("build.log"), "{err:#}");
}

/// Runs `f` on a thread and fails the test if it takes longer than `secs` (a lie that made indexing
/// allocate or loop would otherwise hang the suite).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs)).unwrap_or_else(|_| panic!("still running after {secs} s"))
}

/// Changes a cached summary.
type Lie = fn(&mut serde_json::Value);

/// Issue 19, 3: a cache of the right version and log size is still discarded (the log read again) when
/// any part of it is out of the bounds the parser keeps.
#[test]
fn a_summary_out_of_the_parsers_bounds_is_reindexed() {
    let lies: [(&str, Lie); 6] = [
        ("a long excerpt line", |s| s["parsed"]["builds"][0]["steps"][2]["excerpt"] = serde_json::json!(["x".repeat(1 << 20)])),
        ("too many excerpt lines", |s| s["parsed"]["builds"][0]["steps"][2]["excerpt"] = serde_json::json!(vec!["x"; 13])),
        ("a long error", |s| s["parsed"]["builds"][0]["steps"][2]["error"] = serde_json::json!("e".repeat(4 << 20))),
        ("a u64::MAX duration", |s| s["parsed"]["builds"][0]["steps"][2]["duration_ms"] = serde_json::json!(u64::MAX)),
        ("an offset past the log", |s| s["parsed"]["builds"][0]["steps"][2]["output"]["end"] = serde_json::json!(1u64 << 40)),
        ("100,000 extra steps", |s| {
            let steps = s["parsed"]["builds"][0]["steps"].as_array_mut().unwrap();
            let one = steps[0].clone();
            steps.extend(std::iter::repeat_n(one, 100_000));
        }),
    ];
    let whole = buildlens::log::parse_bytes(format!("{FIRST}{SECOND}").as_bytes());
    for (what, lie) in lies {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let record = new_record(&store, &format!("{FIRST}{SECOND}"));
        index::summary(&record, true).unwrap();
        let mut cached: serde_json::Value = serde_json::from_slice(&fs::read(record.summary_path()).unwrap()).unwrap();
        lie(&mut cached);
        fs::write(record.summary_path(), serde_json::to_vec(&cached).unwrap()).unwrap();
        let (summary, how) = within(20, move || index::summary(&record, true).unwrap());
        assert_eq!(how, Indexed::Full, "{what}: the cache is discarded");
        assert_eq!(summary.parsed, whole, "{what}: the log's own summary");
    }
}

/// The bounds are the parser's own: no fixture log's honest summary is out of them (else every normal
/// store would be re-indexed on each read).
#[test]
fn every_fixture_log_summary_is_within_the_bounds() {
    let mut seen = 0;
    let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/logs"))];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "log") {
                let bytes = fs::read(&path).unwrap();
                let summary = index::Summary {
                    format_version: index::FORMAT_VERSION,
                    log_len: bytes.len() as u64,
                    complete: true,
                    parsed: buildlens::log::parse_bytes(&bytes),
                    checkpoint: serde_json::Value::Null,
                };
                assert_eq!(index::within_bounds(&summary), Ok(()), "{}", path.display());
                seen += 1;
            }
        }
    }
    assert!(seen > 20, "{seen} fixture logs");
}

/// Issue 19, 7: symlinks planted under the temporary names the cache is written through are never
/// followed: the cache goes under another name, or (every name taken) is not written; the files they
/// point to outside the store are unchanged.
#[test]
fn planted_temporary_names_are_never_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let store = Store::at(dir.path().join("store"));
    let record = new_record(&store, FIRST);
    let pid = std::process::id();
    let plant = |name: String| {
        let victim = outside.join(&name);
        fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, record.dir.join(&name)).unwrap();
    };
    plant(format!(".summary.json.tmp-{pid}"));
    let r = record.clone();
    let (first, _) = within(20, move || index::summary(&r, true).unwrap());
    assert!(fs::symlink_metadata(record.summary_path()).unwrap().is_file(), "written under another temporary name");
    fs::remove_file(record.summary_path()).unwrap();
    for n in 1..16 {
        plant(format!(".summary.json.tmp-{pid}-{n}"));
    }
    let r = record.clone();
    let (second, how) = within(20, move || index::summary(&r, true).unwrap());
    assert_eq!((how, &second.parsed), (Indexed::Full, &first.parsed), "every name taken: parsed, not cached");
    assert!(!record.summary_path().exists());
    for victim in fs::read_dir(&outside).unwrap().flatten() {
        assert_eq!(fs::read_to_string(victim.path()).unwrap(), "keep", "{}", victim.path().display());
    }
}

/// Issue 19, 4: a cache whose folder leaves the store (the log-glob caches' `<store>/external` symlinked
/// elsewhere) is not written; the log is still read.
#[test]
fn a_cache_folder_that_leaves_the_store_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let (store, outside) = (dir.path().join("store"), dir.path().join("outside"));
    fs::create_dir_all(&store).unwrap();
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, store.join("external")).unwrap();
    let log = dir.path().join("ci.log");
    fs::write(&log, FIRST).unwrap();
    let (s, l) = (store.clone(), log.clone());
    let (summary, _) = within(20, move || index::summary_at(&s, &l, &s.join("external/abc.json"), true).unwrap());
    assert_eq!(summary.parsed, buildlens::log::parse_bytes(FIRST.as_bytes()));
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "nothing written outside the store");
}

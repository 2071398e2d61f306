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

//! The catalog: appended by `write_meta`, read newest first per Dockerfile, torn and lost lines made good,
//! rebuilt only when missing or unreadable, concurrent appends all kept.

use std::path::{Path, PathBuf};

use super::*;
use crate::store::Source;

/// A store with `n` records, the `i`-th naming `dockerfile(i)`.
fn store_with(dir: &Path, n: usize, dockerfile: impl Fn(usize) -> Option<&'static str>) -> Store {
    let store = Store::at(dir.join(".buildlens"));
    let start: chrono::DateTime<chrono::Utc> = "2026-10-01T08:00:00Z".parse().unwrap();
    for i in 0..n {
        let at = start + chrono::Duration::minutes(i as i64);
        let record = store.create_record(at).unwrap();
        let mut meta = RecordMeta::new(record.id.clone(), Source::Record, at.to_rfc3339());
        meta.dockerfile = dockerfile(i).map(PathBuf::from);
        record.write_meta(&meta).unwrap();
    }
    store
}

fn raw_lines(store: &Store) -> Vec<String> {
    std::fs::read_to_string(store.root().join(CATALOG_FILE)).unwrap().lines().map(String::from).collect()
}

#[test]
fn a_dockerfiles_newest_records_come_from_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 30, |i| match i % 3 {
        0 => Some("a/Dockerfile"),
        1 => Some("b/Dockerfile"),
        _ => None,
    });
    assert_eq!(raw_lines(&store).len(), 31, "the header and one line per meta written");
    let catalog = store.catalog();
    assert_eq!(catalog.entries.len(), 30);
    let (newest, older) = catalog.newest_for(&store, &dir.path().join("a/Dockerfile"), 5);
    // Records naming `a/Dockerfile` (i % 3 == 0) or none (i % 3 == 2): 20, the newest 5 listed.
    assert_eq!((newest.len(), older), (5, 15));
    let all = store.records();
    let expected: Vec<&str> = [29, 27, 26, 24, 23].iter().map(|&i| all[i].id.as_str()).collect();
    assert_eq!(newest.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), expected);
    // The last line of an id wins: a meta written again (the record ended) naming another Dockerfile.
    let mut meta = all[29].meta().unwrap();
    meta.dockerfile = Some(PathBuf::from("b/Dockerfile"));
    all[29].write_meta(&meta).unwrap();
    let (newest, _) = store.catalog().newest_for(&store, &dir.path().join("a/Dockerfile"), 1);
    assert_eq!(newest[0].id, all[27].id);
}

#[test]
fn a_torn_last_line_is_skipped_and_the_next_append_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 3, |_| Some("Dockerfile"));
    let path = store.root().join(CATALOG_FILE);
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(b"{\"id\":\"2026");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(store.catalog().entries.len(), 3);
    let more = store_with(dir.path(), 1, |_| Some("Dockerfile"));
    assert_eq!(more.catalog().entries.len(), 4);
    let lines = raw_lines(&store);
    assert_eq!(lines.len(), 6, "header, 3 entries, the torn line, the new entry on a line of its own: {lines:?}");
    assert!(lines.last().unwrap().starts_with("{\"id\":"));
}

#[test]
fn a_missing_or_unreadable_catalog_is_rebuilt_from_the_metas() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 4, |_| Some("Dockerfile"));
    let path = store.root().join(CATALOG_FILE);
    for broken in [None, Some(&b"not a catalog\n{\"id\":\"x\"}\n"[..])] {
        match broken {
            None => std::fs::remove_file(&path).unwrap(),
            Some(text) => std::fs::write(&path, text).unwrap(),
        }
        assert_eq!(store.catalog().entries.len(), 4);
        assert_eq!(raw_lines(&store).len(), 5, "rewritten whole");
        assert_eq!(raw_lines(&store)[0], HEADER);
    }
}

#[test]
fn a_record_the_catalog_lacks_is_read_from_its_meta_and_appended() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 2, |_| Some("Dockerfile"));
    let path = store.root().join(CATALOG_FILE);
    let lines = raw_lines(&store);
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    assert_eq!(store.catalog().entries.len(), 2);
    assert_eq!(raw_lines(&store).len(), 3, "the lost line appended again");
    // A folder without meta.json (a record being created) is no record yet.
    std::fs::create_dir(store.root().join("builds/20991231T000000.000Z-0000")).unwrap();
    assert_eq!(store.catalog().entries.len(), 2);
}

/// The folder names the record: a record folder renamed (or a meta.json copied) keeps its old `id` inside,
/// and is listed under its folder's name.
#[test]
fn a_renamed_record_folder_is_listed_by_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 2, |_| Some("Dockerfile"));
    let old = store.records()[1].dir.clone();
    let renamed = old.with_file_name("renamed-by-hand");
    std::fs::rename(&old, &renamed).unwrap();
    let ids: Vec<String> = store.catalog().entries.iter().map(|e| e.id.clone()).collect();
    assert!(ids.contains(&"renamed-by-hand".to_string()) && ids.len() == 2, "{ids:?}");
}

#[test]
fn concurrent_appends_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(".buildlens");
    std::fs::create_dir_all(&root).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let root = root.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let entry =
                        Entry { id: format!("{t}-{i:03}"), dockerfile: Some(PathBuf::from("x".repeat(i * 7))), services: Vec::new() };
                    append(&root, &entry).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = std::fs::read(root.join(CATALOG_FILE)).unwrap();
    let entries = parse(&text).expect("one header");
    assert_eq!(entries.len(), 800, "every line whole");
    let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 800);
}

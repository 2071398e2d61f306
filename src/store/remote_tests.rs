//! Unit tests of the store's read-only remote area: ids, record folders, atomic commits, origin labels.
use super::*;
use crate::store::{Origin, RecordMeta, Source};

fn meta_for(id: &str, dockerfile: &str) -> RecordMeta {
    let mut meta = RecordMeta::new(id.to_string(), Source::Record, "2026-12-08T00:00:00Z".into());
    meta.dockerfile = Some(dockerfile.into());
    meta.origin = Some(Origin {
        remote: "127.0.0.1:5000/builds".into(),
        tag: "t".into(),
        branch: Some("main".into()),
        commit: None,
        ci: true,
        record_id: "x".into(),
        pulled: String::new(),
    });
    meta
}

fn pull_one(store: &Store, id: &str, dockerfile: &str) -> bool {
    let pending = begin(store, id).unwrap().expect("not there yet");
    std::fs::write(pending.dir().join("build.log"), b"#1 DONE\n").unwrap();
    std::fs::write(pending.dir().join(META_FILE), serde_json::to_vec(&meta_for(id, dockerfile)).unwrap()).unwrap();
    pending.commit().unwrap()
}

#[test]
fn remote_ids_sort_by_time_and_name_their_folder() {
    let id = remote_id(1_765_152_000_000, "0123456789abcdef", "127.0.0.1_5000_builds").unwrap();
    assert_eq!(id, "20251208T000000.000Z-r0123456789ab.127.0.0.1_5000_builds");
    assert_eq!(parse_id(&id), Some("127.0.0.1_5000_builds"));
    assert_eq!(parse_id("20261208T004326.123Z-1a2b"), None, "a local id is not remote");
    assert_eq!(remote_id(0, "0123456789ab", "../x"), None);
    assert_eq!(parse_id("20261208T004326.123Z-r0123456789ab.."), None);
    assert!(record_dir(Path::new("/s"), &id).unwrap().starts_with("/s/remote/127.0.0.1_5000_builds"));
}

#[test]
fn a_pulled_record_is_listed_with_local_ones_and_found_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join(".buildlens"));
    let local = store.create_record(chrono::Utc::now()).unwrap();
    local.write_meta(&RecordMeta::new(local.id.clone(), Source::Import, "2026-12-08T00:00:00Z".into())).unwrap();
    let id = remote_id(1_000, "0123456789abcdef", "reg_builds").unwrap();
    assert!(pull_one(&store, &id, "Dockerfile"));
    let ids: Vec<String> = store.records().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![id.clone(), local.id.clone()], "oldest first, remote among local");
    let record = store.record(&id).unwrap();
    assert_eq!(record.meta().unwrap().origin.unwrap().branch.as_deref(), Some("main"));
    let catalog = store.catalog();
    assert!(catalog.entries.iter().any(|e| e.id == id && e.dockerfile.as_deref() == Some(Path::new("Dockerfile"))));
    let (newest, _) = catalog.newest_for(&store, &dir.path().join("Dockerfile"), 10);
    assert!(newest.iter().any(|r| r.id == id), "newest_for finds the pulled record");
    assert!(begin(&store, &id).unwrap().is_none(), "already there: nothing to write");
}

#[test]
fn a_pull_that_fails_halfway_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join(".buildlens"));
    let id = remote_id(1_000, "0123456789abcdef", "reg_builds").unwrap();
    {
        let pending = begin(&store, &id).unwrap().unwrap();
        std::fs::write(pending.dir().join("build.log"), b"half").unwrap();
        // dropped without commit: a pull that died
    }
    assert!(store.records().is_empty());
    let area = dir.path().join(".buildlens/remote/reg_builds");
    assert_eq!(std::fs::read_dir(&area).unwrap().count(), 0, "no temporary folder left");
    assert!(store.catalog().entries.is_empty());
}

#[test]
fn the_remote_catalog_is_kept_by_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join(".buildlens"));
    let id = remote_id(2_000, "abcdefabcdef00", "reg_builds").unwrap();
    pull_one(&store, &id, "app/Dockerfile");
    let catalog_file = dir.path().join(".buildlens/remote/catalog.jsonl");
    assert_eq!(store.catalog().entries.len(), 1);
    assert!(catalog_file.is_file(), "the first read lists the pulled record");
    std::fs::remove_file(&catalog_file).unwrap();
    let entries = store.catalog().entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].dockerfile.as_deref(), Some(Path::new("app/Dockerfile")));
    assert!(catalog_file.is_file(), "made again");
}

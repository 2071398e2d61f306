//! Tests of `StoreSource` and the index behind it.

use super::*;
use crate::store::RecordMeta;
use crate::workspace::files::{line_at, record_dockerfile};
use crate::workspace::index::*;

#[test]
fn line_at_counts_newlines_before_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("build.log");
    fs::write(&p, "a\nb\nc\n").unwrap();
    assert_eq!(line_at(&p, 0), Some(0));
    assert_eq!(line_at(&p, 2), Some(1));
    assert_eq!(line_at(&p, 99), Some(3));
    assert_eq!(line_at(&dir.path().join("gone"), 1), None);
}

#[test]
fn record_dockerfile_resolves_relative_paths_at_the_stores_parent() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("ws/.buildlens/builds/r1");
    fs::create_dir_all(&record).unwrap();
    let log = record.join(store::LOG_FILE);
    let ws = dir.path().join("ws");
    let check = |cwd: &str, dockerfile: Option<&str>, expect: Option<PathBuf>| {
        let meta = serde_json::json!({"schema": 1, "id": "r1", "source": "record", "command": ["docker", "build", "."],
            "cwd": cwd, "started": "2026-11-24T06:55:11Z", "dockerfile": dockerfile});
        fs::write(record.join(store::META_FILE), meta.to_string()).unwrap();
        assert_eq!(record_dockerfile(&log, Path::new("/elsewhere")), expect, "{meta}");
    };
    check(".", Some("Dockerfile"), Some(ws.join("Dockerfile")));
    check("sub", Some("sub/x.Dockerfile"), Some(ws.join("sub/x.Dockerfile")));
    check("/abs", Some("/abs/Dockerfile"), Some(PathBuf::from("/abs/Dockerfile")));
    check(".", None, None);
}

#[test]
fn a_missing_store_has_no_builds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join("nope"));
    let src = StoreSource::default();
    let g = src.refresh(&store, &|_| {});
    let a = src.annotate(&store, dir.path(), &dir.path().join("Dockerfile"), "FROM a\n", 10);
    assert!(a.instructions.iter().all(|i| i.last.is_none()));
    assert_eq!(src.refresh(&store, &|_| {}), g);
}

/// Only the newest records are parsed at start-up; older ones that name their Dockerfile are indexed
/// from their metadata and parsed when an analysis needs them (here: a history of 20 builds).
#[test]
fn older_records_are_parsed_only_when_an_analysis_picks_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let df = root.join("Dockerfile");
    fs::write(&df, "FROM a\nRUN x\n").unwrap();
    let store = Store::at(root.join("st"));
    let start: chrono::DateTime<chrono::Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let records: Vec<store::Record> = (0..40)
        .map(|i| {
            let t = start + chrono::Duration::minutes(i);
            let r = store.create_record(t).unwrap();
            fs::write(r.log_path(), format!("#5 [2/2] RUN x\n#5 DONE {i}.0s\n")).unwrap();
            let mut meta = RecordMeta::new(r.id.clone(), store::Source::Import, t.to_rfc3339());
            meta.finished = Some(t.to_rfc3339());
            meta.dockerfile = Some(df.clone());
            r.write_meta(&meta).unwrap();
            r
        })
        .collect();
    let src = StoreSource::default();
    src.refresh(&store, &|_| {});
    let parsed = |range: std::ops::Range<usize>| records[range].iter().filter(|r| r.summary_path().is_file()).count();
    assert_eq!(parsed(0..12), 0, "old records are not read at start-up");
    assert_eq!(parsed(12..40), 28);
    let a = src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 25);
    let history = &a.instructions[1].history;
    assert_eq!(history.len(), 25);
    assert_eq!(history.last().and_then(|r| r.duration_ms), Some(39_000));
    assert_eq!(history.first().and_then(|r| r.duration_ms), Some(15_000));
    assert_eq!(parsed(0..12), 0);
    assert!(history[..24].iter().all(|r| r.excerpt.is_empty()), "older runs are compact");
    // Numbered as `report` numbers them (#1 is the oldest of the 40), though only the newest 25 were read.
    let numbers: Vec<usize> = a.builds.iter().map(|b| b.number).collect();
    assert_eq!(numbers, (16..=40).collect::<Vec<_>>());
    assert_eq!(a.latest().map(|b| b.id.as_str()), Some(records[39].id.as_str()));
    // A deeper history reaches records that were only indexed: they are parsed now, and only they.
    let a = src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 35);
    assert_eq!(a.instructions[1].history.first().and_then(|r| r.duration_ms), Some(5_000));
    assert_eq!((parsed(0..5), parsed(5..12)), (0, 7));
}

/// At start-up the older records come from the store's catalog: none of their files is opened (here their
/// `meta.json` was spoiled after the catalog listed them, and they are still counted); one an analysis
/// picks is read then, meta and builds (explain's facts read the meta).
#[test]
fn older_records_are_listed_from_the_catalog_without_opening_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let df = root.join("Dockerfile");
    fs::write(&df, "FROM a\nRUN x\n").unwrap();
    let store = Store::at(root.join("st"));
    let start: chrono::DateTime<chrono::Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let records: Vec<store::Record> = (0..40)
        .map(|i| {
            let t = start + chrono::Duration::minutes(i);
            let r = store.create_record(t).unwrap();
            fs::write(r.log_path(), format!("#5 [2/2] RUN x\n#5 DONE {i}.0s\n")).unwrap();
            let mut meta = RecordMeta::new(r.id.clone(), store::Source::Import, t.to_rfc3339());
            meta.finished = Some(t.to_rfc3339());
            meta.dockerfile = Some(df.clone());
            meta.build_args = vec![("N".into(), Some(i.to_string()))];
            r.write_meta(&meta).unwrap();
            r
        })
        .collect();
    for r in &records[..4] {
        fs::write(r.meta_path(), "not json").unwrap();
    }
    let src = StoreSource::default();
    src.refresh(&store, &|_| {});
    let listed = |id: &str| lock(&src.index).entries.get(id).map(|e| e.meta.is_some());
    assert_eq!(listed(&records[0].id), Some(false), "listed from the catalog, its meta.json not read");
    assert_eq!(listed(&records[30].id), Some(true), "the newest are read");
    let a = src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 25);
    let numbers: Vec<usize> = a.builds.iter().map(|b| b.number).collect();
    assert_eq!(numbers, (16..=40).collect::<Vec<_>>(), "all 40 counted, the spoiled ones too");
    src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 35);
    assert_eq!(listed(&records[5].id), Some(true), "picked: its meta is read with its builds");
    assert_eq!(src.facts(&store, &records[5].id, false).build_args, vec![("N".to_string(), Some("5".to_string()))]);
}

/// A re-index of everything (the watch just set up) keeps the builds of a finished record whose meta and
/// log are unchanged, and reads again one whose log changed.
#[test]
fn a_full_reindex_reads_again_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let store = Store::at(root.join("st"));
    let t: chrono::DateTime<chrono::Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let records: Vec<store::Record> = (0..2)
        .map(|i| {
            let r = store.create_record(t + chrono::Duration::minutes(i)).unwrap();
            fs::write(r.log_path(), "#5 [2/2] RUN x\n#5 DONE 1.0s\n").unwrap();
            let mut meta = RecordMeta::new(r.id.clone(), store::Source::Import, t.to_rfc3339());
            meta.finished = Some(t.to_rfc3339());
            meta.dockerfile = Some(root.join("Dockerfile"));
            r.write_meta(&meta).unwrap();
            r
        })
        .collect();
    let src = StoreSource::default();
    let g = src.refresh(&store, &|_| {});
    let held = |id: &str| lock(&src.index).entries.get(id).and_then(|e| e.builds.clone()).unwrap();
    let (a, b) = (held(&records[0].id), held(&records[1].id));
    fs::write(records[1].log_path(), "#5 [2/2] RUN x\n#5 DONE 12.5s\n").unwrap();
    src.invalidate_all();
    assert_ne!(src.refresh(&store, &|_| {}), g, "a log changed");
    assert!(Arc::ptr_eq(&a, &held(&records[0].id)), "unchanged: kept, not read again");
    assert!(!Arc::ptr_eq(&b, &held(&records[1].id)), "its log changed: read again");
    assert_eq!(held(&records[1].id)[0].build.steps[0].duration_ms, Some(12_500));
}

/// Cached answers are served without waiting only while nothing is stale.
#[test]
fn the_generation_is_current_only_when_nothing_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join("st"));
    let src = StoreSource::default();
    assert_eq!(src.current_generation(&store), None, "never indexed");
    let g = src.refresh(&store, &|_| {});
    assert_eq!(src.current_generation(&store), Some(g));
    assert_eq!(src.current_generation(&Store::at(dir.path().join("other"))), None, "another store");
    assert!(src.invalidate(&store, &[store.root().join("builds/r1/build.log")]));
    assert_eq!(src.current_generation(&store), None);
    src.refresh(&store, &|_| {});
    assert!(src.current_generation(&store).is_some());
    src.set_log_globs(LogGlobs { root: dir.path().into(), globs: vec!["*.log".into()] });
    assert_eq!(src.current_generation(&store), None, "new globs: everything is stale");
}

/// A globbed log takes its place among the records by its modification time.
#[test]
fn globbed_logs_sort_among_records_by_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let df = root.join("Dockerfile");
    let store = Store::at(root.join("st"));
    let r = store.create_record("2026-11-01T10:00:00Z".parse().unwrap()).unwrap();
    fs::write(r.log_path(), "#5 [2/2] RUN x\n#5 DONE 1.0s\n").unwrap();
    let mut meta = RecordMeta::new(r.id.clone(), store::Source::Import, "2026-11-01T10:00:00Z".into());
    meta.dockerfile = Some(df.clone());
    r.write_meta(&meta).unwrap();
    let log = root.join("ci.log");
    fs::write(&log, "#5 [2/2] RUN x\n#5 DONE 7.0s\n").unwrap();
    let src = StoreSource::default();
    src.set_log_globs(LogGlobs { root: root.clone(), globs: vec!["*.log".into()] });
    let last = |src: &StoreSource| {
        src.refresh(&store, &|_| {});
        let a = src.annotate(&store, &root, &df, "FROM a\nRUN x\n", 10);
        a.instructions[1].last.as_ref().map(|l| (l.build.clone(), l.duration_ms))
    };
    assert_eq!(last(&src), Some(("ci.log".to_string(), Some(7_000))), "modified now: newer than the record");
    let old: std::time::SystemTime =
        chrono::DateTime::<chrono::Utc>::from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000)).into();
    fs::OpenOptions::new().write(true).open(&log).unwrap().set_modified(old).unwrap();
    assert!(src.invalidate(&store, std::slice::from_ref(&log)));
    assert_eq!(last(&src), Some((r.id.clone(), Some(1_000))), "modified in 2020: older than the record");
    let mut beside: Vec<String> = fs::read_dir(&root).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    beside.sort();
    assert_eq!(beside, ["ci.log", "st"], "nothing written beside the log");
}

fn check_touched(path: &str, expect: Option<Touched>) {
    assert_eq!(touched(Path::new("/s"), Path::new(path)), expect, "{path}");
}

#[test]
fn which_paths_touch_which_records() {
    let rec = |id: &str| Some(Touched::Record(id.into()));
    check_touched("/s/builds/r1", rec("r1"));
    check_touched("/s/builds/r1/build.log", rec("r1"));
    check_touched("/s/builds/r1/meta.json", rec("r1"));
    check_touched("/s/builds/r1/summary.json", None);
    check_touched("/s/builds/r1/.summary.json.tmp-7", None);
    check_touched("/s/builds/.tmp", None);
    check_touched("/s/builds", Some(Touched::All));
    check_touched("/s", Some(Touched::All));
    check_touched("/", Some(Touched::All));
    check_touched("/elsewhere/builds/r1/build.log", None);
}

/// `meta.json` paths are relative to the store's parent, whatever the build's `cwd` and wherever the
/// store is (`storePath` outside the workspace): the record still names the workspace's Dockerfile.
#[test]
fn relative_record_paths_resolve_from_the_stores_parent() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    fs::create_dir(&ws).unwrap();
    let df = ws.join("Dockerfile");
    fs::write(&df, "FROM a\nRUN x\n").unwrap();
    let store = Store::at(dir.path().join("store"));
    let r = store.create_record(chrono::Utc::now()).unwrap();
    fs::write(r.log_path(), "#5 [2/2] RUN x\n#5 DONE 1.0s\n").unwrap();
    let mut meta = RecordMeta::new(r.id.clone(), store::Source::Record, "2026-11-01T10:00:00Z".into());
    (meta.cwd, meta.dockerfile) = (Some("ws".into()), Some("ws/Dockerfile".into()));
    r.write_meta(&meta).unwrap();
    // Another Dockerfile of the same name elsewhere does not get the build.
    let other = dir.path().join("other");
    fs::create_dir(&other).unwrap();
    let src = StoreSource::default();
    src.refresh(&store, &|_| {});
    let runs = |root: &Path, df: &Path| src.annotate(&store, root, df, "FROM a\nRUN x\n", 10).instructions[1].history.len();
    assert_eq!(runs(&ws, &df), 1);
    assert_eq!(runs(&other, &other.join("Dockerfile")), 0);
}

/// The index changes only when told: a record written without an event is not seen (no request stats
/// the store), and an invalidation of its path makes the next refresh read it (and only it).
#[test]
fn records_are_read_again_only_when_invalidated() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path().join("st"));
    let write = |log: &str| {
        let r = store.create_record(chrono::Utc::now()).unwrap();
        fs::write(r.log_path(), log).unwrap();
        r.write_meta(&RecordMeta::new(r.id.clone(), store::Source::Import, "2026-11-01T10:00:00Z".into())).unwrap();
        r
    };
    let df = dir.path().join("Dockerfile");
    let runs = |src: &StoreSource| src.annotate(&store, dir.path(), &df, "FROM a\nRUN x\n", 10).instructions[1].history.len();
    write("#5 [2/2] RUN x\n#5 DONE 1.0s\n");
    let src = StoreSource::default();
    let g1 = src.refresh(&store, &|_| {});
    assert_eq!(runs(&src), 1);
    let r2 = write("#5 [2/2] RUN x\n#5 DONE 2.0s\n");
    assert_eq!(src.refresh(&store, &|_| {}), g1, "no event, no re-read");
    assert_eq!(runs(&src), 1);
    assert!(!src.invalidate(&store, &[r2.summary_path()]));
    assert!(src.invalidate(&store, &[r2.log_path()]));
    let seen = std::cell::RefCell::new(Vec::new());
    let g2 = src.refresh(&store, &|e| seen.borrow_mut().push(e));
    assert_ne!(g2, g1);
    assert_eq!(runs(&src), 2);
    assert!(seen.borrow().is_empty(), "small logs report no progress");
    src.invalidate_all();
    assert_eq!(src.refresh(&store, &|_| {}), g2, "re-reading unchanged records keeps the generation");

    let noisy = StoreSource::with_progress_threshold(0);
    let seen = std::cell::RefCell::new(Vec::new());
    noisy.refresh(&store, &|e| seen.borrow_mut().push(e));
    let seen = seen.into_inner();
    assert!(matches!(seen.first(), Some(Indexing::Begin { records: 2, .. })), "{seen:?}");
    assert_eq!(seen.get(2), Some(&Indexing::Report { done: 2, records: 2 }));
    assert_eq!(seen.last(), Some(&Indexing::End));
}

//! Test helper of the commands' tests: a workspace whose store holds many records of one Dockerfile.

use std::path::PathBuf;

use crate::store::{RecordMeta, Source, Store};

/// A Dockerfile `FROM alpine:3.19` / `RUN make` and a store of one record per log of `logs` (oldest
/// first, a minute apart), each naming it. Returns the folder, the Dockerfile, the store and the ids.
pub fn store_of(logs: &[String]) -> (tempfile::TempDir, PathBuf, Store, Vec<String>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path().canonicalize().expect("its path");
    let dockerfile = root.join("Dockerfile");
    std::fs::write(&dockerfile, "FROM alpine:3.19\nRUN make\n").expect("the Dockerfile");
    let store = Store::at(root.join(".buildlens"));
    let mut ids = Vec::new();
    for (k, log) in logs.iter().enumerate() {
        let started =
            chrono::DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z").expect("a time").to_utc() + chrono::Duration::minutes(k as i64);
        let record = store.create_record(started).expect("a record");
        std::fs::write(record.log_path(), log).expect("its log");
        let mut meta = RecordMeta::new(record.id.clone(), Source::Import, started.to_rfc3339());
        meta.dockerfile = Some(dockerfile.clone());
        record.write_meta(&meta).expect("its meta");
        ids.push(record.id.clone());
    }
    (dir, dockerfile, store, ids)
}

/// A BuildKit plain build of `FROM alpine` and `RUN make`, `make` failing when `fails`.
pub fn make_log(fails: bool) -> String {
    let end = if fails { "ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2" } else { "DONE 2.0s" };
    format!(
        "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/alpine:3.19\n#2 CACHED\n\n\
         #3 [2/2] RUN make\n#3 {end}\n\n#4 exporting to image\n#4 DONE 0.1s\n"
    )
}

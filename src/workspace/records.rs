//! Every record of the store as the workspace reads it (`buildlens builds`): its metadata and its parsed
//! log (a live record's summary not cached), oldest first. Nothing is selected: which builds belong to a
//! Dockerfile is `select`'s.

use crate::log::ParsedLog;
use crate::store::{index, Record, RecordMeta, Store};

/// One record: its metadata and parsed log, each `None` when unreadable.
pub struct RecordRow {
    pub record: Record,
    pub meta: Option<RecordMeta>,
    pub parsed: Option<ParsedLog>,
}

/// The store's records, oldest first.
pub fn all(store: &Store) -> Vec<RecordRow> {
    let mut rows = Vec::new();
    for record in store.records() {
        let meta = record.meta().ok();
        let complete = meta.as_ref().is_none_or(|m| !m.is_live());
        let parsed = index::summary(&record, complete).ok().map(|(s, _)| s.parsed);
        rows.push(RecordRow { record, meta, parsed });
    }
    rows
}

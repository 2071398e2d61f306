//! Rendered answers, computed once per analysis and clock second: code lenses, inlay hints (the whole
//! document, filtered per request) and hover Markdown per instruction. The renderers stay pure
//! (`lenses`, `hints`, `hover`); this is only the memo around them, so a request that finds nothing
//! changed clones a cached answer instead of rendering again.
//!
//! The key is the analysis itself (the `Arc` of the workspace snapshot a document version + store
//! generation produced, see `Shared::snapshot`), the document version and the clock: truncated to the second while a step is
//! live (its lens counts the running time), else to the minute, the finest unit of "2h ago" (a title may
//! say "5m ago" up to a minute late; re-rendering every second was the codeLens p99).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tower_lsp_server::ls_types::{CodeLens, InlayHint, Range};

use crate::analysis::Annotated;

/// What identifies one rendering of a document.
#[derive(Clone)]
pub struct RenderKey {
    pub analysis: Arc<Annotated>,
    pub version: i32,
    pub second: i64,
}

impl RenderKey {
    pub fn new(analysis: &Arc<Annotated>, version: i32, now: DateTime<Utc>) -> RenderKey {
        let unit = if analysis.instructions.iter().any(|v| v.last.as_ref().is_some_and(|r| r.live)) { 1 } else { 60 };
        RenderKey { analysis: analysis.clone(), version, second: now.timestamp().div_euclid(unit) * unit }
    }

    fn same(&self, other: &RenderKey) -> bool {
        Arc::ptr_eq(&self.analysis, &other.analysis) && self.version == other.version && self.second == other.second
    }
}

/// The cached renderings of one open document (one key at a time: a new key drops the old answers).
pub struct Rendered {
    key: RenderKey,
    pub lenses: Option<Vec<CodeLens>>,
    /// The hints of the whole document.
    pub hints: Option<Vec<InlayHint>>,
    /// Hover Markdown by (instruction index, history depth).
    pub hovers: HashMap<(usize, usize), Option<String>>,
}

impl Rendered {
    fn new(key: RenderKey) -> Rendered {
        Rendered { key, lenses: None, hints: None, hovers: HashMap::new() }
    }
}

/// Per-document renderings.
#[derive(Default)]
pub struct Renders {
    docs: HashMap<tower_lsp_server::ls_types::Uri, Rendered>,
}

impl Renders {
    /// The cached value `slot` picks for `key`, if any.
    pub fn get<T: Clone>(
        &self,
        uri: &tower_lsp_server::ls_types::Uri,
        key: &RenderKey,
        slot: impl Fn(&Rendered) -> Option<T>,
    ) -> Option<T> {
        self.docs.get(uri).filter(|r| r.key.same(key)).and_then(slot)
    }

    /// Stores a value for `key` (dropping the renderings of an older key).
    pub fn put(&mut self, uri: &tower_lsp_server::ls_types::Uri, key: RenderKey, store: impl FnOnce(&mut Rendered)) {
        let r = self.docs.entry(uri.clone()).or_insert_with(|| Rendered::new(key.clone()));
        if !r.key.same(&key) {
            drop_later(std::mem::replace(r, Rendered::new(key)));
        }
        store(r);
    }

    pub fn forget(&mut self, uri: &tower_lsp_server::ls_types::Uri) {
        self.docs.remove(uri);
    }
}

/// Frees an old rendering off the request's path: it may hold the last reference to a whole analysis (an
/// instruction's history of runs, thousands of small allocations), which the caller's state lock and the
/// request that replaced it should not wait for. Inline when there is no runtime (tests).
fn drop_later(old: Rendered) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(move || drop(old));
        }
        Err(_) => drop(old),
    }
}

/// The whole-document range the hints are rendered for.
pub fn everything() -> Range {
    use tower_lsp_server::ls_types::Position;
    Range::new(Position::new(0, 0), Position::new(u32::MAX, 0))
}

/// The hints of `all` that `hints::hints` would give for `range` (they sit on their instruction's line).
pub fn hints_in(all: &[InlayHint], range: Range) -> Vec<InlayHint> {
    all.iter().filter(|h| range.start.line <= h.position.line && h.position.line <= range.end.line).cloned().collect()
}

impl std::fmt::Debug for Renders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Renders({} documents)", self.docs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: &Arc<Annotated>, version: i32, second: i64) -> RenderKey {
        RenderKey { analysis: a.clone(), version, second }
    }

    #[test]
    fn a_rendering_is_served_only_for_the_same_analysis_version_and_second() {
        let uri: tower_lsp_server::ls_types::Uri = "file:///ws/Dockerfile".parse().unwrap();
        let (a, b) = (Arc::new(Annotated::default()), Arc::new(Annotated::default()));
        let mut r = Renders::default();
        let lenses = |r: &Rendered| r.lenses.as_ref().map(Vec::len);
        assert_eq!(r.get(&uri, &key(&a, 1, 0), lenses), None);
        r.put(&uri, key(&a, 1, 0), |r| r.lenses = Some(Vec::new()));
        assert_eq!(r.get(&uri, &key(&a, 1, 0), lenses), Some(0));
        assert_eq!(r.get(&uri, &key(&b, 1, 0), lenses), None, "another analysis (equal, not the same)");
        assert_eq!(r.get(&uri, &key(&a, 2, 0), lenses), None);
        assert_eq!(r.get(&uri, &key(&a, 1, 1), lenses), None);
        r.put(&uri, key(&a, 1, 1), |r| r.hovers.insert((0, 10), None).map_or((), |_| ()));
        assert_eq!(r.get(&uri, &key(&a, 1, 1), lenses), None, "a new key drops the old answers");
        r.forget(&uri);
        assert_eq!(r.get(&uri, &key(&a, 1, 1), |r| Some(r.hovers.len())), None);
    }

    #[test]
    fn the_clock_counts_in_minutes_unless_a_step_is_live() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let (t1, t2, t3) = (at("2026-11-24T10:00:01Z"), at("2026-11-24T10:00:59Z"), at("2026-11-24T10:01:00Z"));
        let done = Arc::new(Annotated::default());
        assert!(RenderKey::new(&done, 1, t1).same(&RenderKey::new(&done, 1, t2)), "\"2h ago\" moves by the minute");
        assert!(!RenderKey::new(&done, 1, t2).same(&RenderKey::new(&done, 1, t3)));
        let run = crate::analysis::StepRun { live: true, ..serde_json::from_value(serde_json::json!({"build": "b", "started": null, "status": "running", "duration_ms": null, "cached": false, "exit_code": null, "error": null, "excerpt": [], "output": {"start": 0, "end": 0, "lines": 0}})).unwrap() };
        let view = crate::analysis::InstructionView {
            line: 1,
            end_line: 1,
            keyword: "RUN".into(),
            stage: None,
            last: Some(run),
            history: Vec::new(),
            changed_since_build: false,
            checks: Vec::new(),
        };
        let live = Arc::new(Annotated { instructions: vec![view], ..Annotated::default() });
        assert!(!RenderKey::new(&live, 1, t1).same(&RenderKey::new(&live, 1, t2)), "a running step's time moves by the second");
    }

    #[test]
    fn hints_are_filtered_by_line_like_the_renderer() {
        use tower_lsp_server::ls_types::{InlayHintLabel, Position};
        let hint = |line| InlayHint {
            position: Position::new(line, 3),
            label: InlayHintLabel::String("x".into()),
            kind: None,
            text_edits: None,
            tooltip: None,
            padding_left: None,
            padding_right: None,
            data: None,
        };
        let all = vec![hint(0), hint(4), hint(9)];
        let lines = |r: Range| hints_in(&all, r).iter().map(|h| h.position.line).collect::<Vec<_>>();
        assert_eq!(lines(everything()), vec![0, 4, 9]);
        assert_eq!(lines(Range::new(Position::new(4, 9), Position::new(9, 0))), vec![4, 9]);
        assert_eq!(lines(Range::new(Position::new(5, 0), Position::new(8, 99))), Vec::<u32>::new());
    }
}

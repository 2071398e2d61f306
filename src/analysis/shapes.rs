//! Mapping each distinct build shape once. Most records of one Dockerfile print the same steps (only
//! statuses, times and output differ), and the mapping reads nothing else: so a mapping is kept by
//! (fingerprint of the Dockerfile text, fingerprint of the steps' mapping inputs) and reused for every
//! build with that shape. Pure: the cache is the caller's value, not global state.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::dockerfile::Dockerfile;
use crate::log::Step;
use crate::mapping::{self, Mapping};

/// Most mappings kept; beyond it the cache starts over (shapes are few, so this is never reached in
/// normal use; it only bounds memory against a store of ever-different builds).
const MAX_ENTRIES: usize = 256;

/// Mappings by (Dockerfile fingerprint, steps fingerprint), and the similarities behind them
/// (`mapping::SimMemo`): a text with one instruction edited maps each shape again comparing only that
/// instruction with the steps.
#[derive(Debug)]
pub struct MappingCache {
    entries: HashMap<(u64, u64), Arc<Mapping>>,
    memo: mapping::SimMemo,
    /// The text `keep_only` last kept.
    kept: Option<u64>,
}

impl Default for MappingCache {
    fn default() -> Self {
        MappingCache { entries: HashMap::new(), memo: mapping::SimMemo::on(), kept: None }
    }
}

impl MappingCache {
    /// The mapping of `steps` onto `df` (fingerprint `df_print`, see `df_print`).
    pub fn map(&mut self, df: &Dockerfile, df_print: u64, steps: &[Step]) -> Arc<Mapping> {
        let key = (df_print, steps_print(steps));
        if let Some(m) = self.entries.get(&key) {
            return m.clone();
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        let m = Arc::new(mapping::map_steps_memo(df, steps, None, &mut self.memo));
        self.entries.insert(key, m.clone());
        m
    }

    /// The mapping kept under (`df_print`, `shape`), made by `make` on a miss (a mapping derived from
    /// others, e.g. `built::map`'s; `shape` must not collide with `steps_print` of plain mappings).
    pub fn map_with(&mut self, df_print: u64, shape: u64, make: impl FnOnce() -> Mapping) -> Arc<Mapping> {
        if let Some(m) = self.entries.get(&(df_print, shape)) {
            return m.clone();
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        let m = Arc::new(make());
        self.entries.insert((df_print, shape), m.clone());
        m
    }

    /// Forgets the mappings of any other Dockerfile text than `df_print` (the buffer moved on); when the
    /// text is another than the last one kept, also the similarities no mapping used since then (so those
    /// of the previous text, which the next mappings mostly reuse, stay; several calls per text, as an
    /// analysis and its prediction make, sweep once).
    pub fn keep_only(&mut self, df_print: u64) {
        self.entries.retain(|(d, _), _| *d == df_print);
        if self.kept != Some(df_print) {
            self.kept = Some(df_print);
            self.memo.sweep();
        }
    }

    /// Similarity columns kept (for tests).
    pub fn memo_len(&self) -> usize {
        self.memo.len()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Fingerprint of a Dockerfile's text (the parsed Dockerfile is a function of it).
pub fn text_print(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Fingerprint of what a mapping reads of a parsed Dockerfile: each instruction but its byte span and
/// original text (lines, keyword, joined text, stage, flags, form, heredocs) and the stages. Comments,
/// blank space inside a line and directives are not in it, so an edit of those keeps every mapping (a
/// keystroke there maps nothing again); an edit of an instruction or one that moves lines changes it.
pub fn df_print(df: &Dockerfile) -> u64 {
    use std::fmt::Write;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    df.instructions.len().hash(&mut h);
    for ins in &df.instructions {
        (ins.line, ins.end_line, &ins.keyword, &ins.onbuild, &ins.joined, ins.stage, ins.parsed).hash(&mut h);
        let _ = write!(HashWriter(&mut h), "{:?}{:?}{:?}", ins.flags, ins.form, ins.heredocs);
    }
    let _ = write!(HashWriter(&mut h), "{:?}", df.stages);
    h.finish()
}

/// Feeds formatted text into a hasher (no string is built).
struct HashWriter<'a, H: Hasher>(&'a mut H);

impl<H: Hasher> std::fmt::Write for HashWriter<'_, H> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// Fingerprint of what `mapping::map_steps` reads of each step: its name, stage, platform, service,
/// positions, printed instruction (and whether it may be cut) and the error block's lines. Statuses, times and
/// output are left out.
pub fn steps_print(steps: &[Step]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    steps.len().hash(&mut h);
    for s in steps {
        (&s.name, &s.stage, &s.platform, &s.service).hash(&mut h);
        (s.k, s.n, s.stage_index, &s.instruction, s.dockerfile_lines, s.clipped).hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::StepStatus;

    fn step(name: &str, k: u32) -> Step {
        let mut s = Step::named(name);
        s.k = Some(k);
        s.n = Some(2);
        s.instruction = name.split_once("] ").map(|(_, i)| i.to_string());
        s
    }

    #[test]
    fn the_shape_ignores_status_and_output_but_not_names_or_error_lines() {
        let a = vec![step("[1/2] FROM a", 1), step("[2/2] RUN x", 2)];
        let mut b = a.clone();
        b[1].status = StepStatus::Error;
        b[1].duration_ms = Some(5);
        b[1].excerpt = vec!["boom".into()];
        assert_eq!(steps_print(&a), steps_print(&b));
        b[1].dockerfile_lines = Some([2, 2]);
        assert_ne!(steps_print(&a), steps_print(&b));
        let mut c = a.clone();
        c[1].name = "[2/2] RUN y".into();
        assert_ne!(steps_print(&a), steps_print(&c));
        assert_ne!(steps_print(&a), steps_print(&a[..1]));
    }

    #[test]
    fn the_print_keeps_comments_blanks_and_spans_out_but_not_instructions_or_lines() {
        let print = |t: &str| df_print(&crate::dockerfile::parse(t));
        let base = print("# syntax=docker/dockerfile:1\nFROM a AS b\n# build it\nRUN make \\\n  all\n");
        assert_eq!(
            base,
            print(" # syntax=docker/dockerfile:1\nFROM a AS b\n# build it\nRUN make \\\n  all\n"),
            "a blank before a directive"
        );
        assert_eq!(base, print("# syntax=docker/dockerfile:1\nFROM a AS b\n# build it now\nRUN make \\\n  all\n"), "a comment");
        assert_ne!(base, print("# syntax=docker/dockerfile:1\nFROM a AS b\n# build it\nRUN make \\\n  alll\n"), "a continuation line");
        assert_ne!(base, print("# syntax=docker/dockerfile:1\nFROM a AS c\n# build it\nRUN make \\\n  all\n"), "a stage name");
        assert_ne!(base, print("# syntax=docker/dockerfile:1\n\nFROM a AS b\n# build it\nRUN make \\\n  all\n"), "lines moved");
    }

    #[test]
    fn an_edit_outside_the_instructions_maps_nothing_again() {
        let steps = vec![step("[1/2] FROM a", 1), step("[2/2] RUN x", 2)];
        let (before, after) = ("FROM a\n# one\nRUN x\n", "FROM a\n# two\nRUN x\n");
        let (df1, df2) = (crate::dockerfile::parse(before), crate::dockerfile::parse(after));
        let mut cache = MappingCache::default();
        let m1 = cache.map(&df1, df_print(&df1), &steps);
        let m2 = cache.map(&df2, df_print(&df2), &steps);
        assert!(Arc::ptr_eq(&m1, &m2));
        assert_eq!(*m2, mapping::map_steps(&df2, &steps), "the kept mapping is the one the new text gives");
    }

    #[test]
    fn a_second_keep_only_of_the_same_text_keeps_the_similarities_for_the_next_edit() {
        let steps = vec![step("[1/3] FROM a", 1), step("[2/3] RUN make one", 2), step("[3/3] RUN make two", 3)];
        steps.iter().for_each(|s| assert!(s.instruction.is_some()));
        let texts =
            ["FROM a\nRUN make one\nRUN make two\n", "FROM a\nRUN make onex\nRUN make two\n", "FROM a\nRUN make onexx\nRUN make two\n"];
        let mut cache = MappingCache::default();
        let mut columns = Vec::new();
        for text in texts {
            let df = crate::dockerfile::parse(text);
            let print = df_print(&df);
            cache.keep_only(print);
            let m = cache.map(&df, print, &steps);
            assert_eq!(*m, mapping::map_steps(&df, &steps), "{text:?}");
            cache.keep_only(print); // the prediction's call: no sweep
            columns.push(cache.memo_len());
        }
        // 3 columns for the first text; each edit adds the edited instruction's and drops the one two texts back.
        assert_eq!(columns, vec![3, 4, 4]);
    }

    #[test]
    fn one_mapping_per_shape_and_text() {
        let text = "FROM a\nRUN x\n";
        let df = crate::dockerfile::parse(text);
        let steps = vec![step("[1/2] FROM a", 1), step("[2/2] RUN x", 2)];
        let mut cache = MappingCache::default();
        let m1 = cache.map(&df, text_print(text), &steps);
        let m2 = cache.map(&df, text_print(text), &steps);
        assert!(Arc::ptr_eq(&m1, &m2));
        assert_eq!(*m1, mapping::map_steps(&df, &steps));
        let other = "FROM a\n\nRUN x\n";
        let m3 = cache.map(&crate::dockerfile::parse(other), text_print(other), &steps);
        assert_eq!(m3.steps[1].as_ref().map(|m| m.line), Some(3));
        assert_eq!(cache.len(), 2);
        cache.keep_only(text_print(other));
        assert_eq!(cache.len(), 1);
    }
}

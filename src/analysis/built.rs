//! Changed since a build, judged by the build's own Dockerfile where the record kept it (`inputs.json`):
//! the steps are mapped onto that snapshot as well, and an instruction counts as changed when today's
//! text differs from the snapshot's instruction the step ran (blanks collapsed, the keyword's case
//! ignored; variables are the same text on both sides, so an edit next to a `$VAR` shows). Without a
//! snapshot the printed text decides (`mapping::text`: wildcards for variables, prefixes only for names
//! the builder cut).

use std::sync::Arc;

use super::shapes::{self, MappingCache};
use crate::dockerfile::{self, Dockerfile, Instruction};
use crate::log::Step;
use crate::mapping::{self, Mapping};

/// The mapping of `steps` onto `df` (text fingerprint `df_print`), its `changed` flags taken from
/// `built` (the Dockerfile as built) when given. Both mappings go through `cache`, by shape.
pub fn map(df: &Dockerfile, df_print: u64, steps: &[Step], built: Option<&str>, cache: &mut MappingCache) -> Arc<Mapping> {
    let today = cache.map(df, df_print, steps);
    let Some(built) = built else { return today };
    let built_print = shapes::text_print(built);
    // Kept under today's text (dropped with it) and a shape that says which snapshot it used.
    let shape = shapes::steps_print(steps) ^ built_print.rotate_left(17);
    cache.map_with(df_print, shape, || {
        let snapshot = dockerfile::parse(built);
        let at_snapshot = mapping::map_steps(&snapshot, steps);
        refine(df, &today, &snapshot, &at_snapshot)
    })
}

/// `today` with each step's `changed` set by comparing its instruction today with the one it ran in the
/// snapshot. Steps the snapshot mapping did not place keep the printed text's verdict.
fn refine(df: &Dockerfile, today: &Mapping, snapshot: &Dockerfile, at_snapshot: &Mapping) -> Mapping {
    let mut out = today.clone();
    for (slot, built) in out.steps.iter_mut().zip(&at_snapshot.steps) {
        let (Some(m), Some(b)) = (slot.as_mut(), built.as_ref()) else { continue };
        let (Some(now), Some(then)) = (df.instructions.get(m.instruction), snapshot.instructions.get(b.instruction)) else {
            continue;
        };
        m.changed = !same_text(now, then);
    }
    out
}

/// The same instruction text: keyword (any case) and arguments with blanks collapsed.
fn same_text(a: &Instruction, b: &Instruction) -> bool {
    a.keyword.eq_ignore_ascii_case(&b.keyword) && a.args().split_whitespace().eq(b.args().split_whitespace())
}

#[cfg(test)]
#[path = "built_tests.rs"]
mod tests;

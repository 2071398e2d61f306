//! What `explain` reads of a Dockerfile's builds, one rule for the server's hover and `buildlens explain`:
//! the builds advice looks at (the explained one and the `RECENT_BUILDS` before it), each with its
//! record's command line, and `inputs.json` (a context manifest can be megabytes) only of the pair it
//! compares: the explained build and the one before it, or the build `--from` names.

use std::ops::Range;

use crate::analysis::advice::RECENT_BUILDS;
use crate::analysis::inputs::BuildFacts;

/// The builds (indices, oldest first) explain reads to explain the one at `to`.
pub fn window(to: usize) -> Range<usize> {
    to.saturating_sub(RECENT_BUILDS)..to.saturating_add(1)
}

/// Whether explain reads the `inputs.json` of the build at `i` when it explains the one at `to` against
/// `from` (the explanation compares their file lists and Dockerfile snapshots) and the one before `to`
/// (the latest pair, whose explanation the advice counts with the others').
pub fn reads_inputs(i: usize, to: usize, from: Option<usize>) -> bool {
    i == to || i.saturating_add(1) == to || Some(i) == from
}

/// The facts of the builds of `window(to)`, oldest first, each read by `read(index, with_inputs)`.
pub fn facts(to: usize, from: Option<usize>, read: &mut dyn FnMut(usize, bool) -> BuildFacts) -> Vec<BuildFacts> {
    window(to).map(|i| read(i, reads_inputs(i, to, from))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_reads_the_recent_builds_and_the_inputs_of_the_compared_pair_only() {
        assert_eq!(window(0), 0..1);
        assert_eq!(window(3), 0..4);
        assert_eq!(window(30), 30 - RECENT_BUILDS..31);
        let read: Vec<usize> = (0..=30).filter(|&i| reads_inputs(i, 30, None)).collect();
        assert_eq!(read, [29, 30], "the latest and the one before it");
        let read: Vec<usize> = (0..=30).filter(|&i| reads_inputs(i, 30, Some(4))).collect();
        assert_eq!(read, [4, 29, 30], "and the build --from names");
        let mut asked = Vec::new();
        let facts = facts(12, None, &mut |i, inputs| {
            asked.push((i, inputs));
            BuildFacts::default()
        });
        assert_eq!(facts.len(), RECENT_BUILDS + 1);
        assert_eq!(asked.first(), Some(&(12 - RECENT_BUILDS, false)));
        assert_eq!(asked.iter().filter(|(_, inputs)| *inputs).map(|(i, _)| *i).collect::<Vec<_>>(), [11, 12]);
    }
}

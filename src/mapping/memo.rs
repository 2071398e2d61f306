//! Similarities kept between mappings of one build shape: an edit changes one instruction, so a new
//! mapping of the same steps onto the edited text compares only that instruction's column again.
//!
//! A column is the similarity of every recorded step of a group (in order) with one instruction; it is a
//! function of the steps' texts (and `clipped`) and of what `text::InsText` reads of the instruction
//! (keyword, arguments, heredoc summary). Columns are kept by a fingerprint of each side, sparse (most
//! pairs are `Sim::NONE`), and dropped when a sweep finds them unused since the previous sweep.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::text::{Sim, SimKind};
use crate::dockerfile::Instruction;

/// A recorded step: its index in `Build.steps`, its position `k`, its instruction text.
#[derive(Debug, Clone)]
pub(super) struct Rec {
    pub step: usize,
    pub k: u32,
    pub text: String,
    /// The builder may have cut the text (`Step::clipped`).
    pub clipped: bool,
}

/// Most non-empty cells kept; beyond it the memo starts over (only bounds memory against ever-different
/// texts: a sweep per analysis keeps it to the columns of the current text).
const MAX_CELLS: usize = 200_000;

/// One non-`NONE` similarity of a column: the step's position in the group and the similarity.
#[derive(Debug, Clone, Copy)]
struct Cell {
    score: f64,
    row: u32,
    kind: SimKind,
}

#[derive(Debug)]
struct Column {
    cells: Box<[Cell]>,
    /// Read or written since the last sweep.
    used: bool,
}

/// Columns by (fingerprint of the group's step texts, fingerprint of the instruction). An `off` memo
/// (the default) keeps nothing: `align` then compares every pair, as without a memo.
#[derive(Debug, Default)]
pub struct SimMemo {
    on: bool,
    columns: HashMap<(u64, u64), Column>,
    cells: usize,
}

impl SimMemo {
    /// A memo that keeps columns.
    pub fn on() -> SimMemo {
        SimMemo { on: true, ..SimMemo::default() }
    }

    pub(super) fn is_on(&self) -> bool {
        self.on
    }

    /// Drops the columns not used since the previous sweep (the text moved on) and marks the rest unused.
    pub fn sweep(&mut self) {
        self.columns.retain(|_, c| std::mem::take(&mut c.used));
        self.cells = self.columns.values().map(|c| c.cells.len()).sum();
    }

    /// Columns kept (for tests).
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The kept column of (`rows`, `ins`) written into `out` (one entry per row, `NONE` where no cell is kept).
    pub(super) fn read(&mut self, rows: u64, ins: u64, out: &mut [Sim]) -> bool {
        let Some(col) = self.columns.get_mut(&(rows, ins)) else { return false };
        col.used = true;
        out.fill(Sim::NONE);
        for c in col.cells.iter() {
            if let Some(slot) = out.get_mut(c.row as usize) {
                *slot = Sim { score: c.score, kind: c.kind };
            }
        }
        true
    }

    /// Keeps the column `sims` of (`rows`, `ins`).
    pub(super) fn write(&mut self, rows: u64, ins: u64, sims: &[Sim]) {
        let cells: Box<[Cell]> = sims
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind != SimKind::None)
            .filter_map(|(row, s)| Some(Cell { score: s.score, row: u32::try_from(row).ok()?, kind: s.kind }))
            .collect();
        if self.cells.saturating_add(cells.len()) > MAX_CELLS {
            self.columns.clear();
            self.cells = 0;
        }
        self.cells += cells.len();
        if let Some(old) = self.columns.insert((rows, ins), Column { cells, used: true }) {
            self.cells = self.cells.saturating_sub(old.cells.len());
        }
    }
}

/// Fingerprint of the steps' texts of a group, in order (what `text::StepText` reads of each).
pub(super) fn rows_print(recs: &[Rec]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    recs.len().hash(&mut h);
    for r in recs {
        (&r.text, r.clipped).hash(&mut h);
    }
    h.finish()
}

/// Fingerprint of what `text::InsText` reads of an instruction.
pub(super) fn instruction_print(ins: &Instruction) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&ins.keyword, ins.args(), ins.heredoc_name_suffix()).hash(&mut h);
    h.finish()
}

#[cfg(test)]
#[path = "memo_tests.rs"]
mod tests;

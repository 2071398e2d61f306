//! Aligns a build's recorded steps (one stage, in `k` order) with today's instructions of a stage.
//!
//! The Dockerfile may have changed since the build: lines inserted above move everything, an edited
//! instruction no longer matches its old text. A weighted LCS over text similarity keeps the order and
//! follows moved lines; gaps between anchors of equal size (in `k` and in instructions) pair up their
//! same-keyword members as "edited since the build".

pub(super) use super::memo::Rec;
use super::memo::{self, SimMemo};
use super::text::{self, Sim, SimKind};
use crate::dockerfile::Dockerfile;

/// One aligned pair: `recs[pos]` ↔ instruction `seq[j]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pair {
    pub pos: usize,
    pub j: usize,
    pub sim: Sim,
    /// Paired by position inside a gap, not by text.
    pub filled: bool,
}

/// Most DP cells one alignment may use (both sides are instruction lists, normally tens of entries).
const MAX_CELLS: usize = 4_000_000;
/// Bonus that prefers the pair at the recorded position among equally good ones (repeated instructions).
const AT_POSITION: f64 = 0.001;
/// Largest gap paired by position: beyond that, "edited" is a guess.
const MAX_GAP: usize = 3;

/// Aligns `recs` (sorted by `k`) with the instructions `seq`; `n` is the recorded step total, if known.
/// Similarities come from `memo` where it kept them (the same values: see `memo`).
pub(super) fn align(df: &Dockerfile, recs: &[Rec], seq: &[usize], n: Option<u32>, memo: &mut SimMemo) -> Vec<Pair> {
    let sims = if memo.is_on() { similarities_memo(df, recs, seq, memo) } else { similarities(df, recs, seq) };
    let mut pairs = lcs(recs, &sims, seq.len());
    fill_gaps(df, recs, seq, n, &mut pairs);
    pairs
}

/// `sims[i][j]`: step `i` against instruction `seq[j]`; empty when the table would be too large.
fn similarities(df: &Dockerfile, recs: &[Rec], seq: &[usize]) -> Vec<Vec<Sim>> {
    if recs.len().saturating_mul(seq.len()) > MAX_CELLS {
        return Vec::new();
    }
    let steps: Vec<text::StepText> = recs.iter().map(|r| text::StepText::new(&r.text, r.clipped)).collect();
    let instructions: Vec<Option<text::InsText>> = seq.iter().map(|&i| df.instructions.get(i).map(text::InsText::new)).collect();
    steps
        .iter()
        .map(|s| instructions.iter().map(|ins| ins.as_ref().map_or(Sim::NONE, |ins| text::compare_prepared(s, ins))).collect())
        .collect()
}

/// `similarities`, reading the columns `memo` kept and computing (and keeping) only the others.
fn similarities_memo(df: &Dockerfile, recs: &[Rec], seq: &[usize], memo: &mut SimMemo) -> Vec<Vec<Sim>> {
    if recs.len().saturating_mul(seq.len()) > MAX_CELLS {
        return Vec::new();
    }
    let rows = memo::rows_print(recs);
    let mut table = vec![vec![Sim::NONE; seq.len()]; recs.len()];
    let mut steps: Option<Vec<text::StepText>> = None;
    let mut column = vec![Sim::NONE; recs.len()];
    for (j, &i) in seq.iter().enumerate() {
        let Some(ins) = df.instructions.get(i) else { continue };
        let key = memo::instruction_print(ins);
        if !memo.read(rows, key, &mut column) {
            let steps = steps.get_or_insert_with(|| recs.iter().map(|r| text::StepText::new(&r.text, r.clipped)).collect());
            let prepared = text::InsText::new(ins);
            for (slot, s) in column.iter_mut().zip(steps.iter()) {
                *slot = text::compare_prepared(s, &prepared);
            }
            memo.write(rows, key, &column);
        }
        for (row, sim) in table.iter_mut().zip(&column) {
            if let Some(cell) = row.get_mut(j) {
                *cell = *sim;
            }
        }
    }
    table
}

/// Weighted longest common subsequence over the similarity table.
fn lcs(recs: &[Rec], sims: &[Vec<Sim>], p: usize) -> Vec<Pair> {
    let m = sims.len();
    if m == 0 {
        return Vec::new();
    }
    let weight = |i: usize, j: usize| -> f64 {
        let s = sims.get(i).and_then(|row| row.get(j)).copied().unwrap_or(Sim::NONE);
        if s.kind == SimKind::None {
            return 0.0;
        }
        let at = recs.get(i).is_some_and(|r| r.k as usize == j + 1);
        s.score + if at { AT_POSITION } else { 0.0 }
    };
    let w = p + 1;
    let mut d = vec![0.0f64; (m + 1) * w];
    for i in 1..=m {
        for j in 1..=p {
            let take = weight(i - 1, j - 1);
            let diag = if take > 0.0 { d[(i - 1) * w + j - 1] + take } else { 0.0 };
            d[i * w + j] = d[(i - 1) * w + j].max(d[i * w + j - 1]).max(diag);
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (m, p);
    while i > 0 && j > 0 {
        let take = weight(i - 1, j - 1);
        if take > 0.0 && (d[i * w + j] - (d[(i - 1) * w + j - 1] + take)).abs() < 1e-9 {
            let sim = sims.get(i - 1).and_then(|row| row.get(j - 1)).copied().unwrap_or(Sim::NONE);
            out.push(Pair { pos: i - 1, j: j - 1, sim, filled: false });
            i -= 1;
            j -= 1;
        } else if d[(i - 1) * w + j] >= d[i * w + j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    out.reverse();
    out
}

/// Pairs the unmatched steps of a gap between two anchors with the gap's instructions, as "edited since
/// the build". When the gap spans as many `k` as instructions, by position; otherwise only a step whose
/// keyword occurs once among the gap's steps and once among its instructions. Gaps must be small and
/// touch at least one real text match.
fn fill_gaps(df: &Dockerfile, recs: &[Rec], seq: &[usize], n: Option<u32>, pairs: &mut Vec<Pair>) {
    if pairs.iter().all(|p| !p.sim.same()) {
        return; // nothing anchors this alignment in today's text
    }
    // Anchors as (k, j, real) with virtual ones before the first and after the last step.
    let mut anchors: Vec<(i64, i64, bool)> = vec![(0, -1, false)];
    anchors.extend(pairs.iter().filter_map(|p| recs.get(p.pos).map(|r| (i64::from(r.k), p.j as i64, p.sim.same()))));
    anchors.push(match n {
        Some(n) => (i64::from(n) + 1, seq.len() as i64, false),
        None => (i64::MAX, seq.len() as i64, false),
    });
    let mut extra = Vec::new();
    for win in anchors.windows(2) {
        let [(ka, ja, ra), (kb, jb, rb)] = [win[0], win[1]];
        let gap: Vec<(usize, i64, String)> = recs
            .iter()
            .enumerate()
            .filter(|(pos, r)| i64::from(r.k) > ka && i64::from(r.k) < kb && !pairs.iter().any(|p| p.pos == *pos))
            .map(|(pos, r)| (pos, i64::from(r.k), text::keyword_and_args(&r.text).0))
            .collect();
        let instrs: Vec<(i64, &str)> =
            (ja + 1..jb).filter_map(|j| Some((j, df.instructions.get(*seq.get(usize::try_from(j).ok()?)?)?.keyword.as_str()))).collect();
        if gap.is_empty() || gap.len() > MAX_GAP || instrs.len() > 2 * MAX_GAP || !(ra || rb) {
            continue;
        }
        let same_span = kb - ka == jb - ja;
        let mut last_j = ja;
        for (pos, k, keyword) in &gap {
            let j = if same_span {
                Some(ja + (k - ka)).filter(|j| instrs.iter().any(|(x, kw)| x == j && kw == keyword))
            } else {
                unique_keyword(&gap, &instrs, keyword)
            };
            if let Some(j) = j.filter(|j| *j > last_j) {
                last_j = j;
                extra.push(Pair { pos: *pos, j: j as usize, sim: Sim { score: 0.6, kind: SimKind::Similar }, filled: true });
            }
        }
    }
    pairs.extend(extra);
    pairs.sort_by_key(|p| p.pos);
}

/// The gap instruction with `keyword`, when the keyword occurs once among the gap's steps and instructions.
fn unique_keyword(gap: &[(usize, i64, String)], instrs: &[(i64, &str)], keyword: &str) -> Option<i64> {
    let steps = gap.iter().filter(|g| g.2 == keyword).count();
    let mut found = instrs.iter().filter(|(_, kw)| *kw == keyword);
    match (steps, found.next(), found.next()) {
        (1, Some((j, _)), None) => Some(*j),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile;

    /// Aligns `(k, text)` steps with every instruction of `dockerfile`; returns (k, 1-based line, filled).
    fn check(dockerfile: &str, steps: &[(u32, &str)], n: u32, expect: &[(u32, u32, bool)]) {
        let df = dockerfile::parse(dockerfile);
        let recs: Vec<Rec> =
            steps.iter().enumerate().map(|(i, (k, t))| Rec { step: i, k: *k, text: t.to_string(), clipped: false }).collect();
        let seq: Vec<usize> = (0..df.instructions.len()).collect();
        let got: Vec<(u32, u32, bool)> = align(&df, &recs, &seq, Some(n), &mut SimMemo::default())
            .iter()
            .map(|p| (recs[p.pos].k, df.instructions[seq[p.j]].line, p.filled))
            .collect();
        assert_eq!(got, expect, "{dockerfile:?}");
    }

    #[test]
    fn alignments() {
        let steps = [(1, "FROM a"), (2, "RUN one"), (3, "RUN two")];
        check("FROM a\nRUN one\nRUN two", &steps, 3, &[(1, 1, false), (2, 2, false), (3, 3, false)]);
        check("FROM a\nRUN new\nRUN one\nRUN two", &steps, 3, &[(1, 1, false), (2, 3, false), (3, 4, false)]);
        check("FROM a\nRUN changed\nRUN two", &steps, 3, &[(1, 1, false), (2, 2, true), (3, 3, false)]);
        check("FROM a\nRUN two", &steps, 3, &[(1, 1, false), (3, 2, false)]);
        check("FROM a\nRUN one\nRUN changed", &steps, 3, &[(1, 1, false), (2, 2, false), (3, 3, true)]);
        check("FROM a\nCOPY new .\nRUN changed\nRUN two", &steps, 3, &[(1, 1, false), (2, 3, true), (3, 4, false)]);
        check("FROM a\nRUN new\nRUN changed\nRUN two", &steps, 3, &[(1, 1, false), (3, 4, false)]);
        check("FROM b\nCOPY x y\nCOPY z w", &steps, 3, &[]);
        check(
            "FROM a\nRUN one\nRUN one\nRUN two",
            &[(1, "FROM a"), (3, "RUN one"), (4, "RUN two")],
            4,
            &[(1, 1, false), (3, 3, false), (4, 4, false)],
        );
    }
}

//! How the demultiplexer (`demux`) picks a build when the scores leave several, and the problems that
//! say a line was placed by a guess.

use super::{Demux, GUESSED, MAX_TWIN_CHECK};
use crate::log::model::{Build, Problem};

impl Demux {
    /// The best scored build; a tie between builds that differ is a guess, remembered on the build.
    pub(super) fn pick(&mut self, scores: &[Option<u32>], n: Option<u32>, offset: u64) -> usize {
        self.pick_woken(scores, &[], n, offset)
    }

    /// `pick`, where a dormant build takes only what no other build can take, unless `woken` says the
    /// line names its stage or base image.
    pub(super) fn pick_woken(&mut self, scores: &[Option<u32>], woken: &[bool], n: Option<u32>, offset: u64) -> usize {
        let awake = |i: usize| self.members.get(i).is_some_and(|m| !m.dormant) || woken.get(i) == Some(&true);
        let scores: Vec<Option<u32>> = if scores.iter().enumerate().any(|(i, s)| s.is_some() && awake(i)) {
            scores.iter().enumerate().map(|(i, s)| s.filter(|_| awake(i))).collect()
        } else {
            scores.to_vec()
        };
        let best = scores.iter().flatten().max().copied();
        let mut tied: Vec<usize> = match best {
            Some(best) => scores.iter().enumerate().filter(|(_, s)| **s == Some(best)).map(|(i, _)| i).collect(),
            None => (0..self.members.len()).filter(|&i| self.members.get(i).is_some_and(|m| !m.parser.has_ended())).collect(),
        };
        if tied.iter().any(|&i| self.members.get(i).is_some_and(|m| !m.dormant)) {
            tied.retain(|&i| self.members.get(i).is_some_and(|m| !m.dormant));
        }
        let Some(&first) = tied.first() else {
            return self.last;
        };
        if tied.len() == 1 && best.is_some() {
            return first;
        }
        if best.is_some() && self.twins(&tied) {
            return first;
        }
        let chosen = if tied.contains(&self.last) { self.last } else { first };
        for &i in &tied {
            if let Some(member) = self.members.get_mut(i) {
                member.guess(offset, n);
            }
        }
        chosen
    }

    /// Builds that printed the same vertexes under the same numbers so far.
    fn twins(&self, which: &[usize]) -> bool {
        let mut members = which.iter().filter_map(|&i| self.members.get(i));
        let Some(first) = members.next() else {
            return true;
        };
        let max = first.parser.max_vertex();
        max <= MAX_TWIN_CHECK
            && members.all(|m| {
                m.parser.max_vertex() == max
                    && (1..=max).all(|v| m.parser.vertex(v).map(|s| &s.name) == first.parser.vertex(v).map(|s| &s.name))
            })
    }

    /// One problem per build that took, or may have lost, lines by a guess that could matter: another build had no
    /// vertex of that number, or one of another name.
    pub(super) fn guess_problems(&self) -> Vec<Option<Problem>> {
        self.members
            .iter()
            .enumerate()
            .map(|(i, member)| {
                let doubtful: Vec<&(u64, Option<u32>)> = member.guesses.iter().filter(|(_, n)| !self.alike_elsewhere(i, *n)).collect();
                let &&(offset, n) = doubtful.first()?;
                let vertex = n.map_or_else(|| "a masked vertex (#***)".to_string(), |n| format!("vertex #{n}"));
                let more = u64::from(member.guessed).saturating_sub(member.guesses.len() as u64);
                let count = doubtful.len() as u64 + more;
                Some(Problem::at(
                    offset,
                    format!(
                        "{} builds were printed interleaved with the same vertex numbers; {count} line(s) {GUESSED} that involved this build, the first here ({vertex})",
                        self.members.len()
                    ),
                ))
            })
            .collect()
    }

    /// Every other build printed vertex `n` under the same name as build `i`.
    fn alike_elsewhere(&self, i: usize, n: Option<u32>) -> bool {
        let Some(n) = n else { return false };
        let name = self.members.get(i).and_then(|m| m.parser.vertex(n)).map(|s| &s.name);
        name.is_some() && self.members.iter().enumerate().all(|(j, m)| j == i || m.parser.vertex(n).map(|s| &s.name) == name)
    }
}

/// Puts the guess problems on the builds and leaves out builds that read nothing but their
/// `#0 building with …` line, when another build has something.
pub(super) fn settle(builds: Vec<Build>, problems: Vec<Option<Problem>>) -> Vec<Build> {
    let some_full = builds.iter().any(|b| !b.steps.is_empty());
    builds
        .into_iter()
        .zip(problems.into_iter().chain(std::iter::repeat(None)))
        .filter(|(b, _)| !some_full || !b.steps.is_empty() || b.error.is_some())
        .map(|(mut b, problem)| {
            b.problems.extend(problem);
            b
        })
        .collect()
}

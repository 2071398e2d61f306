//! Several BuildKit plain builds printed into one stream at once (a CI script's `docker build a &
//! docker build b & wait`): each build numbers its vertexes from `#1`, so one `#n` names a vertex in
//! every build. One `buildkit_plain::Parser` per build; this router gives each line to its build.
//!
//! What tells the builds apart (`../shared/docs/log-formats.md` §2.1): a build's printer prints a header
//! only when its vertex becomes the current one, and every other `#n` line belongs to the current vertex,
//! which stays current until its DONE/CACHED/ERROR/CANCELED or `...`; a vertex new to a build takes the
//! build's next number (v0.10+); one stage of one build has one `n` in `[stage k/n]`, and no two vertexes
//! of one build carry the same `[stage k/n]`. When that leaves several builds, the line goes to the
//! likeliest and that build says so in `problems`, unless the builds were alike up to there (two builds
//! printing the same `[internal]` vertexes in lockstep), where the choice changes nothing.
//!
//! A log with one build, the common case, pays one digit scan per line over the parser alone.

/// Words of the problem a build gets when lines of builds printed side by side were placed by a guess
/// (the analysis repeats such problems where a user reads them).
pub const GUESSED: &str = "were placed by a guess";
use serde::{Deserialize, Serialize};

use super::buildkit_plain::{split_vertex, Parser};
use super::error_block::seconds_end;
use super::line::{End, Fed, Line};
use super::model::{Build, StepStatus};
use super::output::text;
use super::prefix::Held;
use super::run::Run;
use super::step_name;
use evidence::{failed_command, runs_command};
use fit::{header_score, status_score};
use lines::{is_bracketed, is_desc, is_digest, is_status, is_terminal, masked};

/// Builds read side by side at most; one more starts afresh (every open one is closed).
const MAX_BUILDS: usize = 8;
/// Guessed lines remembered per build (they are counted beyond).
const MAX_GUESSES: usize = 16;
/// Builds with more vertexes than this are not compared vertex by vertex.
const MAX_TWIN_CHECK: u32 = 512;

/// The plain builds of one stream that are still being read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Demux {
    members: Vec<Member>,
    /// The build that took the last `#` line.
    last: usize,
    /// The build that took the last `#***` header (a vertex number hidden by CI secret masking).
    masked: Option<usize>,
    /// A header whose build the next line (a v0.8 vertex digest) may tell.
    #[serde(default)]
    held: Option<Held>,
}

/// One build and what routing needs to know about its printer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    parser: Parser,
    /// The vertex being printed: every `#n` line of this build but a header belongs to it.
    current: Option<u32>,
    /// It printed its `#0 building with …` line.
    headed: bool,
    /// Another build started while this one had nothing running: it may have been over (a build
    /// without an export, `[internal] booting buildkit`), so it takes only lines no other build can
    /// take or headers of its own stages and base images, until it takes a `#` line again.
    #[serde(default)]
    dormant: bool,
    /// Offset of its last `#n ERROR` line: its failure report may follow.
    failed_at: Option<u64>,
    /// Lines given to it by a guess: offset and vertex number (`None`: masked), the first few.
    guesses: Vec<(u64, Option<u32>)>,
    guessed: u32,
}

impl Member {
    fn new(line: &Line<'_>) -> Member {
        Member { parser: Parser::new(line), current: None, headed: false, dormant: false, failed_at: None, guesses: Vec::new(), guessed: 0 }
    }

    fn feed(&mut self, line: &Line<'_>) -> Fed {
        let fed = self.parser.feed(line);
        if line.text.first() == Some(&b'#') {
            if let Some((n, rest)) = split_vertex(line.text) {
                self.track(n, rest, line.start);
            }
        }
        fed
    }

    /// A v0.8 header of a vertex this build printed with its digest: held back, as the next line (the
    /// digest) may say it is another build's vertex of that number.
    fn reprints(&self, text: &[u8]) -> bool {
        if text.first() != Some(&b'#') || !self.parser.is_v08() || self.parser.is_over() {
            return false;
        }
        // Output lines (`#5 0.123 …`), the most of a log, are never headers: no lookup for them.
        split_vertex(text).is_some_and(|(n, rest)| {
            seconds_end(rest).is_none() && self.parser.vertex(n).is_some_and(|s| s.digest.is_some() && s.name.as_bytes() == rest)
        })
    }

    /// Its vertex `n` was printed with a digest other than `digest`.
    fn other_digest(&self, n: u32, digest: &[u8]) -> bool {
        self.parser.vertex(n).and_then(|s| s.digest.as_deref()).is_some_and(|mine| mine.as_bytes() != digest)
    }

    /// Follows the printer's current vertex.
    fn track(&mut self, n: u32, rest: &[u8], offset: u64) {
        if n == 0 {
            self.headed |= is_desc(rest);
            return;
        }
        if is_digest(rest) {
            return;
        }
        if is_terminal(rest) {
            self.current = None;
            if rest.starts_with(b"ERROR") {
                self.failed_at = Some(offset);
            }
        } else {
            self.current = Some(n);
        }
    }

    fn guess(&mut self, offset: u64, n: Option<u32>) {
        self.guessed = self.guessed.saturating_add(1);
        if self.guesses.len() < MAX_GUESSES {
            self.guesses.push((offset, n));
        }
    }
}

impl Demux {
    /// Routing for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Demux {
        Demux { members: vec![Member::new(line)], last: 0, masked: None, held: None }
    }

    pub fn feed(&mut self, line: &Line<'_>) -> Fed {
        if let Some(held) = self.held.take() {
            self.release(&held, line);
        }
        if let [only] = self.members.as_mut_slice() {
            if only.reprints(line.text) && !starts_beside(only, line.text) {
                self.held = Some(Held::new(line));
                return Fed::Taken;
            }
            if !starts_beside(only, line.text) {
                return only.feed(line);
            }
            return self.spawn(line);
        }
        self.route(line)
    }

    /// A run of output lines of one vertex: read at once when one build is open and holds no header
    /// (with two or more, each line is routed on its own).
    pub fn output_run(&mut self, run: &Run<'_>) -> bool {
        let [only] = self.members.as_mut_slice() else { return false };
        if self.held.is_some() || !only.parser.output_run(run) {
            return false;
        }
        only.current = Some(run.n);
        true
    }

    /// The builds as they stand.
    pub fn snapshot(&self) -> Vec<Build> {
        if let Some(held) = &self.held {
            let mut settled = self.clone();
            settled.held = None;
            settled.release_alone(held);
            return settled.snapshot();
        }
        let problems = self.guess_problems();
        let builds = self.members.iter().map(|m| m.parser.snapshot()).collect();
        settle(builds, problems)
    }

    pub fn finish(mut self, end: End) -> Vec<Build> {
        if let Some(held) = self.held.take() {
            self.release_alone(&held);
        }
        let problems = self.guess_problems();
        let builds = self.members.into_iter().map(|m| m.parser.finish(end)).collect();
        settle(builds, problems)
    }

    /// Another build starts beside the open ones.
    fn spawn(&mut self, line: &Line<'_>) -> Fed {
        if self.members.len() >= MAX_BUILDS {
            return Fed::NewBuild;
        }
        for member in &mut self.members {
            member.dormant |= member.parser.may_be_over();
        }
        let mut member = Member::new(line);
        member.feed(line);
        self.members.push(member);
        self.last = self.members.len() - 1;
        Fed::Taken
    }

    fn route(&mut self, line: &Line<'_>) -> Fed {
        self.sync();
        let target = if let Some((n, rest)) = split_vertex(line.text) {
            if n <= 1 && self.starts_build(n, rest) {
                if self.members.iter().all(|m| m.parser.is_over()) {
                    return Fed::NewBuild;
                }
                return self.spawn(line);
            }
            if n == 0 {
                self.last
            } else if self.holds(n, rest) {
                self.held = Some(Held::new(line));
                return Fed::Taken;
            } else {
                self.vertex_target(n, rest, line.start, None)
            }
        } else if let Some(rest) = masked(line.text) {
            self.masked_target(rest, line.start)
        } else {
            return self.other_line(line);
        };
        self.give(target, line)
    }

    fn give(&mut self, i: usize, line: &Line<'_>) -> Fed {
        let Some(member) = self.members.get_mut(i) else {
            return Fed::Ignored;
        };
        match member.feed(line) {
            Fed::NewBuild => self.spawn(line),
            fed => {
                member.dormant = false;
                self.last = i;
                fed
            }
        }
    }

    /// `#0 building with …`, or a `#1 [..]` header no open build can take.
    fn starts_build(&self, n: u32, rest: &[u8]) -> bool {
        if n == 0 {
            return is_desc(rest);
        }
        is_bracketed(rest)
            && !self.members.iter().any(|m| {
                !m.parser.is_over()
                    && match m.parser.vertex(1) {
                        None => true,
                        Some(first) => first.name.as_bytes().starts_with(rest) && m.current != Some(1),
                    }
            })
    }

    /// Whether a line is a header of vertex `n` (not its output or state).
    fn is_header(&self, n: u32, rest: &[u8]) -> bool {
        let output = seconds_end(rest).is_some() || is_status(rest);
        !output
            && (is_bracketed(rest)
                || !self.members.iter().any(|m| m.current == Some(n))
                || self.members.iter().any(|m| m.parser.vertex(n).is_some_and(|s| s.name.as_bytes() == rest)))
    }

    /// Whether to hold a header back for one line: v0.8 prints the vertex digest next, and more than one
    /// build could take it.
    fn holds(&self, n: u32, rest: &[u8]) -> bool {
        if !self.members.iter().any(|m| m.parser.is_v08()) || !self.is_header(n, rest) {
            return false;
        }
        let name = step_name::parse(&text(rest));
        self.members.iter().filter(|m| header_score(m, n, rest, &name).is_some()).count() > 1
    }

    /// Gives a held header to its build, told by `next` when that is its vertex digest.
    fn release(&mut self, held: &Held, next: &Line<'_>) {
        let line = held.line();
        let digest = split_vertex(line.text)
            .and_then(|(n, _)| split_vertex(next.text).filter(|&(m, rest)| m == n && is_digest(rest)).map(|(_, rest)| rest));
        self.release_with(&line, digest);
    }

    fn release_alone(&mut self, held: &Held) {
        self.release_with(&held.line(), None);
    }

    fn release_with(&mut self, line: &Line<'_>, digest: Option<&[u8]>) {
        let Some((n, rest)) = split_vertex(line.text) else { return };
        if let [only] = self.members.as_mut_slice() {
            // The only build printed vertex `n` with another digest: this header is another build's.
            if digest.is_some_and(|d| only.other_digest(n, d)) {
                self.spawn(line);
            } else {
                only.feed(line);
            }
            return;
        }
        self.sync();
        let target = self.vertex_target(n, rest, line.start, digest);
        self.give(target, line);
    }

    /// Brings each build's steps index up to its steps before the scores read it.
    fn sync(&mut self) {
        for member in &mut self.members {
            member.parser.sync_steps_index();
        }
    }

    /// The build a `#n …` line belongs to; `digest`, the v0.8 vertex digest printed under this header.
    fn vertex_target(&mut self, n: u32, rest: &[u8], offset: u64, digest: Option<&[u8]>) -> usize {
        if !self.is_header(n, rest) {
            let scores: Vec<Option<u32>> = self.members.iter().map(|m| status_score(m, n)).collect();
            let scores = self.named_by_error(scores, n, rest);
            return self.pick(&scores, Some(n), offset);
        }
        let name = step_name::parse(&text(rest));
        // A build whose vertex `n` has another digest printed another vertex under that number.
        let other_vertex = |m: &Member| digest.is_some_and(|d| m.other_digest(n, d));
        let scores: Vec<Option<u32>> = self.members.iter().map(|m| header_score(m, n, rest, &name).filter(|_| !other_vertex(m))).collect();
        let woken: Vec<bool> = self.members.iter().map(|m| m.dormant && m.evidence(&name) > 0).collect();
        self.pick_woken(&scores, &woken, Some(n), offset)
    }

    /// Status scores narrowed by an exec failure's command: only a build whose vertex `n` runs it failed.
    fn named_by_error(&self, scores: Vec<Option<u32>>, n: u32, rest: &[u8]) -> Vec<Option<u32>> {
        let Some(command) = failed_command(rest) else {
            return scores;
        };
        let runs = |m: &Member| m.parser.vertex(n).is_some_and(|s| runs_command(&s.name, command));
        if self.members.iter().filter(|m| runs(m)).count() != 1 {
            return scores;
        }
        scores.into_iter().zip(&self.members).map(|(s, m)| s.filter(|_| runs(m))).collect()
    }

    /// The build a `#*** …` line belongs to: a header by its name, anything else to the build of the
    /// last masked header.
    fn masked_target(&mut self, rest: &[u8], offset: u64) -> usize {
        let output = seconds_end(rest).is_some() || is_status(rest);
        if output {
            let open = self.masked.filter(|&i| self.members.get(i).is_some_and(|m| !m.parser.has_ended()));
            return match open {
                Some(i) => i,
                None => self.pick(&vec![None; self.members.len()], None, offset),
            };
        }
        let name = step_name::parse(&text(rest));
        let scores: Vec<Option<u32>> = self
            .members
            .iter()
            .map(|m| if m.has_step_named(rest) { Some(4) } else { m.takes_new(&name).then(|| 1 + m.evidence(&name)) })
            .collect();
        let woken: Vec<bool> = self.members.iter().map(|m| m.dormant && m.evidence(&name) > 0).collect();
        let i = self.pick_woken(&scores, &woken, None, offset);
        self.masked = Some(i);
        i
    }

    /// A line without `#`: a failure report, a console-wrapped continuation, a blank line, prose.
    fn other_line(&mut self, line: &Line<'_>) -> Fed {
        for i in self.offer_order() {
            match self.members.get_mut(i).map(|m| m.feed(line)) {
                Some(Fed::Ignored) | None => {}
                Some(fed) => return fed,
            }
        }
        Fed::Ignored
    }

    /// Who is offered a line without `#`: an open failure report first, then a wrapped line's build,
    /// then failed builds (latest failure first) whose report may follow, then the last build, then all.
    fn offer_order(&self) -> Vec<usize> {
        let all = 0..self.members.len();
        if let Some(i) = all.clone().find(|&i| self.members.get(i).is_some_and(|m| m.parser.in_error_report())) {
            return vec![i];
        }
        let mut order = Vec::with_capacity(self.members.len() + 1);
        if self.members.get(self.last).is_some_and(|m| m.parser.continues_line()) {
            order.push(self.last);
        }
        let mut failed: Vec<(u64, usize)> = all
            .clone()
            .filter_map(|i| self.members.get(i).filter(|m| !m.parser.has_ended()).and_then(|m| m.failed_at).map(|at| (at, i)))
            .collect();
        failed.sort_unstable_by(|a, b| b.cmp(a));
        order.extend(failed.into_iter().map(|(_, i)| i));
        order.push(self.last);
        order.extend(all);
        let mut seen = Vec::with_capacity(order.len());
        order.retain(|i| {
            !seen.contains(i) && {
                seen.push(*i);
                true
            }
        });
        order
    }
}

/// Whether `text` starts a build beside the only open one (instead of belonging to it, or following it
/// as the parser alone decides): a second `#0 building with …`, or a `#1 [..]` header the open build
/// cannot have printed, while that build has not ended (no final error line, no export).
fn starts_beside(only: &Member, text: &[u8]) -> bool {
    // Only `#0 ` or `#1 ` can start a build: every other line (nearly all: output) leaves here.
    if !matches!(text, [b'#', b'0' | b'1', b' ', ..]) {
        return false;
    }
    let Some((n, rest)) = split_vertex(text) else {
        return false;
    };
    if n > 1 || only.parser.is_over() {
        return false;
    }
    if n == 0 {
        return is_desc(rest) && (only.headed || !only.parser.is_blank());
    }
    if !is_bracketed(rest) {
        return false;
    }
    match only.parser.vertex(1) {
        None => false,
        Some(first) if !first.name.as_bytes().starts_with(rest) => true,
        Some(first) => {
            only.current == Some(1) || (first.status != StepStatus::Running && (only.parser.max_vertex() > 1 || only.parser.is_v08()))
        }
    }
}

#[path = "demux_lines.rs"]
mod lines;

#[path = "demux_fit.rs"]
mod fit;

#[path = "demux_evidence.rs"]
mod evidence;

#[path = "demux_pick.rs"]
mod pick;
use pick::settle;

#[cfg(test)]
#[path = "demux_steps_tests.rs"]
mod steps_tests;

#[cfg(test)]
#[path = "demux_tests.rs"]
pub(crate) mod tests;

//! Plain-progress lines whose vertex number names no vertex: `#0 …`, and numbers that CI secret
//! masking hid (`#*** …`).
//!
//! `#0`: buildx ≥ 0.11 prints its description there (`#0 building with "default" instance …`).
//! BuildKit v0.10–0.11 formatted each log line when it arrived, `#%d <sec> <text>` with the vertex's
//! index, and the plain printer assigns that index only when it first prints the vertex: lines that
//! arrived earlier read `#0 <sec> text` and are printed right after that vertex's header, before its
//! `DONE` (progressui display.go). So `#0 <sec>` output belongs to the step of the `#n` line before it
//! while that step runs. With no running step its text is kept as a problem of the build (not lost);
//! `#0 WARN: …` is a warning of that step, else a problem. `#0` never becomes a step.
//!
//! Masked numbers: GitHub and Gitea replace a secret's value everywhere, digits of `#22` too (`#***`,
//! `#1***`). The number is lost, the name is not: a masked header is the step of that name (the same
//! name printed earlier is that vertex printed again after `#n ...`), else a new step. The printer
//! prints a vertex's states, rows and output only after its header, with nothing of another vertex in
//! between (a switch prints `#n ...` and the other's header), so `#*** CACHED` / `DONE` / `ERROR` / output
//! right after a masked header's lines are that step's, and a line that is no state after such a step
//! finished is the next vertex's header (`#*** FROM docker.io/…` has no `[`). Anywhere else (after a numbered line, or in
//! logs where two builds interleave) a masked state cannot be attributed: two masked vertexes look
//! alike. It changes no step and is counted as a problem.

use crate::log::error_block;
use crate::log::line::{Fed, Line};
use crate::log::model::StepStatus;
use crate::log::output::{push_lossy_bounded, text};

use super::{is_status_keyword, rfc3339, Parser, Wrap, MAX_VERTEX, MAX_WARNINGS, WRAP_MIN};

/// Longest log text quoted in a problem.
const QUOTE_MAX: usize = 200;

/// `#*** rest` / `#1*** rest` → `rest`: a vertex number in which masking replaced digits by `***`.
pub(super) fn split_masked(line: &[u8]) -> Option<&[u8]> {
    let body = line.strip_prefix(b"#")?;
    let len = body.iter().take_while(|b| b.is_ascii_digit() || **b == b'*').count();
    let token = body.get(..len)?;
    if len > 32 || !token.windows(3).any(|w| w == b"***") {
        return None;
    }
    match body.get(len) {
        None => Some(&[]),
        Some(b' ') => body.get(len + 1..),
        Some(_) => None,
    }
}

/// A vertex name as the Dockerfile frontend prints it: `[stage k/n] …`, `[internal] …`.
pub(super) fn is_header(rest: &[u8]) -> bool {
    rest.first() == Some(&b'[') && rest.contains(&b']')
}

impl Parser {
    /// `#0 <sec> text`: output of the running step of the line before, else a problem of the build.
    pub(super) fn zero_output(&mut self, out: &[u8], line: &Line<'_>) -> Fed {
        match self.running_current() {
            Some(i) => self.push_output(i, out, line),
            None => self.quote_problem(line.start, "output under #0 that belongs to no running step", out),
        }
        Fed::Taken
    }

    /// `#0 <anything but output>`: the description line, or a warning; never a step.
    pub(super) fn zero_line(&mut self, rest: &[u8], line: &Line<'_>) -> Fed {
        let Some(warning) = rest.strip_prefix(b"WARN: ") else {
            return Fed::Taken;
        };
        match self.running_current().and_then(|i| self.build.steps.get_mut(i)) {
            Some(step) if step.warnings.len() < MAX_WARNINGS => step.warnings.push(text(warning)),
            Some(_) => {}
            None => self.quote_problem(line.start, "warning under #0", warning),
        }
        Fed::Taken
    }

    /// A `#*** …` line (see the module comment for what is safe to attribute).
    pub(super) fn masked_line(&mut self, rest: &[u8], line: &Line<'_>) -> Fed {
        if self.ended {
            return if is_header(rest) { Fed::NewBuild } else { Fed::Ignored };
        }
        self.wrap = Wrap::No;
        if let Some(time) = line.time_str() {
            self.build.finished = Some(rfc3339(time));
        }
        let current = if self.current_masked { (self.current as usize).checked_sub(1) } else { None };
        if let Some(skip) = error_block::seconds_end(rest) {
            match current {
                Some(i) => self.push_output(i, rest.get(skip..).unwrap_or_default(), line),
                None => self.quote_problem(line.start, "output of a masked vertex number (#***) that follows no masked header", rest),
            }
            return Fed::Taken;
        }
        if rest.is_empty() {
            return Fed::Taken;
        }
        // A vertex that finished prints nothing more before its header: after it comes another vertex.
        let finished = current.and_then(|i| self.build.steps.get(i)).is_some_and(|s| s.status != StepStatus::Running);
        let header = !is_status_keyword(rest) && (current.is_none() || finished || is_header(rest));
        if header {
            return self.masked_header(rest, line);
        }
        match current {
            Some(i) => self.status(i, rest, line),
            None => self.quote_problem(line.start, "a masked vertex number (#***) whose step is unknown", rest),
        }
        Fed::Taken
    }

    /// `#*** <name>`: the step of that name, or a new one.
    fn masked_header(&mut self, rest: &[u8], line: &Line<'_>) -> Fed {
        let found = self.build.steps.iter().rposition(|s| s.name.as_bytes() == rest);
        let i = match found {
            Some(i) => i,
            None if self.build.steps.len() < MAX_VERTEX => self.push_step(text(rest), line),
            None => return Fed::Taken,
        };
        self.set_current(i, true);
        self.status(i, rest, line);
        if line.text.len() >= WRAP_MIN {
            self.wrap = Wrap::Header(i);
        }
        Fed::Taken
    }

    /// The step of the last `#n` line, while it runs.
    fn running_current(&self) -> Option<usize> {
        let i = (self.current as usize).checked_sub(1)?;
        self.build.steps.get(i).is_some_and(|s| s.status == StepStatus::Running).then_some(i)
    }

    fn quote_problem(&mut self, offset: u64, what: &str, quoted: &[u8]) {
        let mut message = format!("{what}: ");
        push_lossy_bounded(&mut message, quoted, QUOTE_MAX);
        self.problem(offset, message);
    }
}

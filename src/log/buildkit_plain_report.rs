//! The plain parser's lines without `#n` (`buildkit_plain`): the failure report (`error_block` events),
//! console-wrapped continuations, client trailers; and `close`, which fills a build's outputs, snippet and
//! result.

use super::{is_trailer, rfc3339, Parser, Wrap};
use crate::log::checks;
use crate::log::error_block::{self, Event};
use crate::log::line::{Fed, Line};
use crate::log::model::{Build, BuildResult, Step, StepStatus};
use crate::log::output::{text, StepOutput};
use crate::log::step_name;
use crate::log::unwrap::is_bare_stamp;

impl Parser {
    /// A line without `#n`: the failure report, blank lines, console-wrapped continuations.
    pub(super) fn other_line(&mut self, line: &Line<'_>) -> Fed {
        if is_bare_stamp(line.text) {
            // A log viewer's stamp above each record it copies (Cloud Console): neither the rest of a
            // wrapped line nor a line of the failure report; both go on after it, as if it were not there.
            return if self.errors.open() { Fed::Taken } else { Fed::Ignored };
        }
        let failed = error_block::may_be_final(line.text) && self.build.steps.iter().any(|s| s.status == StepStatus::Error);
        if let Some(event) = self.errors.feed(line.text, failed) {
            self.wrap = Wrap::No;
            self.error_event(event, line);
            return Fed::Taken;
        }
        if self.ended {
            if self.wrap == Wrap::Final && !line.text.is_empty() && line.text.first() != Some(&b'#') {
                self.continue_final(line);
                return Fed::Taken;
            }
            self.wrap = Wrap::No;
            return Fed::Ignored;
        }
        if error_block::is_client_error(line.text) && self.build.steps.iter().any(|s| s.status == StepStatus::Running) {
            self.wrap = Wrap::No;
            self.error_event(Event::Final(text(line.text)), line);
            return Fed::Taken;
        }
        let wrap = std::mem::take(&mut self.wrap);
        if line.text.is_empty() {
            return Fed::Taken;
        }
        if wrap != Wrap::No && line.text.first() != Some(&b'#') {
            self.continue_line(wrap, line);
            return Fed::Taken;
        }
        if let Some(w) = checks::listed_warning(line.text) {
            checks::add(&mut self.build, w);
            return Fed::Taken;
        }
        if is_trailer(line.text) {
            return Fed::Taken;
        }
        Fed::Ignored
    }

    pub(super) fn error_event(&mut self, event: Event, line: &Line<'_>) {
        match event {
            Event::Taken => {}
            Event::Vertex(name) => self.block_vertex(name),
            Event::BodyLine(at) => {
                if let Some((i, true)) = self.block_step {
                    self.push_output(i, line.text.get(at..).unwrap_or_default(), line);
                }
            }
            Event::Snippet(range) => self.snippet = Some(range),
            Event::Final(message) => {
                error_block::apply_final(&mut self.build, &message);
                self.ended = true;
                if line.text.last() == Some(&b' ') && self.build.error.as_deref() == Some(message.as_str()) {
                    self.wrap = Wrap::Final;
                }
                if let Some(time) = line.time_str() {
                    self.build.finished = Some(rfc3339(time));
                }
            }
        }
    }

    /// ` > <name>:` names a failed vertex; it may be missing from the log (compose prints another
    /// build's failure), then it becomes a step of its own.
    fn block_vertex(&mut self, name: String) {
        let found = self.build.steps.iter().rposition(|s| s.name == name || (!s.name.is_empty() && name.starts_with(&s.name)));
        let i = match found {
            Some(i) => i,
            None => {
                let mut step = Step::named(name);
                step_name::apply(&mut step);
                self.build.steps.push(step);
                self.outputs.push(StepOutput::default());
                self.build.steps.len() - 1
            }
        };
        if let Some(step) = self.build.steps.get_mut(i) {
            if step.status != StepStatus::Error {
                step.status = StepStatus::Error;
            }
        }
        let fresh = self.outputs.get(i).is_some_and(|o| o.range.lines == 0);
        self.block_step = Some((i, fresh));
    }
}

/// A step whose `DONE` line is missing (a cut or trimmed log) while its image was exported after it:
/// BuildKit exports only once the whole graph is solved, so the step completed (its duration unknown).
/// Never after a failure; with several targets (compose, bake: `[web] exporting to image`) only for the
/// exported target's steps.
fn finish_exported(build: &mut Build) {
    if build.error.is_some() || build.steps.iter().any(|s| s.status == StepStatus::Error) {
        return;
    }
    let is_export =
        |s: &Step| s.status == StepStatus::Executed && (s.name.starts_with("exporting to") || s.name.contains("] exporting to"));
    let Some(last_export) = build.steps.iter().rposition(is_export) else { return };
    let exported: Vec<Option<String>> = build.steps.iter().filter(|s| is_export(s)).map(target_of).collect();
    let whole_graph = exported.contains(&None);
    for step in build.steps.iter_mut().take(last_export) {
        if step.status == StepStatus::Running && (whole_graph || exported.contains(&target_of(step))) {
            step.status = StepStatus::Executed;
        }
    }
}

/// A step left open (`#3 ...`, never resumed) while a later step of its stage ran (executed or failed):
/// BuildKit starts a vertex only once its inputs are done (solver/edge.go), so it completed, end line
/// missing (its duration unknown); a failure elsewhere does not make it canceled.
fn finish_succeeded(build: &mut Build) {
    type Stage<'a> = (&'a Option<String>, &'a Option<String>, &'a Option<String>, Option<u32>);
    let mut last_ran: std::collections::HashMap<Stage<'_>, u32> = std::collections::HashMap::new();
    for s in build.steps.iter().filter(|s| matches!(s.status, StepStatus::Executed | StepStatus::Error)) {
        if let Some(k) = s.k {
            let top = last_ran.entry((&s.stage, &s.platform, &s.service, s.n)).or_insert(k);
            *top = (*top).max(k);
        }
    }
    let done: Vec<bool> = build
        .steps
        .iter()
        .map(|s| {
            s.status == StepStatus::Running
                && s.k.zip(last_ran.get(&(&s.stage, &s.platform, &s.service, s.n))).is_some_and(|(k, &top)| top > k)
        })
        .collect();
    for (step, done) in build.steps.iter_mut().zip(done) {
        if done {
            step.status = StepStatus::Executed;
        }
    }
}

/// The target a step belongs to: its compose service, else the first word of a `[web 2/3]` or `[web]`
/// slot (none for `[2/3]`).
fn target_of(step: &Step) -> Option<String> {
    if step.service.is_some() {
        return step.service.clone();
    }
    let slot = step.name.strip_prefix('[')?.split(']').next()?;
    let word = slot.split(' ').next()?;
    (!word.is_empty() && !word.contains('/') && word != "internal").then(|| word.to_string())
}

/// Fills outputs, services, the snippet range and the result into the build.
pub fn close(mut build: Build, outputs: &[StepOutput], snippet: Option<[u32; 2]>, ended: bool) -> Build {
    for (step, out) in build.steps.iter_mut().zip(outputs) {
        out.fill(step);
    }
    step_name::split_services(&mut build.steps);
    if let Some(range) = snippet {
        error_block::apply_snippet(&mut build, range);
    }
    finish_exported(&mut build);
    finish_succeeded(&mut build);
    let all_done = build.steps.iter().all(|s| s.status != StepStatus::Running);
    build.result = error_block::result(&build, ended, all_done);
    if build.result == BuildResult::Failed {
        build.error_lines = snippet; // the last snippet is the error's (a --debug warning list prints others before it)
        error_block::stop_running(&mut build);
    }
    build
}

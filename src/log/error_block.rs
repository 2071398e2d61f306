//! What BuildKit prints after a failure, shared by the plain and tty parsers: the `------` summary
//! block, the `Dockerfile:N` source snippet and the final error line in all its wordings.
//!
//! See `../shared/docs/log-formats.md` §2.2 (summary block), §4 (snippet, final line per client).
//! The reader is a small state machine fed one (unwrapped) line at a time; it reports what it
//! recognised as an `Event` and keeps no text but the vertex name of the open block.

use serde::{Deserialize, Serialize};

use super::model::{Build, BuildResult, Step, StepStatus};
use super::output::text;

/// Where in the failure report the reader is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    #[default]
    Outside,
    /// After an opening `------`, expecting ` > <vertex name>:`.
    Opened,
    /// ` > <vertex name>` without its `:`: a console wrapped it, the rest follows (`wrapped`).
    Naming,
    /// Inside the summary block: the failed vertex's last log lines, until `------`.
    Body,
    /// After `Dockerfile:N`, expecting the `--------------------` rule.
    SnippetHead,
    /// Between the two `--------------------` rules.
    Snippet,
}

/// Reads the failure report; one per build.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorBlock {
    phase: Phase,
    /// First and last `>>>` line of the snippet being read.
    marked: Option<[u32; 2]>,
    /// A summary block was seen (the build failed even if the final line is missing).
    pub seen: bool,
    /// The vertex name of a console-wrapped ` > <name>:` line so far (`Phase::Naming`), bounded.
    #[serde(default)]
    wrapped: String,
}

/// Longest vertex name rejoined from console-wrapped ` > ` lines.
const MAX_WRAPPED_NAME: usize = 4096;

/// What one line of the failure report said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A line of the report with nothing to record (rules, context lines of the snippet).
    Taken,
    /// ` > <vertex name>:`: the summary block of this vertex starts.
    Vertex(String),
    /// A log line of the failed vertex inside the summary block, without its `#n <sec> ` prefix.
    BodyLine(usize),
    /// The snippet ended; first and last `>>>` line.
    Snippet([u32; 2]),
    /// The build's final error line (the text to keep as `Build.error`).
    Final(String),
}

const RULE: &[u8] = b"------";
const SNIPPET_RULE: &[u8] = b"--------------------";

impl ErrorBlock {
    /// Inside a summary block or snippet: every line belongs to the report, `#n` lines too.
    pub fn open(&self) -> bool {
        matches!(self.phase, Phase::Body | Phase::Snippet | Phase::Naming)
    }

    /// Reads `line`; `None` when it is not part of a failure report. `failed` tells whether the build
    /// already has an errored step, which makes the bare 20.10 final lines (`failed to …`) acceptable.
    pub fn feed(&mut self, line: &[u8], failed: bool) -> Option<Event> {
        match self.phase {
            Phase::Body => match self.body(line) {
                Some(event) => return Some(event),
                None => self.phase = Phase::Outside,
            },
            Phase::Snippet => match self.snippet_line(line) {
                Some(event) => return Some(event),
                None => self.phase = Phase::Outside,
            },
            Phase::Opened => {
                if let Some(name) = line.strip_prefix(b" > ") {
                    if let Some(name) = name.strip_suffix(b":") {
                        self.phase = Phase::Body;
                        return Some(Event::Vertex(text(name)));
                    }
                    self.phase = Phase::Naming;
                    self.wrapped = text(name);
                    return Some(Event::Taken);
                }
                self.phase = Phase::Outside;
            }
            Phase::Naming => return Some(self.naming(line)),
            // A console that doubles line breaks (compose on Windows) puts a blank line after each.
            Phase::SnippetHead if line.is_empty() => return Some(Event::Taken),
            Phase::SnippetHead => {
                self.phase = Phase::Outside;
                if line == SNIPPET_RULE {
                    self.phase = Phase::Snippet;
                    self.marked = None;
                    return Some(Event::Taken);
                }
            }
            Phase::Outside => {}
        }
        self.outside(line, failed)
    }

    fn outside(&mut self, line: &[u8], failed: bool) -> Option<Event> {
        if line == RULE {
            self.phase = Phase::Opened;
            self.seen = true;
            return Some(Event::Taken);
        }
        if is_snippet_head(line) {
            self.phase = Phase::SnippetHead;
            return Some(Event::Taken);
        }
        final_error(line, failed || self.seen).map(Event::Final)
    }

    /// A line after a ` > <name>` that a console wrapped before its `:`: more of the name, or its end.
    fn naming(&mut self, line: &[u8]) -> Event {
        if line == RULE || self.wrapped.len() + line.len() > MAX_WRAPPED_NAME {
            // No name after all: the block's log lines are read as they come.
            self.wrapped.clear();
            self.phase = if line == RULE { Phase::Outside } else { Phase::Body };
            return Event::Taken;
        }
        match line.strip_suffix(b":") {
            Some(end) => {
                let mut name = std::mem::take(&mut self.wrapped);
                name.push_str(&text(end));
                self.phase = Phase::Body;
                Event::Vertex(name)
            }
            None => {
                self.wrapped.push_str(&text(line));
                Event::Taken
            }
        }
    }

    /// A line of the summary block; `None` when the block ended without its closing `------` (a cut
    /// log, a platform that drops rule lines): a snippet head or a final error line is not the vertex's.
    fn body(&mut self, line: &[u8]) -> Option<Event> {
        if line == RULE {
            self.phase = Phase::Outside;
            return Some(Event::Taken);
        }
        if ends_open_report(line) {
            return None;
        }
        Some(Event::BodyLine(body_text_start(line)))
    }

    /// A line of the snippet. The `>>>` range is reported as it grows, so a snippet cut before its
    /// closing rule still names its lines; `None` when a line after the rows is the report's next part.
    fn snippet_line(&mut self, line: &[u8]) -> Option<Event> {
        if line == SNIPPET_RULE {
            self.phase = Phase::Outside;
            self.marked = None;
            return Some(Event::Taken);
        }
        if ends_open_report(line) {
            self.marked = None;
            return None;
        }
        let Some(n) = marked_line(line) else { return Some(Event::Taken) };
        let range = match self.marked {
            Some([first, last]) => [first.min(n), last.max(n)],
            None => [n, n],
        };
        self.marked = Some(range);
        Some(Event::Snippet(range))
    }
}

/// A line that cannot be inside a summary block or snippet whose closing rule never came: the next
/// snippet's `Dockerfile:N` or a final error line the client prints after the report.
fn ends_open_report(line: &[u8]) -> bool {
    is_snippet_head(line) || final_error(line, false).is_some()
}

/// `Dockerfile:12`, `app.Dockerfile:44`, `Dockerfile.wasm:7`: a file name without spaces, a colon,
/// a line number, nothing else.
fn is_snippet_head(line: &[u8]) -> bool {
    let Some(colon) = line.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (name, digits) = (&line[..colon], &line[colon + 1..]);
    !name.is_empty()
        && !digits.is_empty()
        && digits.len() <= 9
        && digits.iter().all(u8::is_ascii_digit)
        && !name.iter().any(|b| b.is_ascii_whitespace())
        && !name.starts_with(b"#")
}

/// ` 44 | >>> COPY …`: the line number of a line inside the error range.
fn marked_line(line: &[u8]) -> Option<u32> {
    let s = line.trim_ascii_start();
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = s.get(digits..)?.strip_prefix(b" | ")?;
    if digits == 0 || digits > 9 || !rest.starts_with(b">>>") {
        return None;
    }
    std::str::from_utf8(s.get(..digits)?).ok()?.parse().ok()
}

/// Where the log text of a summary-block line starts: after `#n <sec> ` (v0.8 tty, v0.10-0.11 `#0`)
/// or `<sec> ` (v0.9+).
fn body_text_start(line: &[u8]) -> usize {
    let mut i = 0;
    if line.first() == Some(&b'#') {
        let digits = line.iter().skip(1).take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && line.get(1 + digits) == Some(&b' ') {
            i = digits + 2;
        }
    }
    match seconds_end(line.get(i..).unwrap_or_default()) {
        Some(n) => i + n,
        None if i > 0 => i,
        None => 0,
    }
}

/// Length of a BuildKit log timestamp `0.053 ` / `15.86 ` / `159.7 ` / masked `***.54 ` at the start of
/// `s`, including its space (or the end of the line for an empty log line).
pub fn seconds_end(s: &[u8]) -> Option<usize> {
    let int = s.iter().take_while(|b| b.is_ascii_digit() || **b == b'*').count();
    if int == 0 || s.get(int) != Some(&b'.') {
        return None;
    }
    let frac = s.iter().skip(int + 1).take_while(|b| b.is_ascii_digit()).count();
    if frac == 0 {
        return None;
    }
    let end = int + 1 + frac;
    match s.get(end) {
        None => Some(end),
        Some(b' ') => Some(end + 1),
        Some(_) => None,
    }
}

/// The prefixes of a final error line that need no earlier failure to be believed.
const FINAL_PREFIXES: &[&[u8]] = &[
    b"ERROR: ",
    b"error: failed to ",
    b"executor failed running [",
    b"failed to solve",
    b"failed to receive status: ",
    b"##[error]buildx failed with: ",
    b"##[error]buildx call failed with: ",
    b"Error: buildx failed with: ",
    b"Error: buildx call failed with: ",
];

/// The 20.10 client prints the bare error (`failed to compute cache key: …`); believed only after a
/// step failed or a summary block was seen.
const BARE_PREFIXES: &[&[u8]] = &[b"failed to ", b"error from sender: ", b"rpc error: code = "];

/// Compose (bake) names the target: `Target web: failed to solve: …`, `target web: failed to receive
/// status: rpc error: …`.
fn is_target_error(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"Target ").or_else(|| line.strip_prefix(b"target ")) else {
        return false;
    };
    let Some(colon) = rest.iter().position(|&b| b == b':') else {
        return false;
    };
    colon > 0 && !rest[..colon].contains(&b' ') && rest[colon..].starts_with(b": failed to ")
}

/// The final error line, as the text to keep, if `line` is one (§4 table).
pub fn final_error(line: &[u8], failed: bool) -> Option<String> {
    if !may_be_final(line) {
        return None;
    }
    let first = *line.first()?;
    let known = FINAL_PREFIXES.iter().any(|p| line.starts_with(p));
    let bare = failed && BARE_PREFIXES.iter().any(|p| line.starts_with(p));
    let target = matches!(first, b'T' | b't') && is_target_error(line);
    (known || bare || target).then(|| text(line))
}

/// Whether `line` may be a final error: the only lines for which `feed`'s `failed` matters, so a caller
/// works out `failed` (a scan of the steps) only for them. Computing it for every line (blank lines
/// between vertices) made step headers cost quadratic time (issue 19, 11).
pub fn may_be_final(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'E' | b'e' | b'f' | b'#' | b'T' | b't' | b'r'))
}

/// A client's `error: …` line (docker CLI, buildx): a build-level error while the build still runs. Not
/// in `final_error`, which must also hold after a build ended, when another tool may print one.
pub fn is_client_error(line: &[u8]) -> bool {
    line.starts_with(b"error: ") && line.len() > b"error: ".len()
}

/// A GitHub Actions annotation repeats the buildx line: keep the line itself.
pub fn strip_annotation(message: &str) -> &str {
    [
        "##[error]buildx failed with: ",
        "##[error]buildx call failed with: ",
        "Error: buildx failed with: ",
        "Error: buildx call failed with: ",
    ]
    .iter()
    .find_map(|p| message.strip_prefix(p))
    .unwrap_or(message)
}

/// `… exit code: 3` → 3 (the last occurrence).
pub fn exit_code(message: &str) -> Option<i32> {
    let at = message.rfind("exit code: ")?;
    let digits: String = message[at + "exit code: ".len()..].chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
    digits.parse().ok()
}

/// Records a step's `ERROR: <msg>`.
pub fn fail_step(step: &mut Step, message: String) {
    step.status = StepStatus::Error;
    step.exit_code = exit_code(&message).or(step.exit_code);
    step.error = Some(message);
}

/// Records the final error line on the build (the first real one wins over a CI annotation repeating
/// it) and on its failed steps that have no message of their own.
pub fn apply_final(build: &mut Build, message: &str) {
    let line = strip_annotation(message);
    if build.error.is_none() || build.error.as_deref().is_some_and(|e| e.starts_with("##[error]")) {
        build.error = Some(line.to_string());
    }
    let code = exit_code(line);
    // `target api: failed to solve: …` (bake, compose) is the error of that target's steps only; another
    // target's failed rows keep theirs (or none) unless no failed step is the named target's.
    let target = target_of(line).filter(|t| build.steps.iter().any(|s| s.status == StepStatus::Error && of_target(s, t)));
    for step in build.steps.iter_mut().filter(|s| s.status == StepStatus::Error && target.is_none_or(|t| of_target(s, t))) {
        if step.error.is_none() {
            step.error = Some(line.to_string());
        }
        if step.exit_code.is_none() {
            step.exit_code = code;
        }
    }
}

/// `target api: …` (after an optional `ERROR: `) → `api`: the bake/compose target a final error names.
pub fn target_of(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("ERROR: ").unwrap_or(line).strip_prefix("target ")?;
    let (name, _) = rest.split_once(": ")?;
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
}

/// Whether a step is one of bake/compose target `target`'s: its service, its internal vertexes' service,
/// or (a one-stage service) the word in the stage slot.
fn of_target(step: &Step, target: &str) -> bool {
    let name = super::step_name::parse(&step.name);
    [step.service.as_deref(), name.service.as_deref(), name.internal_of.as_deref(), name.stage.as_deref()].contains(&Some(target))
}

/// Puts a snippet's `>>>` range on the step it belongs to: the failed step whose error the final
/// line repeats (buildx prints the source of the error it returns), else the last failed step.
/// Steps of other platforms with the same instruction get it too: they are the same Dockerfile line.
pub fn apply_snippet(build: &mut Build, range: [u32; 2]) {
    let final_error = build.error.clone().unwrap_or_default();
    let failed: Vec<usize> = (0..build.steps.len()).filter(|&i| build.steps[i].status == StepStatus::Error).collect();
    let by_message =
        failed.iter().rev().find(|&&i| build.steps[i].error.as_deref().is_some_and(|e| !e.is_empty() && final_error.contains(e)));
    let Some(&chosen) = by_message.or(failed.last()) else {
        return;
    };
    let key = same_line_key(&build.steps[chosen]);
    for &i in &failed {
        if i == chosen || (key.is_some() && same_line_key(&build.steps[i]) == key) {
            build.steps[i].dockerfile_lines = Some(range);
        }
    }
}

fn same_line_key(step: &Step) -> Option<(Option<String>, Option<String>, u32, String)> {
    Some((step.service.clone(), step.stage.clone(), step.k?, step.instruction.clone()?))
}

/// A failed build whose final line was read runs nothing any more. Its printer did not say how its
/// running steps ended (the daemon went away: `error reading from server: EOF`; a pull never printed
/// CANCELED): when no step failed and one still ran, the build died in it and it takes the build's
/// error; the others were stopped with the build.
pub fn stop_running(build: &mut Build) {
    let Some(error) = build.error.clone() else { return };
    let running = build.steps.iter().filter(|s| s.status == StepStatus::Running).count();
    let failed = build.steps.iter().any(|s| s.status == StepStatus::Error);
    for step in build.steps.iter_mut().filter(|s| s.status == StepStatus::Running) {
        if running == 1 && !failed {
            step.exit_code = exit_code(&error);
            step.error = Some(error.clone());
            step.status = StepStatus::Error;
        } else {
            step.status = StepStatus::Canceled;
        }
    }
}

/// The build's outcome from its steps and final line: `ended` is false while the log may still grow.
pub fn result(build: &Build, ended: bool, all_done: bool) -> BuildResult {
    let errored = build.steps.iter().any(|s| s.status == StepStatus::Error);
    let canceled_line = build.error.as_deref().is_some_and(|e| e.contains("context canceled"));
    if canceled_line && !errored {
        return BuildResult::Canceled;
    }
    if errored || build.error.is_some() {
        return BuildResult::Failed;
    }
    if build.steps.iter().any(|s| s.status == StepStatus::Canceled) && all_done {
        return BuildResult::Canceled;
    }
    if ended && all_done && !build.steps.is_empty() {
        return BuildResult::Success;
    }
    BuildResult::Running
}

#[cfg(test)]
#[path = "error_block_tests.rs"]
mod tests;

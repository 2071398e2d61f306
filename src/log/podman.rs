//! Parser for podman/buildah builds: `[i/n] STEP k/m: <instruction>` (log-formats.md §11).
//!
//! Multi-stage builds prefix every header with the stage position `[i/n]`; single-stage builds print
//! `STEP k/m: …`, buildah before 1.20 `STEP k: …`. `k/m` restarts per stage and counts every
//! instruction of it. A step is committed by `--> <id>` (after `--> Using cache <full id>` on a cache
//! hit); the last step has none before `COMMIT <name>`, whose `--> <id>` is the image's. Success ends
//! with `Successfully tagged …` and the full image id; failure with `Error: building at STEP "…": …`.
//!
//! A step that needs a stage not built yet (`COPY --from=b`, `RUN --mount=…,from=b`) waits while podman
//! builds that stage: its header, then the other stage's `[i/n] STEP 1/…` headers and results, then
//! the waiting step's own `--> <id>` (or, without layers, the next header of its stage). Such a header
//! suspends the open step instead of starting another build; it may nest.

use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::{Build, Format, ImageRef, Step};
use super::output;
use super::sequential::{is_image_id, keyword, number, trailing_code, Sequence, MAX_STEPS};

/// State of one build being read; serialisable so a growing log resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parser {
    seq: Sequence,
    /// `n` of the `[i/n]` stage prefix, when the build prints one.
    stages: Option<u32>,
    /// `AS name` of the current stage's FROM.
    stage: Option<String>,
    /// `COMMIT` was read: the next `--> <id>` names the image.
    commit: bool,
}

/// A header line.
enum Head<'a> {
    Step { stage: Option<(u32, u32)>, k: u32, m: Option<u32>, instruction: &'a [u8] },
    Commit,
}

/// `[i/n] ` at the start of `text`.
fn stage_prefix(text: &[u8]) -> Option<((u32, u32), &[u8])> {
    let (i, rest) = number(text.strip_prefix(b"[")?)?;
    let (n, rest) = number(rest.strip_prefix(b"/")?)?;
    let rest = rest.strip_prefix(b"] ")?;
    (i >= 1 && i <= n).then_some(((i, n), rest))
}

fn head(text: &[u8]) -> Option<Head<'_>> {
    let (stage, rest) = match stage_prefix(text) {
        Some((s, rest)) => (Some(s), rest),
        None => (None, text),
    };
    if rest == b"COMMIT" || rest.starts_with(b"COMMIT ") {
        return Some(Head::Commit);
    }
    let (k, rest) = number(rest.strip_prefix(b"STEP ")?)?;
    let (m, rest) = match rest.strip_prefix(b"/") {
        Some(r) => number(r).map(|(m, r)| (Some(m), r))?,
        None => (None, rest),
    };
    let instruction = rest.strip_prefix(b": ")?;
    if m.is_none() && (instruction == b"COMMIT" || instruction.starts_with(b"COMMIT ")) {
        return Some(Head::Commit); // buildah < 1.20 numbered the commit as a step.
    }
    let fits = k >= 1 && m.is_none_or(|m| k <= m);
    (fits && keyword(instruction).is_some()).then_some(Head::Step { stage, k, m, instruction })
}

/// The `AS name` of a FROM instruction.
fn as_name(instruction: &[u8]) -> Option<String> {
    let words: Vec<&[u8]> = instruction.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty()).collect();
    match words.as_slice() {
        [_, .., as_, name] if words.len() >= 4 && as_.eq_ignore_ascii_case(b"as") => Some(output::text(name)),
        _ => None,
    }
}

/// The build's failure line: `Error: building at STEP "…": …` (buildah ≥ 1.23 dropped the `error `).
fn is_step_error(text: &[u8]) -> bool {
    let rest = text.strip_prefix(b"Error: ").unwrap_or(text);
    rest.starts_with(b"building at STEP \"") || rest.starts_with(b"error building at STEP \"")
}

/// A logrus line: `time="…" level=warning msg="…"`, or the tty form `WARN[0000] …`. Returns
/// whether it is an error and the message.
fn logrus(text: &[u8]) -> Option<(bool, &[u8])> {
    if let Some(rest) = text.strip_prefix(b"WARN[").or_else(|| text.strip_prefix(b"ERRO[")) {
        let close = memchr::memchr(b']', rest)?;
        let msg = rest.get(close + 1..)?;
        return Some((text.starts_with(b"ERRO"), msg.strip_prefix(b" ").unwrap_or(msg)));
    }
    if !text.starts_with(b"time=\"") {
        return None;
    }
    let level = memchr::memmem::find(text, b" level=")?;
    let after = text.get(level + 7..)?;
    let msg = memchr::memmem::find(after, b" msg=").and_then(|m| after.get(m + 5..)).unwrap_or(b"");
    let msg = msg.strip_prefix(b"\"").and_then(|m| m.strip_suffix(b"\"")).unwrap_or(msg);
    Some((after.starts_with(b"error") || after.starts_with(b"fatal"), msg))
}

impl Parser {
    /// True when `line` starts (or unmistakably belongs to) a build in this format.
    pub fn starts(line: &Line<'_>) -> bool {
        !line.chatter && matches!(head(line.text), Some(Head::Step { .. }))
    }

    /// A parser for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Parser {
        Parser { seq: Sequence::new(Format::Podman, line.start), stages: None, stage: None, commit: false }
    }

    pub fn feed(&mut self, line: &Line<'_>) -> Fed {
        if line.chatter {
            return Fed::Ignored;
        }
        let text = line.text;
        match head(text) {
            Some(Head::Step { stage, k, m, instruction }) => return self.step(stage, k, m, instruction, line),
            Some(Head::Commit) if !self.seq.done && !self.seq.steps().is_empty() => {
                self.commit = true;
                self.seq.touch(line);
                return Fed::Taken;
            }
            _ => {}
        }
        if self.seq.done {
            return self.after_result(line);
        }
        if let Some(rest) = text.strip_prefix(b"--> ") {
            self.arrow(rest, line);
        } else if let Some((error, msg)) = logrus(text) {
            let msg = if error { [b"error: ", msg].concat() } else { msg.to_vec() };
            self.seq.warn(&msg);
            self.seq.touch(line);
        } else if is_step_error(text) {
            self.seq.fail(output::text(text), trailing_code(text, b"exit status "), line);
        } else if self.seq.is_open() && !self.commit {
            return self.output(line);
        } else if text.starts_with(b"Error: ") {
            self.seq.fail(output::text(text), None, line);
        } else if self.commit {
            self.seq.touch(line); // commit chatter: `Getting image source signatures`, `Writing manifest …`
        } else {
            return Fed::Ignored;
        }
        Fed::Taken
    }

    fn step(&mut self, stage: Option<(u32, u32)>, k: u32, m: Option<u32>, instruction: &[u8], line: &Line<'_>) -> Fed {
        let index = stage.map(|(i, _)| i);
        let other_count = !self.seq.steps().is_empty() && self.stages != stage.map(|(_, n)| n);
        if self.seq.done || self.commit || self.seq.steps().len() >= MAX_STEPS || other_count {
            return Fed::NewBuild;
        }
        if self.nests(index, k) {
            self.seq.suspend();
        } else if let Some(depth) = self.waiting_in(index) {
            // The waiting step's stage goes on: the stage built in between is over, and so is that step.
            if self.seq.suspended().nth(depth).is_some_and(|s| s.k.unwrap_or(0) >= k) {
                return Fed::NewBuild;
            }
            while self.seq.suspended().count() > depth && self.seq.resume(line) {}
        } else if self.restarts(index, k, m) {
            return Fed::NewBuild;
        }
        self.open(stage, k, m, instruction, line)
    }

    /// True when a header of stage `index` starts a stage built on demand by the open step: it is the
    /// first step of a stage this build has not shown, and the open step names another stage.
    fn nests(&self, index: Option<u32>, k: u32) -> bool {
        let Some(current) = self.seq.current().filter(|_| self.seq.is_open()) else {
            return false;
        };
        let names_stage =
            current.instruction.as_deref().is_some_and(|i| memchr::memmem::find(&i.to_ascii_lowercase().into_bytes(), b"from=").is_some());
        k == 1 && index.is_some() && current.stage_index != index && names_stage && self.seq.steps().iter().all(|s| s.stage_index != index)
    }

    /// How deep in the stack of suspended steps the one of stage `index` is (0 = outermost).
    fn waiting_in(&self, index: Option<u32>) -> Option<usize> {
        index?;
        self.seq.suspended().position(|s| s.stage_index == index)
    }

    /// Headers only move forward within a build; going back (or a different stage count) is another build.
    fn restarts(&self, index: Option<u32>, k: u32, m: Option<u32>) -> bool {
        self.seq.current().is_some_and(|last| {
            let here = (index.unwrap_or(0), k);
            let before = (last.stage_index.unwrap_or(0), last.k.unwrap_or(0));
            last.stage_index.is_some() != index.is_some() || here <= before || (last.stage_index == index && last.n != m)
        })
    }

    /// Opens the step of a header, in its stage (named by the stage's FROM).
    fn open(&mut self, stage: Option<(u32, u32)>, k: u32, m: Option<u32>, instruction: &[u8], line: &Line<'_>) -> Fed {
        let index = stage.map(|(i, _)| i);
        self.stage = self.seq.current().filter(|c| c.stage_index == index).and_then(|c| c.stage.clone());
        if keyword(instruction) == Some("FROM") {
            self.stage = as_name(instruction);
        }
        self.stages = stage.map(|(_, n)| n);
        let mut step = Step::named(output::text(line.text));
        step.stage = self.stage.clone();
        step.stage_index = index;
        step.k = Some(k);
        step.n = m;
        step.instruction = Some(output::text(instruction));
        self.seq.open_step(step, line);
        Fed::Taken
    }

    /// `--> Using cache <id>`, `--> <id>` (a step's commit, or the image's after `COMMIT`).
    fn arrow(&mut self, rest: &[u8], line: &Line<'_>) {
        if !self.seq.is_open() && !self.commit {
            self.seq.resume(line); // the result of a step that waited while its stage was built
        }
        if let Some(id) = rest.strip_prefix(b"Using cache ").filter(|id| is_image_id(id)) {
            if self.seq.is_open() {
                self.seq.mark_cached();
                if let Some(step) = self.seq.last_mut() {
                    step.image_id = Some(output::text(id));
                }
            }
        } else if is_image_id(rest) {
            let id = output::text(rest);
            self.seq.close(Some(id.clone()), line);
            if self.commit {
                self.seq.build.image = Some(ImageRef { id: Some(id), tags: Vec::new() });
                self.seq.succeed(line);
            }
        }
        self.seq.touch(line);
    }

    /// A line of the open step: process output, or an `Error:` that may be podman's own.
    fn output(&mut self, line: &Line<'_>) -> Fed {
        let text = line.text;
        if text.starts_with(b"##[") {
            return Fed::Ignored; // GitHub runner markers, never build output.
        }
        let suspect = text.starts_with(b"Error: ");
        if suspect && self.seq.errors_are_daemons() {
            self.seq.fail(output::text(text), None, line);
        } else {
            self.seq.output(line, suspect.then(|| trailing_code(text, b"exit status ")));
        }
        Fed::Taken
    }

    /// After the image was committed: its tags and its full id.
    fn after_result(&mut self, line: &Line<'_>) -> Fed {
        let text = line.text;
        let Some(image) = self.seq.build.image.as_mut() else {
            return Fed::Ignored;
        };
        if let Some(tag) = text.strip_prefix(b"Successfully tagged ") {
            image.tags.push(output::text(tag));
        } else if text.len() == 64 && is_image_id(text) && image.id.as_deref().is_none_or(|short| text.starts_with(short.as_bytes())) {
            image.id = Some(output::text(text));
        } else {
            return Fed::Ignored;
        }
        self.seq.touch(line);
        Fed::Taken
    }

    /// The build as it stands (open steps `running`).
    pub fn snapshot(&self) -> Build {
        self.seq.snapshot()
    }

    pub fn finish(self, end: End) -> Build {
        self.seq.finish(end)
    }
}

#[cfg(test)]
mod tests {
    use super::super::sequential::summary;

    fn check(log: &str, expect: &str) {
        assert_eq!(summary(log), expect, "log:\n{log}");
    }

    const FULL: &str = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

    #[test]
    fn builds() {
        check(
            &format!("STEP 1/2: FROM a\nSTEP 2/2: RUN x\nhi\nCOMMIT t\n--> abcdef01234\nSuccessfully tagged localhost/t:latest\n{FULL}\n"),
            &format!("success image={FULL} tag=localhost/t:latest | 1/2 executed | 2/2 executed id=abcdef01234 out=1"),
        );
        check(
            "[1/2] STEP 1/2: FROM a AS b\n[1/2] STEP 2/2: RUN x\n--> 11111111111\n[2/2] STEP 1/1: FROM b\n[2/2] COMMIT\n--> 22222222222\n",
            "success image=22222222222 | [1]b:1/2 executed | [1]b:2/2 executed id=11111111111 | [2]1/1 executed id=22222222222",
        );
        check(
            "STEP 1/2: FROM a\nSTEP 2/2: ENV A=1\n--> Using cache 1111111111122222222223333333333\n--> 11111111111\n",
            "running | 1/2 executed | 2/2 cached id=11111111111",
        );
        check("STEP 1/2: FROM a\nSTEP 2/2: RUN exit 3\noops\nError: building at STEP \"RUN exit 3\": while running runtime: exit status 3\n",
            "failed err=\"Error: building at STEP \\\"RUN exit 3\\\": while running runtime: exit status 3\" | 1/2 executed | 2/2 error out=1 exit=3 err=\"Error: building at STEP \\\"RUN exit 3\\\": while running runtime: exit status 3\"");
        check(
            "STEP 1: FROM a\nSTEP 2: RUN x\n--> 11111111111\nSTEP 3: COMMIT t\nWriting manifest to image destination\n--> 22222222222\n",
            "success image=22222222222 | 1/- executed | 2/- executed id=11111111111",
        );
    }

    #[test]
    fn output_and_warnings() {
        // `Error:` printed by the process is output unless it stays the step's last line.
        check("STEP 1/1: RUN x\nstart\nError: not yet\nretrying\n", "running | 1/1 running out=3");
        check("STEP 1/1: RUN x\nstart\nError: gave up\n", "failed err=\"Error: gave up\" | 1/1 error out=2 err=\"Error: gave up\"");
        check("STEP 1/1: RUN x\ntime=\"2026-01-01T00:00:00Z\" level=warning msg=\"SHELL is not supported\"\nWARN[0000] cgroup\n--> 11111111111\n",
            "running | 1/1 executed id=11111111111 warn=\"SHELL is not supported\" warn=\"cgroup\"");
        check("STEP 1/1: RUN x\nSuccessfully tagged y\nCOMMITTED\n", "running | 1/1 running out=2");
    }

    #[test]
    fn several_builds() {
        let one = "STEP 1/1: FROM a\nCOMMIT\n--> 11111111111\n";
        check(
            &format!("{one}{one}"),
            "success image=11111111111 | 1/1 executed id=11111111111 || success image=11111111111 | 1/1 executed id=11111111111",
        );
        check("[1/2] STEP 1/1: FROM a\n[2/2] STEP 1/1: FROM b\nSTEP 1/1: FROM c\n",
            "canceled problem=\"another build starts while this one's step is running\" | [1]1/1 executed | [2]1/1 canceled || running | 1/1 running");
        check(
            "[1/2] STEP 1/2: FROM a\n[1/3] STEP 2/2: RUN x\n",
            "canceled problem=\"another build starts while this one's step is running\" | [1]1/2 canceled || running | [1]2/2 running",
        );
    }

    /// A step that needs a stage not built yet waits while podman builds it (log-formats.md §11).
    #[test]
    fn stage_built_while_a_step_waits() {
        // The generator's finding: the COPY's own result comes after the stage built in between.
        check(
            "[1/3] STEP 1/1: FROM a AS build\n--> 11111111111\n[3/3] STEP 1/3: FROM a\n[3/3] STEP 2/3: COPY --from=builder /x /y\n\
             [2/3] STEP 1/2: FROM 1111111111111111 AS builder\n[2/3] STEP 2/2: RUN make\nmade\n--> 22222222222\n--> 33333333333\n\
             [3/3] STEP 3/3: RUN false\nError: building at STEP \"RUN false\": while running runtime: exit status 1\n",
            "failed err=\"Error: building at STEP \\\"RUN false\\\": while running runtime: exit status 1\" | [1]build:1/1 executed id=11111111111 \
             | [3]1/3 executed | [3]2/3 executed id=33333333333 | [2]builder:1/2 executed | [2]builder:2/2 executed id=22222222222 out=1 \
             | [3]3/3 error exit=1 err=\"Error: building at STEP \\\"RUN false\\\": while running runtime: exit status 1\"",
        );
        // Two deep, each waiting step ended by its own result; the stage names come back with their steps.
        check(
            "[4/4] STEP 1/3: FROM a AS app\n[4/4] STEP 2/3: COPY --from=b /x /y\n[2/4] STEP 1/2: FROM a AS b\n\
             [2/4] STEP 2/2: COPY --from=c /x /y\n[1/4] STEP 1/1: FROM a AS c\n--> 11111111111\n--> 22222222222\n--> 33333333333\n\
             [4/4] STEP 3/3: RUN x\n[4/4] COMMIT t\n--> 44444444444\n",
            "success image=44444444444 | [4]app:1/3 executed | [4]app:2/3 executed id=33333333333 | [2]b:1/2 executed \
             | [2]b:2/2 executed id=22222222222 | [1]c:1/1 executed id=11111111111 | [4]app:3/3 executed id=44444444444",
        );
        // Cached steps in the stage built in between, and a cached waiting step.
        check(
            "[2/2] STEP 1/2: FROM a\n[2/2] STEP 2/2: ADD --from=b /x /y\n[1/2] STEP 1/2: FROM a AS b\n[1/2] STEP 2/2: RUN x\n\
             --> Using cache 1111111111111111\n--> 11111111111\n--> Using cache 2222222222222222\n--> 22222222222\n[2/2] COMMIT t\n--> 22222222222\n",
            "success image=22222222222 | [2]1/2 executed | [2]2/2 cached id=22222222222 | [1]b:1/2 executed | [1]b:2/2 cached id=11111111111",
        );
        // A failure inside the stage built in between: that step failed, the waiting one never finished.
        check(
            "[2/2] STEP 1/2: FROM a\n[2/2] STEP 2/2: COPY --from=b /x /y\n[1/2] STEP 1/2: FROM a AS b\n[1/2] STEP 2/2: RUN exit 3\noops\n\
             Error: building at STEP \"RUN exit 3\": while running runtime: exit status 3\n",
            "failed err=\"Error: building at STEP \\\"RUN exit 3\\\": while running runtime: exit status 3\" | [2]1/2 executed | [2]2/2 canceled \
             | [1]b:1/2 executed | [1]b:2/2 error out=1 exit=3 err=\"Error: building at STEP \\\"RUN exit 3\\\": while running runtime: exit status 3\"",
        );
        // Without layers nothing but the stage's end prints `-->`: the waiting stage's next header ends both.
        check(
            "[2/2] STEP 1/3: FROM a\n[2/2] STEP 2/3: COPY --from=b /x /y\n[1/2] STEP 1/1: FROM a AS b\n--> 11111111111\n\
             [2/2] STEP 3/3: RUN x\n",
            "running | [2]1/3 executed | [2]2/3 executed | [1]b:1/1 executed id=11111111111 | [2]3/3 running",
        );
        // Several waiting steps in a row, one stage each.
        check(
            "[3/3] STEP 1/3: FROM a\n[3/3] STEP 2/3: COPY --from=0 /x /y\n[1/3] STEP 1/1: FROM a\n--> 11111111111\n--> 22222222222\n\
             [3/3] STEP 3/3: COPY --from=1 /x /y\n[2/3] STEP 1/1: FROM a\n--> 33333333333\n--> 44444444444\n",
            "running | [3]1/3 executed | [3]2/3 executed id=22222222222 | [1]1/1 executed id=11111111111 | [3]3/3 executed id=44444444444 \
             | [2]1/1 executed id=33333333333",
        );
    }

    /// Only a step that names another stage waits, and only for a stage not shown yet: anything else going
    /// back is another build, as before.
    #[test]
    fn going_back_is_still_another_build() {
        // The same build again after a step without `from=` (Ctrl-C, then a rebuild).
        check(
            "[1/2] STEP 1/1: FROM a AS b\n--> 11111111111\n[2/2] STEP 1/2: FROM a\n[2/2] STEP 2/2: RUN x\n[1/2] STEP 1/1: FROM a AS b\n",
            "canceled problem=\"another build starts while this one's step is running\" | [1]b:1/1 executed id=11111111111 | [2]1/2 executed \
             | [2]2/2 canceled || running | [1]b:1/1 running",
        );
        // A stage already built is not built again in between.
        check(
            "[1/2] STEP 1/1: FROM a AS b\n--> 11111111111\n[2/2] STEP 1/2: FROM a\n[2/2] STEP 2/2: COPY --from=b /x /y\n[1/2] STEP 1/1: FROM a AS b\n",
            "canceled problem=\"another build starts while this one's step is running\" | [1]b:1/1 executed id=11111111111 | [2]1/2 executed \
             | [2]2/2 canceled || running | [1]b:1/1 running",
        );
        // The waiting stage going back is another build too.
        check(
            "[2/2] STEP 1/3: FROM a\n[2/2] STEP 2/3: COPY --from=b /x /y\n[1/2] STEP 1/1: FROM a AS b\n[2/2] STEP 1/3: FROM a\n",
            "canceled problem=\"another build starts while this one's step is running\" | [2]1/3 executed | [2]2/3 canceled | [1]b:1/1 canceled \
             || running | [2]1/3 running",
        );
    }

    #[test]
    fn not_builds() {
        check("STEP 1/2: make coffee\n", "");
        check("[3/2] STEP 1/2: RUN x\n", "");
        check("STEP 3/2: RUN x\n", "");
        check("STEP 1/2 RUN x\n", "");
        check("COMMIT t\n--> 11111111111\n", "");
    }
}

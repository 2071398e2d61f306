//! Parser for the classic ("legacy") builder: `Step N/M : <instruction>` blocks (log-formats.md §7, §10.10).
//!
//! A build is an optional preamble (CLI ≥ 23 DEPRECATED banner, `Sending build context to Docker
//! daemon …`), then per step a header, ` ---> ` status lines, raw process output (the daemon's
//! `ESC[91m` stderr wrapping is already gone, see `unwrap`) and ` ---> <image id>`; it ends with
//! `Successfully built <id>` (+ `Successfully tagged`), `The command '…' returned a non-zero code: N`,
//! `Build cancelled`, or another daemon error. The Engine API parser feeds its `stream` texts through
//! this parser too, so a build may begin at a `Step` line with no preamble.

use serde::{Deserialize, Serialize};

use super::line::{End, Fed, Line};
use super::model::{Build, BuildResult, Format, ImageRef, Step};
use super::output;
use super::run::Run;
use super::sequential::{is_image_id, keyword, number, trailing_code, Sequence, MAX_STEPS};

/// Client line that starts a build (docker/cli build.go); may carry `\r` progress rewrites.
const CONTEXT: &[u8] = b"Sending build context to Docker daemon";
/// First line of the CLI ≥ 23 banner (docker/cli cmd/docker/builder.go), followed by two indented
/// lines and a blank one.
const BANNER: &[u8] = b"DEPRECATED: The legacy builder is deprecated";

/// Daemon errors that end a build after or inside a step (moby builder/dockerfile, daemon, distribution).
const DAEMON_ERRORS: [&[u8]; 12] = [
    b"Error response from daemon: ",
    b"COPY failed: ",
    b"ADD failed: ",
    b"failed to ",
    b"unable to ",
    b"pull access denied for ",
    b"manifest for ",
    b"invalid reference format",
    b"dockerfile parse error",
    b"Dockerfile parse error",
    b"unknown instruction: ",
    b"OCI runtime ",
];

/// State of one build being read; serialisable so a growing log resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parser {
    seq: Sequence,
    /// `Sending build context` was read.
    context: bool,
    /// The DEPRECATED banner was read.
    banner: bool,
    /// The last line was a step header: an empty line now is act's separate `"\n"` stream message.
    after_header: bool,
}

/// A `Step N/M : …` (or Docker < 1.13 `Step N : …`) header.
struct Header<'a> {
    k: u32,
    n: Option<u32>,
    instruction: &'a [u8],
}

fn header(text: &[u8]) -> Option<Header<'_>> {
    let (k, rest) = number(text.strip_prefix(b"Step ")?)?;
    let (n, rest) = match rest.strip_prefix(b"/") {
        Some(r) => number(r).map(|(n, r)| (Some(n), r))?,
        None => (None, rest),
    };
    let instruction = rest.strip_prefix(b" : ")?;
    let fits = k >= 1 && n.is_none_or(|n| k <= n);
    (fits && keyword(instruction).is_some()).then_some(Header { k, n, instruction })
}

/// The text after a ` ---> ` status prefix.
fn arrow(text: &[u8]) -> Option<&[u8]> {
    text.strip_prefix(b" ---> ").or_else(|| text.strip_prefix(b"---> "))
}

/// The bytes a `DAEMON_ERRORS` pattern starts with: most output lines fail this one look-up.
const DAEMON_ERROR_FIRST: [bool; 256] = {
    let mut first = [false; 256];
    let mut i = 0;
    while i < DAEMON_ERRORS.len() {
        if let Some(&b) = DAEMON_ERRORS[i].first() {
            first[b as usize] = true;
        }
        i += 1;
    }
    first
};

fn is_daemon_error(text: &[u8]) -> bool {
    text.first().is_some_and(|&b| DAEMON_ERROR_FIRST[b as usize]) && DAEMON_ERRORS.iter().any(|p| text.starts_with(p))
}

/// Heads of the lines `feed` reads as anything but plain output of the open step (headers, the preamble,
/// statuses, result lines, runner markers, then the daemon errors): a line starting with none is output.
const NOT_OUTPUT: [&[u8]; 10 + DAEMON_ERRORS.len()] = {
    let mut heads: [&[u8]; 10 + DAEMON_ERRORS.len()] = [b""; 10 + DAEMON_ERRORS.len()];
    let own: [&[u8]; 10] = [
        b"Step ",
        CONTEXT,
        BANNER,
        b"Removing intermediate container ",
        b" ---> ",
        b"---> ",
        b"The command '",
        b"Build cancelled",
        b"Successfully built ",
        b"##[",
    ];
    let mut i = 0;
    while i < heads.len() {
        heads[i] = if i < own.len() { own[i] } else { DAEMON_ERRORS[i - own.len()] };
        i += 1;
    }
    heads
};

/// `NOT_OUTPUT`'s first (up to) 8 bytes as little-endian words with the mask of the bytes they have.
const NOT_OUTPUT_WORDS: [(u64, u64); NOT_OUTPUT.len()] = {
    let mut words = [(0u64, 0u64); NOT_OUTPUT.len()];
    let mut i = 0;
    while i < NOT_OUTPUT.len() {
        let head = NOT_OUTPUT[i];
        let mut j = 0;
        while j < head.len() && j < 8 {
            words[i].0 |= (head[j] as u64) << (8 * j);
            words[i].1 |= 0xff << (8 * j);
            j += 1;
        }
        i += 1;
    }
    words
};

/// True when an open step reads `text` (no wrapper, not chatter) as one more line of plain output, as
/// `feed` would (`Parser::output_run`); false also for some lines it would (those are read one by one):
/// its first 8 bytes are compared with each head's at once.
pub fn is_output(text: &[u8]) -> bool {
    if text.is_empty() {
        return false;
    }
    let mut first = [0u8; 8];
    let n = text.len().min(8);
    if let (Some(to), Some(from)) = (first.get_mut(..n), text.get(..n)) {
        to.copy_from_slice(from);
    }
    let word = u64::from_le_bytes(first);
    NOT_OUTPUT_WORDS.iter().fold(true, |output, &(head, mask)| output & (word & mask != head))
}

impl Parser {
    /// A run of output lines (`run::Run`, all `is_output`) of the open step, read at once; false when the
    /// step is not open for plain output now (nothing read).
    pub fn output_run(&mut self, run: &Run<'_>) -> bool {
        if self.seq.done || !self.seq.is_open() || !self.seq.output_run(run) {
            return false;
        }
        self.after_header = false;
        true
    }

    /// True when `line` starts (or unmistakably belongs to) a build in this format.
    pub fn starts(line: &Line<'_>) -> bool {
        let t = line.text;
        !line.chatter && (t.starts_with(CONTEXT) || t.starts_with(BANNER) || header(t).is_some())
    }

    /// A parser for the build that `line` starts; the channel then feeds it `line`.
    pub fn new(line: &Line<'_>) -> Parser {
        Parser { seq: Sequence::new(Format::Legacy, line.start), context: false, banner: false, after_header: false }
    }

    pub fn feed(&mut self, line: &Line<'_>) -> Fed {
        if line.chatter {
            return Fed::Ignored;
        }
        let text = line.text;
        let after_header = std::mem::replace(&mut self.after_header, false);
        if let Some(h) = header(text) {
            return self.header(&h, line);
        }
        if text.starts_with(CONTEXT) || text.starts_with(BANNER) {
            return self.preamble(line);
        }
        if self.seq.done {
            return self.after_result(line);
        }
        if (after_header && text.is_empty()) || text.starts_with(b"Removing intermediate container ") {
            self.seq.touch(line);
            return Fed::Taken;
        }
        if let Some(rest) = arrow(text) {
            self.arrow(rest, line);
            return Fed::Taken;
        }
        if self.result_line(line) {
            return Fed::Taken;
        }
        if self.seq.is_open() {
            return self.output(line);
        }
        self.between_steps(line)
    }

    fn header(&mut self, h: &Header<'_>, line: &Line<'_>) -> Fed {
        let steps = self.seq.steps();
        // Steps are numbered in file order and never interleave: a number that does not go up is
        // another build (a second `docker build`, or an Engine API stream without preamble).
        let restarts = steps.last().is_some_and(|last| last.k.is_some_and(|k| h.k <= k) || last.n != h.n);
        if self.seq.done || restarts || steps.len() >= MAX_STEPS {
            return Fed::NewBuild;
        }
        let mut step = Step::named(output::text(line.text));
        step.k = Some(h.k);
        step.n = h.n;
        step.instruction = Some(output::text(h.instruction));
        self.seq.open_step(step, line);
        self.after_header = true;
        Fed::Taken
    }

    /// `Sending build context …` or the banner: part of this build only before anything else of it.
    fn preamble(&mut self, line: &Line<'_>) -> Fed {
        let banner = line.text.starts_with(BANNER);
        if self.context || self.seq.done || !self.seq.steps().is_empty() || (banner && self.banner) {
            return Fed::NewBuild;
        }
        if banner {
            self.banner = true;
        } else {
            self.context = true;
        }
        self.seq.touch(line);
        Fed::Taken
    }

    fn after_result(&mut self, line: &Line<'_>) -> Fed {
        let Some(tag) = line.text.strip_prefix(b"Successfully tagged ") else {
            return Fed::Ignored;
        };
        match &mut self.seq.build.image {
            Some(image) if self.seq.build.result == BuildResult::Success => image.tags.push(output::text(tag)),
            _ => return Fed::Ignored,
        }
        self.seq.touch(line);
        Fed::Taken
    }

    fn arrow(&mut self, rest: &[u8], line: &Line<'_>) {
        if rest == b"Using cache" {
            self.seq.mark_cached();
        } else if let Some(warning) = rest.strip_prefix(b"[Warning] ") {
            self.seq.warn(warning);
        } else if is_image_id(rest) {
            self.seq.close(Some(output::text(rest)), line);
        } else if self.seq.is_open() && !rest.starts_with(b"Running in ") && !rest.starts_with(b"Removed intermediate container ") {
            // Not a status the builder prints: keep it as the step's output.
            self.seq.output(line, None);
            return;
        }
        self.seq.touch(line);
    }

    /// The lines that end a build: failed command, cancel, success.
    fn result_line(&mut self, line: &Line<'_>) -> bool {
        let text = line.text;
        if text.starts_with(b"The command '") && memchr::memmem::find(text, b"' returned a non-zero code: ").is_some() {
            self.seq.fail(output::text(text), trailing_code(text, b"non-zero code: "), line);
        } else if text == b"Build cancelled" {
            self.seq.cancel(output::text(text), line);
        } else if let Some(id) = text.strip_prefix(b"Successfully built ").filter(|id| is_image_id(id)) {
            // pip and friends print `Successfully built <package>` inside a step; the builder's own line
            // follows a committed step and names an image id.
            if self.seq.is_open() || self.seq.steps().is_empty() {
                return false;
            }
            self.seq.build.image = Some(ImageRef { id: Some(output::text(id)), tags: Vec::new() });
            self.seq.succeed(line);
        } else {
            return false;
        }
        true
    }

    /// A line of the open step: process output, unless it is the daemon's error for the step.
    fn output(&mut self, line: &Line<'_>) -> Fed {
        let text = line.text;
        if text.starts_with(b"##[") {
            return Fed::Ignored; // GitHub runner markers (`##[error]Process completed …`), never build output.
        }
        let suspect = is_daemon_error(text);
        if suspect && self.seq.errors_are_daemons() {
            self.seq.fail(output::text(text), None, line);
        } else {
            self.seq.output(line, suspect.then_some(None));
        }
        Fed::Taken
    }

    /// A line after a committed step (or in the preamble): daemon errors, warnings, banner lines.
    fn between_steps(&mut self, line: &Line<'_>) -> Fed {
        let text = line.text;
        if is_daemon_error(text) {
            self.seq.fail(output::text(text), None, line);
        } else if let Some(warning) = text.strip_prefix(b"[Warning] ") {
            // `[Warning] One or more build-args [X] were not consumed` (buildargs.go) after the last step.
            self.seq.warn(warning);
        } else if self.banner && !self.context && self.seq.steps().is_empty() && (text.is_empty() || text.starts_with(b"  ")) {
            // The banner's indented lines and the blank line after it.
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
    use super::{is_daemon_error, DAEMON_ERRORS};

    fn check(log: &str, expect: &str) {
        assert_eq!(summary(log), expect, "log:\n{log}");
    }

    const OK: &str = "Step 1/2 : FROM a\n ---> 111111111111\nStep 2/2 : RUN x\n ---> Running in 222222222222\nhi\n ---> 333333333333\nSuccessfully built 333333333333\nSuccessfully tagged t:1\n";

    #[test]
    fn builds() {
        check(OK, "success image=333333333333 tag=t:1 | 1/2 executed id=111111111111 | 2/2 executed id=333333333333 out=1");
        check(&format!("Sending build context to Docker daemon  2.048kB\r\r\n{OK}"), &summary(OK));
        check("Step 1 : FROM a\n ---> 111111111111\nStep 2 : CMD x\n", "running | 1/- executed id=111111111111 | 2/- running");
        check(
            "Step 1/2 : FROM a\n ---> 111111111111\nStep 2/2 : ENV A=1\n ---> Using cache\n ---> 444444444444\n",
            "running | 1/2 executed id=111111111111 | 2/2 cached id=444444444444",
        );
        check("Step 1/1 : RUN x\n ---> Running in 222222222222\nboom\nThe command '/bin/sh -c x' returned a non-zero code: 2\nmore prose\n",
            "failed err=\"The command '/bin/sh -c x' returned a non-zero code: 2\" | 1/1 error out=1 exit=2 err=\"The command '/bin/sh -c x' returned a non-zero code: 2\"");
        check(
            "Step 1/2 : FROM a\n ---> 111111111111\nBuild cancelled\n",
            "canceled err=\"Build cancelled\" | 1/2 executed id=111111111111",
        );
    }

    #[test]
    fn is_output_refuses_every_line_feed_reads_otherwise() {
        use super::{is_output, NOT_OUTPUT};
        for head in NOT_OUTPUT {
            let line = [head, b"x 1/2 : RUN y".as_slice()].concat();
            assert!(!is_output(&line), "{}", String::from_utf8_lossy(&line));
        }
        for line in [&b"gcc -c x.c"[..], b"make[1]: x", b"failing", b"Step", b"Success", b"#1 x", b"x", b"\xff\xfe"] {
            assert!(is_output(line), "{}", String::from_utf8_lossy(line));
        }
        assert!(!is_output(b""));
    }

    #[test]
    fn output_that_looks_like_builder_lines() {
        // pip's `Successfully built <pkg>` inside a step, and `Successfully built <hex>` while a step is open.
        check("Step 1/1 : RUN pip install x\nSuccessfully built x\nSuccessfully built 0123456789ab\n", "running | 1/1 running out=2");
        check("Step 1/1 : RUN x\nSuccessfully tagged y\n", "running | 1/1 running out=1");
        check("Step 1/1 : RUN x\nStep 1/2 : Install things\n", "running | 1/1 running out=1");
        check("Step 1/1 : RUN x\n --->  not an id\n", "running | 1/1 running out=1");
    }

    /// The first-bytes pre-check lets every pattern through and stops lines that only share a byte.
    #[test]
    fn every_daemon_error_pattern_is_recognised() {
        for p in DAEMON_ERRORS {
            let mut line = p.to_vec();
            line.extend_from_slice(b"x");
            assert!(is_daemon_error(&line), "{}", String::from_utf8_lossy(p));
            assert!(!is_daemon_error(p.get(..p.len() - 1).unwrap()), "{}", String::from_utf8_lossy(p));
        }
        for other in [&b"make[1]: Entering"[..], b"mips-gcc -c x.c", b"f", b"", b"Error response from daemon"] {
            assert!(!is_daemon_error(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn daemon_errors() {
        check("Step 1/2 : COPY a b\nCOPY failed: no a\n", "failed err=\"COPY failed: no a\" | 1/2 error err=\"COPY failed: no a\"");
        check(
            "Step 1/1 : RUN x\n ---> Running in 222222222222\nfailed to create shim task: OCI\n",
            "failed err=\"failed to create shim task: OCI\" | 1/1 error err=\"failed to create shim task: OCI\"",
        );
        // Inside a process's output it is the error only when nothing follows it.
        check("Step 1/1 : RUN x\nout\nfailed to fetch\nretrying\n", "running | 1/1 running out=3");
        check(
            "Step 1/1 : RUN x\nout\nfailed to fetch\n##[error]Process completed with exit code 1.\n",
            "failed err=\"failed to fetch\" | 1/1 error out=2 err=\"failed to fetch\"",
        );
        check("Sending build context to Docker daemon  2kB\nError response from daemon: dockerfile parse error line 2: unknown instruction: FOO\n",
            "failed err=\"Error response from daemon: dockerfile parse error line 2: unknown instruction: FOO\"");
        check(
            "Step 1/1 : FROM a\n ---> 111111111111\nfailed to export image: x\n",
            "failed err=\"failed to export image: x\" | 1/1 executed id=111111111111",
        );
    }

    #[test]
    fn preamble_and_warnings() {
        let banner = "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            Install the buildx component to build images with BuildKit:\n            https://docs.docker.com/go/buildx/\n\n";
        check(&format!("{banner}Sending build context to Docker daemon  5kB\n{OK}"), &summary(OK));
        check(&format!("{banner}{banner}"), "running || running");
        check("Step 1/1 : RUN x\n ---> [Warning] no swap\n ---> Running in 222222222222\n ---> Removed intermediate container 222222222222\n ---> 333333333333\n[Warning] One or more build-args [A] were not consumed\n",
            "running | 1/1 executed id=333333333333 warn=\"no swap\" warn=\"One or more build-args [A] were not consumed\"");
        // act -v logs the separate "\n" stream message as an empty line.
        check("Step 1/1 : RUN x\n\n ---> Running in 222222222222\n\nhi\n", "running | 1/1 running out=2");
    }

    #[test]
    fn several_builds() {
        check(&format!("{OK}{OK}"), &format!("{} || {}", summary(OK), summary(OK)));
        check("Step 1/2 : FROM a\n ---> 111111111111\nStep 2/2 : RUN x\nhi\nStep 1/1 : FROM b\n",
            "canceled problem=\"another build starts while this one's step is running\" | 1/2 executed id=111111111111 | 2/2 canceled out=1 || running | 1/1 running");
        check(
            "Step 1/2 : FROM a\n ---> 111111111111\nSending build context to Docker daemon  2kB\n",
            // The second build has no step yet: left out while the log has a build of a Dockerfile.
            "running problem=\"no result line before the next build starts\" | 1/2 executed id=111111111111",
        );
        check(
            "Step 1/3 : FROM a\nStep 1/2 : FROM a\n",
            "canceled problem=\"another build starts while this one's step is running\" | 1/3 canceled || running | 1/2 running",
        );
    }

    #[test]
    fn not_builds() {
        check("Step 1/2 : make coffee\n", "");
        check("Step 3/2 : RUN x\n", "");
        check("Step 0/2 : RUN x\n", "");
        check("Step 99999999999/99999999999 : RUN x\n", "");
        check("Step 1/2: RUN x\n", "");
        check("Sending build context to Docker", "");
    }
}

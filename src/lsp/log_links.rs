//! An open build log: step headers, error-summary headers, `Dockerfile:N` and ` NN | >>>` lines become
//! document links and go-to-definition targets on the Dockerfile; `ERROR`/`WARN` lines get diagnostics.
//! A per-line scan of the open text (the buffer, which may be growing), pure; the caller finds the
//! Dockerfile. Formats: log-formats.md §2.1 (plain headers), §4 (error block), §7 (legacy), §11 (podman).

use std::sync::LazyLock;

use regex::Regex;

use super::instructions::{self, Instruction, Stage};
use crate::log::step_name;

/// A place in the log that points at a Dockerfile line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRef {
    /// 0-based log line and the byte range in it that is the link.
    pub line: usize,
    pub start: usize,
    pub end: usize,
    /// 1-based Dockerfile line.
    pub target: u32,
}

/// What a line of the log says about the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mention {
    /// A step name: `[stage k/n] INSTR …` (BuildKit), `Step k/n : INSTR …` (legacy), `STEP k/n: …` (podman,
    /// `stage` = the `[i/n]` stage number).
    Step { stage: StageRef, k: u32, instruction: String },
    /// A Dockerfile line number printed by the builder.
    Line(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum StageRef {
    /// Single-stage build, or the builder did not say: the last stage.
    Last,
    Named(String),
    /// 0-based stage index (podman `[i/n]`, legacy counts over the whole file: `Global`).
    Index(usize),
    Global,
}

static PLAIN_HEADER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:#\d+ | > )(\[[^\]]*\] .*?):?$").unwrap());
static LEGACY_STEP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^Step (\d+)/\d+ : (.+)$").unwrap());
static PODMAN_STEP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:\[(\d+)/\d+\] )?STEP (\d+)/\d+: (.+)$").unwrap());
static SOURCE_HEAD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\w./-]*[Dd]ockerfile[\w.-]*:(\d+)$").unwrap());
static SNIPPET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*(\d+) \| >>>").unwrap());

/// Reads one log line (its wrappers, e.g. a trailing CR, already trimmed by the caller).
/// Returns the mention and the byte range of the link text.
fn mention(line: &str) -> Option<(Mention, usize, usize)> {
    let first = line.as_bytes().first()?;
    if let (b'#' | b' ', Some(c)) = (first, PLAIN_HEADER.captures(line)) {
        let m = c.get(1)?;
        let name = step_name::parse(m.as_str());
        let stage = name.stage.map_or(StageRef::Last, |s| StageRef::Named(s.to_ascii_lowercase()));
        return Some((Mention::Step { stage, k: name.k?, instruction: name.instruction? }, m.start(), m.end()));
    }
    if let Some(c) = LEGACY_STEP.captures(line) {
        let k = c.get(1)?.as_str().parse().ok()?;
        return Some((Mention::Step { stage: StageRef::Global, k, instruction: c.get(2)?.as_str().into() }, 0, line.len()));
    }
    if let Some(c) = PODMAN_STEP.captures(line) {
        let stage =
            c.get(1).and_then(|i| i.as_str().parse::<usize>().ok()).map_or(StageRef::Last, |i| StageRef::Index(i.saturating_sub(1)));
        let k = c.get(2)?.as_str().parse().ok()?;
        return Some((Mention::Step { stage, k, instruction: c.get(3)?.as_str().into() }, 0, line.len()));
    }
    if let Some(c) = SOURCE_HEAD.captures(line).or_else(|| SNIPPET.captures(line)) {
        let n = c.get(1)?;
        return Some((Mention::Line(n.as_str().parse().ok()?), 0, line.trim_end().len()));
    }
    None
}

/// Every link in `log` to a line of `dockerfile`. Mentions that match no instruction are left out.
pub fn scan(log: &str, dockerfile: &str) -> Vec<LogRef> {
    let (instrs, stages) = instructions::split(dockerfile);
    let line_count = dockerfile.lines().count() as u32;
    let mut out = Vec::new();
    for (i, raw) in log.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let Some((m, start, end)) = mention(line) else { continue };
        let target = match m {
            Mention::Line(n) => (1..=line_count).contains(&n).then_some(n),
            Mention::Step { stage, k, instruction } => resolve(&instrs, &stages, &stage, k, &instruction),
        };
        if let Some(target) = target {
            out.push(LogRef { line: i, start, end, target });
        }
    }
    out
}

/// The instruction a step is: the k-th of its stage when the keyword agrees, else the one whose text is
/// the same (BuildKit rewrites `FROM` images, so text alone cannot find those).
fn resolve(instrs: &[Instruction], stages: &[Stage], stage: &StageRef, k: u32, printed: &str) -> Option<u32> {
    let keyword = printed.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    let stage_index = match stage {
        StageRef::Last => Some(stages.len().saturating_sub(1)),
        StageRef::Index(i) => Some(*i),
        StageRef::Named(name) => {
            stages.iter().position(|s| s.name.as_deref() == Some(name)).or_else(|| name.strip_prefix("stage-").and_then(|n| n.parse().ok()))
        }
        StageRef::Global => None,
    };
    let by_position = match stage_index {
        Some(s) => instrs.iter().find(|i| i.stage == s && i.k == k),
        None => instrs.iter().filter(|i| i.k > 0).nth(usize::try_from(k).ok()?.checked_sub(1)?),
    };
    if let Some(found) = by_position.filter(|i| i.keyword == keyword) {
        return Some(found.line);
    }
    let printed = instructions::collapse(printed);
    instrs.iter().find(|i| i.text == printed).map(|i| i.line)
}

/// An error or warning line of the log: (0-based line, severity is error, message).
pub fn problems(log: &str) -> Vec<(usize, bool, String)> {
    static ERROR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?:#\d+ (?:ERROR: )|(?:ERROR|error|Error): |executor failed running )(.*)$|^The command .* returned a non-zero code: \d+$",
        )
        .unwrap()
    });
    static WARN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^#\d+ WARN: (.*)$").unwrap());
    let mut out = Vec::new();
    for (i, raw) in log.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        // Cheap byte checks first: nearly every line of a log is neither.
        if !(line.contains("ERROR")
            || line.contains("rror: ")
            || line.contains("WARN")
            || line.contains("executor failed")
            || line.contains("non-zero code"))
        {
            continue;
        }
        if ERROR.is_match(line) {
            out.push((i, true, line.trim().to_string()));
        } else if let Some(c) = WARN.captures(line) {
            out.push((i, false, c.get(1).map_or("", |m| m.as_str()).to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKERFILE: &str = "FROM fixture-base AS build\nWORKDIR /work\nCOPY hello.txt .\nRUN echo a && \\\n    exit 3\nFROM fixture-base\nCOPY --from=build /work /w\n";

    /// `(log line, target)` of each link found in `log`.
    fn check(log: &str, expect: &[(usize, u32)]) {
        let got: Vec<_> = scan(log, DOCKERFILE).iter().map(|r| (r.line, r.target)).collect();
        assert_eq!(got, expect, "{log}");
    }

    #[test]
    fn buildkit_plain_headers() {
        check("#5 [build 2/4] WORKDIR /work\n#5 DONE 0.0s", &[(0, 2)]);
        check("#4 [build 1/4] FROM docker.io/library/fixture-base", &[(0, 1)]);
        check("#9 [build 4/4] RUN echo a &&     exit 3", &[(0, 4)]);
        check("#9 [stage-1 2/2] COPY --from=build /work /w", &[(0, 7)]);
        check("#9 [2/2] COPY --from=build /work /w", &[(0, 7)]);
        check(" > [build 4/4] RUN echo a &&     exit 3:", &[(0, 4)]);
        check("#1 [internal] load build definition from Dockerfile", &[]);
        check("#9 sha256:8de18f682f05", &[]);
    }
    #[test]
    fn positions_that_disagree_fall_back_to_text() {
        check("#9 [9/9] RUN echo a && exit 3", &[(0, 4)]);
        check("#9 [9/9] RUN something else", &[]);
    }
    #[test]
    fn legacy_and_podman_steps() {
        check("Step 4/7 : RUN echo a &&     exit 3", &[(0, 4)]);
        check("Step 7/7 : COPY --from=build /work /w", &[(0, 7)]);
        check("[2/2] STEP 2/2: COPY --from=build /work /w", &[(0, 7)]);
        check("[1/2] STEP 3/4: COPY hello.txt .", &[(0, 3)]);
    }
    #[test]
    fn source_snippets() {
        check(
            "Dockerfile:4\n--------------------\n   3 |     COPY hello.txt .\n   4 | >>> RUN echo a && \\\n   5 | >>>     exit 3\n",
            &[(0, 4), (3, 4), (4, 5)],
        );
        check("backend.Dockerfile:99", &[]);
    }
    #[test]
    fn link_range_covers_the_step_name() {
        let r = &scan("#9 [build 4/4] RUN echo a &&     exit 3\r\n", DOCKERFILE)[0];
        assert_eq!((r.start, r.end), (3, 39));
    }
    #[test]
    fn error_and_warning_lines() {
        let log = "#9 0.1 ok\n#9 ERROR: executor failed running [/bin/sh -c x]: exit code: 3\n#1 WARN: Empty continuation line\nERROR: failed to solve: x\nThe command '/bin/sh -c x' returned a non-zero code: 3\n";
        let got: Vec<_> = problems(log).into_iter().map(|(l, e, _)| (l, e)).collect();
        assert_eq!(got, vec![(1, true), (2, false), (3, true), (4, true)]);
    }
}

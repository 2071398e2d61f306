//! What an open build log says about its Dockerfile: step headers, error-summary headers, `Dockerfile:N`
//! and ` NN | >>>` lines point at Dockerfile lines (the server's document links and go-to-definition
//! targets); `ERROR`/`WARN` lines are its problems (diagnostics). A per-line scan of the open text (the
//! buffer, which may be growing), pure and free of LSP types: byte ranges, 0-based log lines, 1-based
//! Dockerfile lines; `LogSnapshot` holds the result per log version. Formats: log-formats.md §2.1 (plain
//! headers), §4 (error block), §7 (legacy), §11 (podman).

use std::sync::LazyLock;

use regex::Regex;

use crate::dockerfile;
use crate::log::{step_name, Step};
use crate::mapping;

/// A place in the log that points at a Dockerfile line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRef {
    /// 0-based log line and the byte range in it that is the link.
    pub line: usize,
    pub start: usize,
    pub end: usize,
    /// 1-based Dockerfile line.
    pub target: u32,
    /// The line's bytes in the log (without its line ending): what a position encoding counts over.
    pub span: std::ops::Range<usize>,
}

/// An error or warning line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogProblem {
    /// 0-based log line.
    pub line: usize,
    pub is_error: bool,
    pub message: String,
    /// The line's bytes in the log (without its line ending).
    pub span: std::ops::Range<usize>,
}

/// Each line of `log` with its 0-based number and its bytes (`str::lines`: `\n` or `\r\n` cut off).
fn lines_with_spans(log: &str) -> impl Iterator<Item = (usize, std::ops::Range<usize>, &str)> {
    log.lines().enumerate().map(move |(i, raw)| {
        // `lines` gives subslices of `log`: where one starts is its distance from the log's start.
        let start = (raw.as_ptr() as usize).saturating_sub(log.as_ptr() as usize);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        (i, start..start.saturating_add(line.len()), line)
    })
}

/// What a line of the log says about the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mention {
    /// A step name as the shared mapping reads it: `[stage k/n] INSTR …` (BuildKit), `Step k/n : INSTR …`
    /// (legacy), `[i/n] STEP k/m: …` (podman).
    Step(String),
    /// A Dockerfile line number printed by the builder.
    Line(u32),
}

static PLAIN_HEADER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:#\d+ | > )(\[[^\]]*\] .*?):?$").unwrap());
static LEGACY_STEP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^Step \d+/\d+ : .+$").unwrap());
static PODMAN_STEP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:\[\d+/\d+\] )?STEP \d+/\d+: .+$").unwrap());
static SOURCE_HEAD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\w./-]*[Dd]ockerfile[\w.-]*:(\d+)$").unwrap());
static SNIPPET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*(\d+) \| >>>").unwrap());

/// Reads one log line (its wrappers, e.g. a trailing CR, already trimmed by the caller).
/// Returns the mention and the byte range of the link text.
fn mention(line: &str) -> Option<(Mention, usize, usize)> {
    let first = line.as_bytes().first()?;
    if let (b'#' | b' ', Some(c)) = (first, PLAIN_HEADER.captures(line)) {
        let m = c.get(1)?;
        // Internal vertexes (`[internal] load …`) carry no `k/n`: not an instruction.
        let name = step_name::parse(m.as_str());
        name.k.and(name.instruction)?;
        return Some((Mention::Step(m.as_str().to_string()), m.start(), m.end()));
    }
    if LEGACY_STEP.is_match(line) || PODMAN_STEP.is_match(line) {
        return Some((Mention::Step(line.to_string()), 0, line.len()));
    }
    if let Some(c) = SOURCE_HEAD.captures(line).or_else(|| SNIPPET.captures(line)) {
        let n = c.get(1)?;
        return Some((Mention::Line(n.as_str().parse().ok()?), 0, line.trim_end().len()));
    }
    None
}

/// Every link in `log` to a line of `dockerfile`. Step headers are placed by the shared step-to-line
/// mapping (`mapping::map_steps` over `dockerfile::parse`, the same k/n and text rules as lenses), one
/// step per distinct name; mentions that map to no instruction are left out.
pub fn scan(log: &str, dockerfile: &str) -> Vec<LogRef> {
    let df = dockerfile::parse(dockerfile);
    let line_count = u32::try_from(dockerfile.lines().count()).unwrap_or(u32::MAX);
    let mut found: Vec<(usize, usize, usize, Mention, std::ops::Range<usize>)> = Vec::new();
    for (i, span, line) in lines_with_spans(log) {
        if let Some((m, start, end)) = mention(line) {
            found.push((i, start, end, m, span));
        }
    }
    let mut steps: Vec<Step> = Vec::new();
    for (_, _, _, m, _) in &found {
        if let Mention::Step(name) = m {
            if !steps.iter().any(|s| &s.name == name) {
                steps.push(Step::named(name.as_str()));
            }
        }
    }
    let mapping = mapping::map_steps(&df, &steps);
    let line_of = |name: &str| {
        let i = steps.iter().position(|s| s.name == name)?;
        mapping.steps.get(i)?.as_ref().map(|m| m.line)
    };
    let target = |m: &Mention| match m {
        Mention::Line(n) => (1..=line_count).contains(n).then_some(*n),
        Mention::Step(name) => line_of(name),
    };
    let to_ref = |(line, start, end, m, span): &(usize, usize, usize, Mention, std::ops::Range<usize>)| {
        Some(LogRef { line: *line, start: *start, end: *end, target: target(m)?, span: span.clone() })
    };
    found.iter().filter_map(to_ref).collect()
}

/// The error and warning lines of the log.
pub fn problems(log: &str) -> Vec<LogProblem> {
    static ERROR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?:#\d+ (?:ERROR: )|(?:ERROR|error|Error): |executor failed running )(.*)$|^The command .* returned a non-zero code: \d+$",
        )
        .unwrap()
    });
    static WARN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^#\d+ WARN: (.*)$").unwrap());
    let mut out = Vec::new();
    for (i, span, line) in lines_with_spans(log) {
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
            out.push(LogProblem { line: i, is_error: true, message: line.trim().to_string(), span });
        } else if let Some(c) = WARN.captures(line) {
            let message = c.get(1).map_or("", |m| m.as_str()).to_string();
            out.push(LogProblem { line: i, is_error: false, message, span });
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
    /// BuildKit's `k` counts only FROM/ADD/COPY/RUN/WORKDIR (log-formats.md §3), the legacy builder every
    /// instruction: the shared mapping's k/n rules, not a count of all instructions, place the step.
    #[test]
    fn steps_are_placed_by_the_shared_k_of_n_rules() {
        let df = "FROM a\nENV A=1\nRUN make\nENV B=2\nRUN make\n";
        let targets = |log: &str| scan(log, df).iter().map(|r| r.target).collect::<Vec<_>>();
        assert_eq!(targets("#6 [2/3] RUN make\n#7 [3/3] RUN make\n"), [3, 5]);
        assert_eq!(targets("Step 3/5 : RUN make\nStep 5/5 : RUN make\n"), [3, 5]);
        // Heredoc bodies are not instructions.
        let heredoc = "FROM a\nRUN <<EOF\nRUN inside\nEOF\nRUN z\n";
        assert_eq!(scan("#7 [3/3] RUN z\n", heredoc).iter().map(|r| r.target).collect::<Vec<_>>(), [5]);
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
        let got: Vec<_> = problems(log).into_iter().map(|p| (p.line, p.is_error)).collect();
        assert_eq!(got, vec![(1, true), (2, false), (3, true), (4, true)]);
    }
    /// The span of each link's and problem's line is its bytes in the log, line endings (LF, CRLF) cut off.
    #[test]
    fn spans_are_the_lines_bytes_in_the_log() {
        let log = "x\r\n#9 [build 4/4] RUN echo a &&     exit 3\r\n\n#1 WARN: é w\nERROR: z";
        let r = &scan(log, DOCKERFILE)[0];
        assert_eq!(&log[r.span.clone()], "#9 [build 4/4] RUN echo a &&     exit 3");
        let spans: Vec<&str> = problems(log).iter().map(|p| &log[p.span.clone()]).collect();
        assert_eq!(spans, ["#1 WARN: é w", "ERROR: z"]);
    }
}

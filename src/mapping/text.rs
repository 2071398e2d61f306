//! Compares a step's instruction text (as the builder printed it) with a Dockerfile instruction.
//!
//! BuildKit prints the keyword upper-cased, the joined text with ENV/ARG values expanded, FROM refs
//! normalised (`docker.io/library/x:tag`, maybe `@sha256:…`), and the tty display clips long names
//! (log-formats.md §3). So: whitespace is collapsed, `$VAR` / `${VAR}` / `${VAR:-x}` in the Dockerfile are
//! wildcards, FROM compares normalised refs, and a long step text that is a prefix of the instruction counts.

use crate::dockerfile::Instruction;

/// How well a step text fits an instruction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sim {
    /// 0 = no match; 1 = the same text.
    pub score: f64,
    pub kind: SimKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SimKind {
    /// Same text (wildcards allowed).
    Same,
    /// The step text is a long prefix of the instruction's (a clipped tty row).
    Clipped,
    /// Same keyword, similar arguments: the instruction was edited since the build.
    Similar,
    None,
}

impl Sim {
    pub const NONE: Sim = Sim { score: 0.0, kind: SimKind::None };

    /// The text is the one that was built (not edited since).
    pub fn same(self) -> bool {
        matches!(self.kind, SimKind::Same | SimKind::Clipped)
    }
}

/// Shortest step text accepted as a clipped prefix: a tty row keeps at least this much of a long name.
const MIN_CLIPPED: usize = 40;
/// Token similarity (Dice, over the arguments) to exceed for "the same instruction, edited".
pub(super) const MIN_DICE: f64 = 0.5;

/// Collapses runs of blanks to one space and trims.
pub(super) fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits `KEYWORD args` into the upper-cased keyword and the normalised arguments.
pub(super) fn keyword_and_args(text: &str) -> (String, String) {
    let n = normalize(text);
    match n.split_once(' ') {
        Some((k, a)) => (k.to_ascii_uppercase(), a.to_string()),
        None => (n.to_ascii_uppercase(), String::new()),
    }
}

/// A step text made ready for many comparisons (alignment compares each step with every instruction of
/// its stage: preparing both sides once keeps that from allocating per pair).
pub(super) struct StepText {
    keyword: String,
    chars: Vec<char>,
    words: Vec<String>,
    /// FROM: the normalised image ref and its chars.
    built_ref: String,
    built_ref_chars: Vec<char>,
}

impl StepText {
    pub fn new(text: &str) -> StepText {
        let (keyword, args) = keyword_and_args(text);
        let built_ref = if keyword == "FROM" { normalize_ref(from_image(&args)) } else { String::new() };
        StepText {
            chars: args.chars().collect(),
            words: sorted_words(&args),
            built_ref_chars: built_ref.chars().collect(),
            built_ref,
            keyword,
        }
    }
}

/// An instruction made ready for many comparisons.
pub(super) struct InsText {
    keyword: String,
    toks: Vec<Tok>,
    words: Vec<String>,
    /// FROM: the normalised written ref and its pattern.
    written_ref: String,
    written_ref_toks: Vec<Tok>,
}

impl InsText {
    pub fn new(ins: &Instruction) -> InsText {
        let pattern = normalize(ins.args());
        let written_ref = if ins.keyword == "FROM" { normalize_ref(from_image(&pattern)) } else { String::new() };
        InsText {
            keyword: ins.keyword.clone(),
            toks: tokens(&pattern),
            words: sorted_words(&pattern),
            written_ref_toks: tokens(&written_ref),
            written_ref,
        }
    }
}

/// Compares step text `text` (`RUN make -j8`) with instruction `ins`.
pub(super) fn compare(text: &str, ins: &Instruction) -> Sim {
    compare_prepared(&StepText::new(text), &InsText::new(ins))
}

/// `compare` on prepared texts.
pub(super) fn compare_prepared(step: &StepText, ins: &InsText) -> Sim {
    if step.keyword != ins.keyword {
        return Sim::NONE;
    }
    if step.keyword == "FROM" {
        return compare_from(step, ins);
    }
    if glob(&ins.toks, &step.chars, false) {
        return Sim { score: 1.0, kind: SimKind::Same };
    }
    if step.chars.len() >= MIN_CLIPPED && glob(&ins.toks, &step.chars, true) {
        return Sim { score: 0.9, kind: SimKind::Clipped };
    }
    let d = dice_sorted(&step.words, &ins.words);
    if d > MIN_DICE {
        return Sim { score: 0.5 + 0.4 * d, kind: SimKind::Similar };
    }
    Sim::NONE
}

/// FROM: compare the image refs only (flags and `AS name` dropped), normalised on both sides.
fn compare_from(step: &StepText, ins: &InsText) -> Sim {
    if glob(&ins.written_ref_toks, &step.built_ref_chars, false) {
        return Sim { score: 1.0, kind: SimKind::Same };
    }
    if repository(&step.built_ref) == repository(&ins.written_ref) && !step.built_ref.is_empty() {
        return Sim { score: 0.75, kind: SimKind::Similar };
    }
    Sim::NONE
}

fn sorted_words(s: &str) -> Vec<String> {
    let mut words: Vec<String> = s.split_whitespace().map(String::from).collect();
    words.sort_unstable();
    words
}

/// The image word of FROM arguments: the first word that is not a `--flag`.
fn from_image(args: &str) -> &str {
    args.split_whitespace().find(|w| !w.starts_with("--")).unwrap_or("")
}

/// `docker.io/library/python:latest@sha256:…` → `python`; `ghcr.io/a/b:1` stays.
pub(super) fn normalize_ref(r: &str) -> String {
    let r = r.split('@').next().unwrap_or("");
    let r = r.strip_prefix("index.docker.io/").or_else(|| r.strip_prefix("docker.io/")).unwrap_or(r);
    let r = match r.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') => rest,
        _ => r,
    };
    let r = r.strip_suffix(":latest").unwrap_or(r);
    r.to_ascii_lowercase()
}

/// The ref without its tag.
fn repository(r: &str) -> &str {
    let slash = r.rfind('/').map_or(0, |i| i + 1);
    match r.get(slash..).and_then(|last| last.find(':')) {
        Some(colon) => r.get(..slash + colon).unwrap_or(r),
        None => r,
    }
}

/// A pattern element: a literal char or a variable (matches any run of chars).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Char(char),
    Any,
}

/// Turns Dockerfile text into a pattern: `$NAME` and `${…}` become wildcards.
pub(super) fn tokens(pattern: &str) -> Vec<Tok> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if c == '$' && next == Some('{') {
            let close = chars.iter().skip(i).position(|&c| c == '}');
            i = close.map_or(chars.len(), |p| i + p + 1);
            push_any(&mut out);
        } else if c == '$' && next.is_some_and(|n| n.is_ascii_alphabetic() || n == '_') {
            i += 1;
            while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                i += 1;
            }
            push_any(&mut out);
        } else {
            out.push(Tok::Char(c));
            i += 1;
        }
    }
    out
}

fn push_any(out: &mut Vec<Tok>) {
    if out.last() != Some(&Tok::Any) {
        out.push(Tok::Any);
    }
}

/// Literal chars a clipped name must end with after a wildcard that took blanks: else the wildcard could
/// swallow the rest of any text that shares the start of the instruction (an edit after a `$VAR` would
/// go unseen). A variable's value is one word; one that took several must be followed by real text.
const CLIPPED_TAIL: usize = 8;

/// Wildcard match of all of `text` against `pattern`; with `prefix`, `text` may stop early (a clipped
/// name), but not inside a wildcard (see `CLIPPED_TAIL`). The classic star-backtracking matcher:
/// O(len·len) worst case, no recursion.
pub(super) fn glob(pattern: &[Tok], text: &[char], prefix: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // The last wildcard: its pattern position, where its text starts, where it ends for now.
    let mut star: Option<(usize, usize, usize)> = None;
    // Text chars matched literally since the last one a wildcard took.
    let mut literal = 0usize;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Any) => {
                star = Some((p, t, t));
                p += 1;
            }
            Some(Tok::Char(c)) if Some(c) == text.get(t) => {
                p += 1;
                t += 1;
                literal += 1;
            }
            _ => match star {
                // Let the last wildcard take one more char and retry from there.
                Some((sp, from, st)) => {
                    star = Some((sp, from, st + 1));
                    p = sp + 1;
                    t = st + 1;
                    literal = 0;
                }
                None => return false,
            },
        }
    }
    let whole = pattern.get(p..).unwrap_or(&[]).iter().all(|t| *t == Tok::Any);
    let tail_ok = match star {
        None => true,
        Some((_, from, to)) => {
            let took_blanks = text.get(from..to).unwrap_or(&[]).iter().any(|c| c.is_whitespace());
            literal >= CLIPPED_TAIL || (literal > 0 && !took_blanks)
        }
    };
    whole || (prefix && tail_ok)
}

/// Dice coefficient of two texts' whitespace-separated words (as multisets), already sorted.
fn dice_sorted(x: &[String], y: &[String]) -> f64 {
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while let (Some(a), Some(b)) = (x.get(i), y.get(j)) {
        match a.cmp(b) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (2 * common) as f64 / (x.len() + y.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile;

    /// Compares a step text with the last instruction of `dockerfile`.
    fn check(step: &str, dockerfile: &str, kind: SimKind) {
        let df = dockerfile::parse(dockerfile);
        let ins = df.instructions.last().expect("an instruction");
        assert_eq!(compare(step, ins).kind, kind, "{step:?} vs {dockerfile:?}");
    }

    #[test]
    fn comparisons() {
        check("RUN make", "run   make", SimKind::Same);
        check("RUN a &&     b", "RUN a && \\\n    b", SimKind::Same);
        check("RUN echo 1.2.3 /opt/app", "ARG V\nRUN echo $V ${HOME:-/x}", SimKind::Same);
        check("RUN echo $V", "RUN echo ${V}", SimKind::Same);
        check("COPY --from=builder /src/app.sh /app/app.sh", "COPY --from=builder /src/app.sh /app/app.sh", SimKind::Same);
        check("RUN make -j8", "RUN make", SimKind::Similar);
        check("RUN make", "RUN cargo build", SimKind::None);
        check("COPY a b", "RUN a b", SimKind::None);
        check(
            "RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: some",
            "RUN echo \"checking for compiler... no\" >&2 && \\\n  echo \"error: something\"",
            SimKind::Clipped,
        );
        check("RUN echo a", "RUN echo abc", SimKind::None);
        check("WORKDIR /work", "WORKDIR /src", SimKind::None);
    }

    #[test]
    fn from_refs() {
        check("FROM docker.io/library/fixture-base", "FROM fixture-base AS build", SimKind::Same);
        check("FROM docker.io/library/python:3.13-slim@sha256:abcd", "FROM --platform=$X python:3.13-slim", SimKind::Same);
        check("FROM docker.io/library/python:3.12", "FROM python:3.13", SimKind::Similar);
        check("FROM ghcr.io/a/b:1", "ARG IMG\nFROM ${IMG}", SimKind::Same);
        check("FROM fixture-base AS build", "from fixture-base as build", SimKind::Same);
        check("FROM docker.io/library/alpine", "FROM debian", SimKind::None);
        check("FROM localhost:5000/x:1", "FROM localhost:5000/x:2", SimKind::Similar);
    }

    #[test]
    fn globbing() {
        let g = |p: &str, t: &str, prefix: bool| glob(&tokens(p), &t.chars().collect::<Vec<_>>(), prefix);
        assert!(g("a$X", "a", false));
        assert!(g("$X$Y b", "zz b", false));
        assert!(g("a${X", "ab", false));
        assert!(g("a${X", "a", false));
        assert!(g("abc", "ab", true));
        assert!(!g("abc", "abd", true));
        // A clipped name ends on literal text: a wildcard swallowing the rest proves nothing.
        assert!(!g("a/$X'; sleep 5; b $X; done", "a/$X'; sleep 2; b $X; done", true));
        assert!(g("echo $X && make all -j8", "echo 1.2 && make al", true));
        assert!(g("echo $X && make all -j8", "echo 1.2 && m", true));
        assert!(!g("echo $X && make all -j8", "echo 1.2", true));
        assert!(g("echo $X; make all -j8", "echo ab; ma", true));
        assert!(!g("echo $X; make all -j8", "echo a b; ma", true));
        assert!(g("", "", false));
        assert!(!g("", "x", false));
        assert_eq!(normalize_ref("index.docker.io/library/x:latest"), "x");
        assert_eq!(normalize_ref("docker.io/library/a/b"), "library/a/b");
        assert_eq!(repository("localhost:5000/x:1"), "localhost:5000/x");
    }
}

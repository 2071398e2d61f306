//! Compares a step's instruction text (as the builder printed it) with a Dockerfile instruction.
//!
//! BuildKit prints the keyword upper-cased, the joined text with ENV/ARG values expanded, FROM refs
//! normalised (`docker.io/library/x:tag`, maybe `@sha256:…`), and the tty display clips long names
//! (log-formats.md §3). So: whitespace is collapsed, `$VAR` / `${VAR}` / `${VAR:-x}` in the Dockerfile are
//! wildcards, FROM compares normalised refs (a FROM printed as an image id, podman's `FROM <64 hex> AS x`
//! for `FROM <stage> AS x`, compares its stage name), and a step text is taken as a prefix of the
//! instruction only where the parser says the name may be cut (`Step::clipped`: a tty row that reached the
//! terminal width, BuildKit's `...` cut); plain, legacy and podman names are whole, so an append shows.
//! A heredoc instruction also matches its name with the body's summary appended (`RUN <<EOF (set -eux...)`,
//! `Instruction::heredoc_name_suffix`).

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
    /// The step text is a prefix of the instruction's (a name the builder cut: `Step::clipped`).
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

/// Shortest step text accepted as a clipped prefix (of the arguments): shorter ones fit too many lines.
const MIN_CLIPPED: usize = 16;
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
    /// The name may be cut short (then a prefix of the instruction counts).
    clipped: bool,
    chars: Vec<char>,
    words: Vec<String>,
    /// FROM: the normalised image ref and its chars.
    built_ref: String,
    built_ref_chars: Vec<char>,
    /// FROM: the ref as printed (before normalising), for patterns that spell out a registry.
    raw_ref_chars: Vec<char>,
    /// FROM: the `AS name`, lower-cased.
    stage_name: Option<String>,
}

impl StepText {
    /// `clipped`: the builder may have cut the text (`Step::clipped`); BuildKit's `...` mark is dropped.
    pub fn new(text: &str, clipped: bool) -> StepText {
        let text = if clipped { text.trim_end().strip_suffix("...").unwrap_or(text) } else { text };
        let (keyword, args) = keyword_and_args(text);
        let from = keyword == "FROM";
        let raw_ref = if from { from_image(&args) } else { "" };
        let built_ref = if from { normalize_ref(raw_ref) } else { String::new() };
        StepText {
            chars: args.chars().collect(),
            words: sorted_words(&args),
            built_ref_chars: built_ref.chars().collect(),
            raw_ref_chars: raw_ref.chars().collect(),
            stage_name: if from { stage_name(&args) } else { None },
            built_ref,
            keyword,
            clipped,
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
    /// FROM: the `AS name`, lower-cased.
    stage_name: Option<String>,
    /// A heredoc instruction: the pattern and words of its name with the body's summary appended, as
    /// BuildKit names a `RUN <<EOF` and Buildah every heredoc instruction (`Instruction::heredoc_name_suffix`).
    summarised: Option<(Vec<Tok>, Vec<String>)>,
}

impl InsText {
    pub fn new(ins: &Instruction) -> InsText {
        let pattern = normalize(ins.args());
        let written_ref = if ins.keyword == "FROM" { normalize_ref(from_image(&pattern)) } else { String::new() };
        let summarised = ins.heredoc_name_suffix().map(|suffix| {
            let named = normalize(&format!("{pattern}{suffix}"));
            (tokens(&named), sorted_words(&named))
        });
        InsText {
            summarised,
            keyword: ins.keyword.clone(),
            toks: tokens(&pattern),
            words: sorted_words(&pattern),
            written_ref_toks: tokens(&written_ref),
            written_ref,
            stage_name: if ins.keyword == "FROM" { stage_name(&pattern) } else { None },
        }
    }
}

/// Compares step text `text` (`RUN make -j8`, maybe cut short when `clipped`) with instruction `ins`.
pub(super) fn compare(text: &str, clipped: bool, ins: &Instruction) -> Sim {
    compare_prepared(&StepText::new(text, clipped), &InsText::new(ins))
}

/// `compare` on prepared texts.
pub(super) fn compare_prepared(step: &StepText, ins: &InsText) -> Sim {
    if step.keyword != ins.keyword {
        return Sim::NONE;
    }
    if step.keyword == "FROM" {
        return compare_from(step, ins);
    }
    let patterns = std::iter::once((&ins.toks, &ins.words)).chain(ins.summarised.as_ref().map(|(t, w)| (t, w)));
    let mut dice: f64 = 0.0;
    for (toks, words) in patterns {
        if glob(toks, &step.chars, false) {
            return Sim { score: 1.0, kind: SimKind::Same };
        }
        if step.clipped && step.chars.len() >= MIN_CLIPPED && glob(toks, &step.chars, true) {
            return Sim { score: 0.9, kind: SimKind::Clipped };
        }
        dice = dice.max(dice_sorted(&step.words, words));
    }
    let d = dice;
    if d > MIN_DICE {
        return Sim { score: 0.5 + 0.4 * d, kind: SimKind::Similar };
    }
    Sim::NONE
}

/// FROM: compare the image refs only (flags and `AS name` dropped), normalised on both sides.
fn compare_from(step: &StepText, ins: &InsText) -> Sim {
    let same = |prefix: bool| {
        glob(&ins.written_ref_toks, &step.built_ref_chars, prefix) || glob(&ins.written_ref_toks, &step.raw_ref_chars, prefix)
    };
    if same(false) {
        return Sim { score: 1.0, kind: SimKind::Same };
    }
    if is_image_id(&step.built_ref) && step.stage_name == ins.stage_name {
        // Chained by image id (podman): the id says nothing of the text; the stage name must agree.
        return Sim { score: 1.0, kind: SimKind::Same };
    }
    if step.clipped && step.built_ref_chars.len() >= MIN_CLIPPED && same(true) {
        return Sim { score: 0.9, kind: SimKind::Clipped };
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

/// `AS name` of FROM arguments, lower-cased (stage names are case-insensitive).
fn stage_name(args: &str) -> Option<String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let at = words.iter().rposition(|w| w.eq_ignore_ascii_case("as"))?;
    words.get(at + 1).map(|w| w.to_ascii_lowercase())
}

/// An image id as a FROM ref: 64 hex digits, maybe after `sha256:`.
fn is_image_id(r: &str) -> bool {
    let hex = r.strip_prefix("sha256:").unwrap_or(r);
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
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

    /// Compares a whole step text with the last instruction of `dockerfile`.
    fn check(step: &str, dockerfile: &str, kind: SimKind) {
        check_as(step, false, dockerfile, kind);
    }

    /// Compares a step text that may be cut (`clipped`) with the last instruction of `dockerfile`.
    fn check_as(step: &str, clipped: bool, dockerfile: &str, kind: SimKind) {
        let df = dockerfile::parse(dockerfile);
        let ins = df.instructions.last().expect("an instruction");
        assert_eq!(compare(step, clipped, ins).kind, kind, "{step:?} (clipped: {clipped}) vs {dockerfile:?}");
    }

    /// A whole step text that is not the text of the last instruction of `dockerfile` (an edit).
    fn edited(step: &str, dockerfile: &str) {
        let df = dockerfile::parse(dockerfile);
        let ins = df.instructions.last().expect("an instruction");
        assert!(!compare(step, false, ins).same(), "{step:?} vs {dockerfile:?}");
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
        check_as(
            "RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: some",
            true,
            "RUN echo \"checking for compiler... no\" >&2 && \\\n  echo \"error: something\"",
            SimKind::Clipped,
        );
        check("RUN echo a", "RUN echo abc", SimKind::None);
        check("WORKDIR /work", "WORKDIR /src", SimKind::None);
    }

    /// A whole printed text (plain, legacy, podman, rawjson) that is a prefix of today's is an edit: the
    /// words appended at the end, however long the text before them.
    #[test]
    fn appends_to_whole_names_are_edits() {
        let long = "RUN echo \"Updating feeds for OpenWrt 23.05\" && sleep 1 && echo \"feeds: packages luci routing\"";
        let df = "ARG R\nRUN echo \"Updating feeds for OpenWrt $R\" && sleep 1 && echo \"feeds: packages luci routing\"";
        check(long, df, SimKind::Same);
        check(long, &format!("{df} && echo done"), SimKind::Similar);
        check_as(long, true, &format!("{df} && echo done"), SimKind::Clipped);
        // Continued instructions: the append on the last line, a deletion at the end, an edit at the start.
        let run = "RUN a --flag  && b --other-flag  && c --last-flag";
        let written = "RUN a --flag \\\n && b --other-flag \\\n && c --last-flag";
        check(run, written, SimKind::Same);
        check(run, &format!("{written} && true"), SimKind::Similar);
        check(run, "RUN a --flag \\\n && b --other-flag", SimKind::Similar);
        check(run, &written.replace("RUN a", "RUN z"), SimKind::Similar);
        check(run, &written.replace("other", "odder"), SimKind::Similar);
        // Next to a variable: literal text after it must still match to the end.
        check("RUN echo arm64 done", "ARG TARGETARCH\nRUN echo ${TARGETARCH} done", SimKind::Same);
        edited("RUN echo arm64 done", "ARG TARGETARCH\nRUN echo ${TARGETARCH} done now");
        edited("RUN echo arm64 done", "ARG TARGETARCH\nRUN echo ${TARGETARCH} gone");
        edited("RUN echo arm64 done", "ARG TARGETARCH\nRUN echo -n $TARGETARCH done");
        check("COPY app-arm64 /usr/bin/app", "ARG TARGETARCH\nCOPY app-$TARGETARCH /usr/bin/app", SimKind::Same);
        edited("COPY app-arm64 /usr/bin/app", "ARG TARGETARCH\nCOPY app-$TARGETARCH /usr/local/bin/app");
        check("ENV PATH=/opt/arm64/bin:/usr/bin", "ENV PATH=/opt/${TARGETARCH}/bin:$PATH", SimKind::Same);
        edited("ENV PATH=/opt/arm64/bin:/usr/bin", "ENV PATH=/opt/${TARGETARCH}/sbin:$PATH");
        check("RUN curl -fsSL \"https://x/arm64/tool\" -o /t", "RUN curl -fsSL \"https://x/${TARGETARCH}/tool\" -o /t", SimKind::Same);
    }

    /// Heredoc RUNs as BuildKit and Buildah name them (` (<first body line>...)` appended) and without the
    /// summary (BuildKit's name for `RUN python3 <<EOF`); an edit of the first body line is an edit.
    #[test]
    fn heredoc_names() {
        let df = "FROM a\nRUN <<EOF\nset -eux\napk add git\nEOF\n";
        check("RUN <<EOF (set -eux...)", df, SimKind::Same);
        check("RUN <<EOF", df, SimKind::Same);
        check("RUN <<EOF (set -eu...)", df, SimKind::Similar);
        check("RUN <<EOF (set -eux)", df, SimKind::Similar);
        check(
            "RUN --mount=type=cache,target=/c <<EOF (make -j8)",
            "FROM a\nRUN --mount=type=cache,target=/c <<EOF\n  make -j8\nEOF",
            SimKind::Same,
        );
        check("RUN python3 <<EOF", "FROM a\nRUN python3 <<EOF\nprint(1)\nEOF", SimKind::Same);
        check("RUN python3 <<EOF (print(1))", "FROM a\nRUN python3 <<EOF\nprint(1)\nEOF", SimKind::Same);
        check("RUN <<EOF (echo $HOME...)", "FROM a\nRUN <<EOF\necho $HOME\nls\nEOF", SimKind::Same);
        check("RUN <<EOF (echo /root...)", "FROM a\nRUN <<EOF\necho $HOME\nls\nEOF", SimKind::Same);
        check_as(
            "RUN <<EOF (apt-get update && apt-get ins",
            true,
            "FROM a\nRUN <<EOF\napt-get update && apt-get install -y git\nEOF",
            SimKind::Clipped,
        );
    }

    /// BuildKit's `PROGRESS_NO_TRUNC=0` cut: the `...` mark goes, the rest is a prefix.
    #[test]
    fn printer_cut_names_are_prefixes() {
        let written = "RUN apt-get update && apt-get install -y --no-install-recommends build-essential curl git";
        check_as("RUN apt-get update && apt-get install -y --no-install-recommends buil...", true, written, SimKind::Clipped);
        check_as("RUN apt-get update && apt-get install -y --no-install-recommends buil...", true, "RUN apt-get update", SimKind::None);
        check_as("RUN apt-get update && apt-get install -y --no-install-recommends buil...", false, written, SimKind::Similar);
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
        let digest = "3f2a4b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809123";
        check(&format!("FROM {digest} AS runtime"), "FROM build AS runtime", SimKind::Same);
        check(&format!("FROM sha256:{digest} AS runtime"), "FROM build AS Runtime", SimKind::Same);
        check(&format!("FROM {digest} AS runtime"), "FROM build AS final", SimKind::None);
        check(&format!("FROM {digest}"), "FROM build", SimKind::Same);
        check(
            "FROM docker.io/library/golang:1.22-alpine@sha256:0466223b8544fb7d4ff04748acc4d75a608234bf4e79563bff208d2060c0dd79 AS build",
            "FROM golang:1.22-alpine AS build",
            SimKind::Same,
        );
        check("FROM docker.io/library/golang:1.22-alpine@sha256:0466 AS build", "FROM golang:1.23-alpine AS build", SimKind::Similar);
        check("FROM docker.io/library/golang:1.22", "ARG GO=1.21\nFROM --platform=$BUILDPLATFORM golang:${GO}", SimKind::Same);
        check("FROM registry.example.com:5000/team/img:1", "ARG REG\nFROM ${REG}/team/img:1", SimKind::Same);
        // A ref cut at the terminal width.
        let cut = "FROM registry.codeocean.com/codeocean/stata:16.0-ubuntu18";
        check_as(cut, true, "FROM registry.codeocean.com/codeocean/stata:16.0-ubuntu18.04", SimKind::Clipped);
        check_as(cut, false, "FROM registry.codeocean.com/codeocean/stata:16.0-ubuntu18.04", SimKind::Similar);
        check_as(cut, true, "FROM registry.codeocean.com/codeocean/stata:17.0-ubuntu18.04", SimKind::Similar);
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

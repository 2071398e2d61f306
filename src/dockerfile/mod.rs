//! The Dockerfile model: every instruction with its exact lines, its stage, flags and form, plus stages.
//!
//! Architecture invariant: pure and infallible. `parse` takes text (no I/O, no LSP types) and always
//! returns a `Dockerfile`; anything odd is listed in `problems`. Instruction boundaries come from our own
//! tolerant `splitter` (a half-typed line mid-file must not hide the instructions after it); per-instruction
//! semantics (flags, JSON form) come from `parse-dockerfile` where it accepts the instruction, from a simple
//! reading of the splitter's text where it does not (`semantics`).

mod heredoc_name;
mod semantics;
mod splitter;
mod stages;

use serde::Serialize;

pub use stages::{Base, CopyFrom, Stage};

/// The instructions BuildKit knows; anything else is kept as an instruction with a problem.
pub const KEYWORDS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dockerfile {
    pub instructions: Vec<Instruction>,
    pub stages: Vec<Stage>,
    pub directives: Vec<Directive>,
    /// The escape character in force (`\` unless `# escape=` says otherwise).
    pub escape: char,
    pub problems: Vec<Problem>,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instruction {
    /// First and last line, 1-based, inclusive (a heredoc instruction ends at its terminator line).
    pub line: u32,
    pub end_line: u32,
    /// Byte range in the text: start of the first line to the end of the last (line break excluded).
    pub span: [usize; 2],
    /// The keyword upper-cased (`RUN`, `ONBUILD`, or an unknown word as typed, upper-cased).
    pub keyword: String,
    /// For `ONBUILD RUN x`: the triggered instruction's keyword (`RUN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onbuild: Option<String>,
    /// The source text of the lines, exactly (line breaks kept; a CRLF file keeps its `\r`).
    pub original: String,
    /// The logical line as BuildKit names it: continuations removed (backslash-newline dropped, the next
    /// line's indentation kept), comment and empty lines inside the continuation dropped, heredoc bodies
    /// left out. The keyword is as written.
    pub joined: String,
    /// 0-based stage index; `None` for ARGs (or stray lines) before the first FROM.
    pub stage: Option<usize>,
    /// Leading `--name[=value]` flags (`--from=builder`, `--mount=type=cache,target=/x`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    pub form: Form,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heredocs: Vec<Heredoc>,
    /// True when `parse-dockerfile` accepted the instruction (flags and form are its reading).
    pub parsed: bool,
}

impl Instruction {
    /// The arguments: the joined text after the keyword (and after `ONBUILD <KEYWORD>` for triggers).
    pub fn args(&self) -> &str {
        let rest = splitter::after_first_word(&self.joined);
        if self.onbuild.is_some() {
            splitter::after_first_word(rest)
        } else {
            rest
        }
    }

    /// The value of flag `--name`, if given (last one wins, as in BuildKit).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().rev().find(|f| f.name == name).and_then(|f| f.value.as_deref())
    }

    /// The keyword that describes what runs: the trigger's for ONBUILD.
    pub fn effective_keyword(&self) -> &str {
        self.onbuild.as_deref().unwrap_or(&self.keyword)
    }
}

/// A `--name[=value]` flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

/// Shell form (`RUN make`) or exec/JSON form (`CMD ["a", "b"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    Shell,
    Json,
}

/// A here-document of a RUN/COPY/ADD instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The delimiter word (`EOF`).
    pub name: String,
    /// `<<-EOF`: leading tabs are stripped from the body and the terminator.
    pub strip_tabs: bool,
    /// `<<'EOF'` / `<<"EOF"`: no expansion in the body.
    pub quoted: bool,
    /// First body line and the terminator line (1-based); `end_line` is the last line of the file when the
    /// heredoc is never terminated.
    pub line: u32,
    pub end_line: u32,
    pub terminated: bool,
}

/// A parser directive (`# syntax=…`, `# escape=…`, `# check=…`) at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    /// Lower-cased name.
    pub name: String,
    pub value: String,
    pub line: u32,
}

/// Something odd in the Dockerfile, on a line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: u32,
    pub message: String,
}

/// Parses a Dockerfile. Never fails: odd input gives instructions plus `problems`.
pub fn parse(text: &str) -> Dockerfile {
    let split = splitter::split(text);
    let mut problems = split.problems.clone();
    let mut instructions: Vec<Instruction> = split.pieces.iter().map(|p| instruction(text, &split, p)).collect();
    for ins in &mut instructions {
        semantics::fill(ins, split.escape, &mut problems);
    }
    let stages = stages::build(&mut instructions, &mut problems);
    problems.sort_by_key(|p| p.line);
    Dockerfile { instructions, stages, directives: split.directives, escape: split.escape, problems }
}

/// Turns a splitter piece into an instruction (semantics and stage are filled in later).
fn instruction(text: &str, split: &splitter::Split<'_>, piece: &splitter::Piece) -> Instruction {
    let start = split.lines.get(piece.first).map_or(0, |l| l.start);
    let end = split.lines.get(piece.last).map_or(start, |l| l.start.saturating_add(l.text.len()));
    let original = text.get(start..end).unwrap_or("").to_string();
    let joined = piece.joined.trim().to_string();
    let keyword = splitter::first_word(&joined).to_ascii_uppercase();
    let onbuild = (keyword == "ONBUILD").then(|| splitter::first_word(splitter::after_first_word(&joined)).to_ascii_uppercase());
    Instruction {
        line: splitter::line_no(piece.first),
        end_line: splitter::line_no(piece.last),
        span: [start, end],
        keyword,
        onbuild,
        original,
        joined,
        stage: None,
        flags: Vec::new(),
        form: Form::Shell,
        heredocs: piece.heredocs.clone(),
        parsed: false,
    }
}

impl Dockerfile {
    /// The directive's value, if present (`syntax`, `escape`, `check`).
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.directives.iter().find(|d| d.name == name).map(|d| d.value.as_str())
    }

    /// Index of the instruction covering 1-based `line`, if any.
    pub fn instruction_at_line(&self, line: u32) -> Option<usize> {
        self.instructions.iter().position(|i| i.line <= line && line <= i.end_line)
    }

    /// Indexes of the instructions of stage `stage`, FROM first.
    pub fn stage_instructions(&self, stage: usize) -> Vec<usize> {
        (0..self.instructions.len()).filter(|&i| self.instructions.get(i).and_then(|x| x.stage) == Some(stage)).collect()
    }

    /// The instructions BuildKit numbers `[stage k/n]` in a stage (log-formats.md §3): FROM of an image
    /// (not scratch, not another stage), ADD, COPY, RUN, WORKDIR.
    pub fn buildkit_counted(&self, stage: usize) -> Vec<usize> {
        let base_counts = self.stages.get(stage).is_some_and(|s| matches!(s.base, Base::Image(_)));
        self.stage_instructions(stage)
            .into_iter()
            .filter(|&i| {
                let k = self.instructions.get(i).map_or("", |x| x.keyword.as_str());
                match k {
                    "FROM" => base_counts,
                    "ADD" | "COPY" | "RUN" | "WORKDIR" => true,
                    _ => false,
                }
            })
            .collect()
    }

    /// Index of the stage named `name` (case-insensitive, as BuildKit lower-cases stage names).
    pub fn stage_named(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
    }
}

#[cfg(test)]
mod tests;

//! Where each instruction of a Dockerfile starts, with its stage: just enough to point a log's step
//! header (`[build 3/6] RUN …`, `Step 3/9 : …`, `[2/2] STEP 1/3: …`) at a line. Tolerant: a half-typed
//! line is one more instruction, never an error. (To be replaced by the shared Dockerfile splitter when
//! `src/dockerfile/` lands; docs/dependencies.md explains why a splitter and not a parser.)

/// One instruction: 1-based first line, its stage (0-based) and 1-based position in that stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub line: u32,
    pub stage: usize,
    pub k: u32,
    pub keyword: String,
    /// Whitespace-collapsed text, continuations joined, for matching against what a builder printed.
    pub text: String,
}

/// A stage: its `AS name`, lower-cased, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stage {
    pub name: Option<String>,
}

/// Splits `text` into instructions and stages.
pub fn split(text: &str) -> (Vec<Instruction>, Vec<Stage>) {
    let escape = escape_char(text);
    let (mut out, mut stages) = (Vec::new(), Vec::<Stage>::new());
    let mut lines = text.lines().enumerate();
    let mut k = 0u32;
    while let Some((i, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut joined = String::from(trimmed);
        let heredoc = heredoc_end(trimmed);
        let mut cur = trimmed.to_string();
        while let Some(body) = cur.strip_suffix(escape) {
            joined.truncate(joined.len() - cur.len() + body.len());
            let Some((_, next)) = lines.by_ref().find(|(_, l)| !l.trim_start().starts_with('#')) else { break };
            joined.push(' ');
            joined.push_str(next.trim());
            cur = next.trim_end().to_string();
        }
        if let Some(end) = heredoc {
            for (_, l) in lines.by_ref() {
                if l.trim() == end {
                    break;
                }
            }
        }
        let keyword = joined.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if keyword == "FROM" {
            stages.push(Stage { name: stage_name(&joined) });
            k = 0;
        }
        // `ARG`s before the first `FROM` belong to no stage: k = 0.
        if !stages.is_empty() {
            k = k.saturating_add(1);
        }
        let stage = stages.len().saturating_sub(1);
        let text = collapse(&joined);
        out.push(Instruction { line: i as u32 + 1, stage, k, keyword, text });
    }
    (out, stages)
}

/// Collapses runs of whitespace to one space (BuildKit prints continuation lines joined, keeping their
/// indentation, so `a &&     b` must match `a && \` + `    b`).
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `# escape=` parser directive (only at the very top), else `\`.
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else { break };
        let d = directive.trim().to_ascii_lowercase();
        if let Some(v) = d.strip_prefix("escape").map(|r| r.trim_start()).and_then(|r| r.strip_prefix('=')) {
            return if v.trim() == "`" { '`' } else { '\\' };
        }
    }
    '\\'
}

/// `RUN <<EOF` / `COPY <<-"EOF" /x`: the terminator word of the first heredoc on the line.
fn heredoc_end(line: &str) -> Option<String> {
    let at = line.find("<<")?;
    let rest = line.get(at + 2..)?.trim_start_matches('-');
    let word: String = rest.chars().filter(|c| *c != '"' && *c != '\'').take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!word.is_empty()).then_some(word)
}

fn stage_name(from: &str) -> Option<String> {
    let words: Vec<&str> = from.split_whitespace().collect();
    let pos = words.iter().position(|w| w.eq_ignore_ascii_case("as"))?;
    words.get(pos + 1).map(|w| w.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(line, stage, k, keyword)` of each instruction.
    fn check(text: &str, expect: &[(u32, usize, u32, &str)]) {
        let (got, _) = split(text);
        let got: Vec<_> = got.iter().map(|i| (i.line, i.stage, i.k, i.keyword.as_str())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn single_stage_with_continuations_and_comments() {
        check("# syntax=x\nFROM a\n\nRUN x \\\n  # note\n  y\nCOPY . .\n", &[(2, 0, 1, "FROM"), (4, 0, 2, "RUN"), (7, 0, 3, "COPY")]);
    }
    #[test]
    fn stages_restart_k() {
        check(
            "FROM a AS b\nRUN x\nFROM b\nCOPY --from=b / /\n",
            &[(1, 0, 1, "FROM"), (2, 0, 2, "RUN"), (3, 1, 1, "FROM"), (4, 1, 2, "COPY")],
        );
    }
    #[test]
    fn heredoc_and_escape_directive() {
        check("FROM a\nRUN <<EOF\nRUN not an instruction\nEOF\nRUN z\n", &[(1, 0, 1, "FROM"), (2, 0, 2, "RUN"), (5, 0, 3, "RUN")]);
        check("# escape=`\nFROM a\nRUN x `\n  y\nRUN \\\n", &[(2, 0, 1, "FROM"), (3, 0, 2, "RUN"), (5, 0, 3, "RUN")]);
    }
    #[test]
    fn joined_text_matches_what_buildkit_prints() {
        let (got, stages) = split("FROM a AS Build\nRUN echo 1 && \\\n    echo 2\n");
        assert_eq!(got[1].text, collapse("RUN echo 1 &&     echo 2"));
        assert_eq!(stages[0].name.as_deref(), Some("build"));
    }
    #[test]
    fn args_before_from_are_in_no_stage() {
        check("ARG V=1\nFROM a:$V\nRUN x\n", &[(1, 0, 0, "ARG"), (2, 0, 1, "FROM"), (3, 0, 2, "RUN")]);
    }
    #[test]
    fn half_typed_lines_do_not_stop_it() {
        check("FROM a\nRU\nRUN \\", &[(1, 0, 1, "FROM"), (2, 0, 2, "RU"), (3, 0, 3, "RUN")]);
    }
}

//! The text builders append to a heredoc instruction's name: ` (<first line of the body>...)`.
//!
//! BuildKit names a RUN whose command is one heredoc and nothing else (`RUN <<EOF`, flags allowed) as
//! `RUN <<EOF (<summary>)`; Buildah/podman append a ` (<summary>)` for every heredoc of the instruction.
//! The summary is the body with surrounding blanks trimmed, its first line, and `...` when more lines
//! follow (BuildKit `summarizeHeredoc`, Buildah's copy of it). Other heredoc RUNs (`RUN python3 <<EOF`,
//! two heredocs) keep BuildKit's plain name: callers compare with both.

use super::Instruction;

impl Instruction {
    /// The builder's name suffix for this instruction's heredocs (` (set -eux...)`, one per heredoc), or
    /// `None` when it has none.
    pub fn heredoc_name_suffix(&self) -> Option<String> {
        if self.heredocs.is_empty() {
            return None;
        }
        let lines: Vec<&str> = self.original.split('\n').collect();
        let mut suffix = String::new();
        for h in &self.heredocs {
            let first = usize::try_from(h.line.saturating_sub(self.line)).unwrap_or(usize::MAX);
            // The terminator line is not part of the body (an unterminated body runs to the last line).
            let end_line = if h.terminated { h.end_line } else { h.end_line.saturating_add(1) };
            let last = usize::try_from(end_line.saturating_sub(self.line)).unwrap_or(usize::MAX);
            let body = lines.get(first..last.min(lines.len())).unwrap_or(&[]);
            suffix.push_str(" (");
            suffix.push_str(&summary(body));
            suffix.push(')');
        }
        Some(suffix)
    }
}

/// The body trimmed of blank lines and blanks at both ends: its first line, `...` if more follow.
fn summary(body: &[&str]) -> String {
    let trimmed: Vec<&str> = body.iter().map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let start = trimmed.iter().position(|l| !l.trim().is_empty());
    let end = trimmed.iter().rposition(|l| !l.trim().is_empty());
    let (Some(start), Some(end)) = (start, end) else { return String::new() };
    let first = trimmed.get(start).map_or("", |l| l.trim_start());
    let first = if start == end { first.trim_end() } else { first };
    if start == end {
        first.to_string()
    } else {
        format!("{first}...")
    }
}

#[cfg(test)]
mod tests {
    use crate::dockerfile;

    fn suffix(text: &str) -> Option<String> {
        dockerfile::parse(text).instructions.last().and_then(|i| i.heredoc_name_suffix())
    }

    #[test]
    fn first_body_line_and_an_ellipsis() {
        assert_eq!(suffix("FROM a\nRUN <<EOF\nset -eux\napk add git\nEOF\n").as_deref(), Some(" (set -eux...)"));
        assert_eq!(suffix("FROM a\nRUN <<EOF\n  echo one  \nEOF\n").as_deref(), Some(" (echo one)"));
        // Blank lines around the body are trimmed first; CRLF files too.
        assert_eq!(suffix("FROM a\r\nRUN <<EOF\r\n\r\n\techo a\r\n\r\necho b\r\n\r\nEOF\r\n").as_deref(), Some(" (echo a...)"));
        assert_eq!(suffix("FROM a\nRUN <<EOF\nEOF\n").as_deref(), Some(" ()"));
        assert_eq!(suffix("FROM a\nRUN <<A <<B\na1\nA\nb1\nb2\nB\n").as_deref(), Some(" (a1) (b1...)"));
        // Unterminated: the body runs to the end of the file.
        assert_eq!(suffix("FROM a\nRUN <<EOF\nmake\n").as_deref(), Some(" (make)"));
        assert_eq!(suffix("FROM a\nRUN make\n"), None);
    }
}

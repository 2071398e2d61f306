//! A tolerant splitter: decides where each Dockerfile instruction starts and ends, line by line.
//!
//! It never gives up: a half-typed or unknown line mid-file is one more (odd) instruction and the
//! splitter carries on, which a full parser cannot do (see shared/docs/dependencies.md). The rules follow
//! BuildKit's `frontend/dockerfile/parser/parser.go`: parser directives only at the top, continuation =
//! escape char + optional blanks at the end of a line, comment and empty lines inside a continuation are
//! dropped, the next line's indentation is kept; heredocs (`<<EOF`, `<<-EOF`, `<<'EOF'`) on RUN/COPY/ADD
//! lines run to their terminator line.

use super::{Directive, Heredoc, Problem};

/// One physical line: its text without the line break (and without a trailing `\r`), its byte offset.
#[derive(Debug, Clone, Copy)]
pub(super) struct PhysLine<'a> {
    pub text: &'a str,
    pub start: usize,
}

/// One instruction as the splitter sees it.
#[derive(Debug, Clone)]
pub(super) struct Piece {
    /// 0-based indexes of the first and last physical line.
    pub first: usize,
    pub last: usize,
    /// The logical line: continuations removed, heredoc bodies not included.
    pub joined: String,
    pub heredocs: Vec<Heredoc>,
}

/// What the splitter found in a whole file.
#[derive(Debug, Clone)]
pub(super) struct Split<'a> {
    pub lines: Vec<PhysLine<'a>>,
    pub directives: Vec<Directive>,
    pub escape: char,
    pub pieces: Vec<Piece>,
    pub problems: Vec<Problem>,
}

/// Instructions whose line may open heredocs (BuildKit `heredocDirectives`).
const HEREDOC_KEYWORDS: [&str; 3] = ["RUN", "COPY", "ADD"];

/// Splits `text` into physical lines (LF or CRLF), dropping a UTF-8 BOM.
pub(super) fn physical_lines(text: &str) -> Vec<PhysLine<'_>> {
    let bom = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let mut out = Vec::new();
    let mut start = bom;
    let body = text.get(bom..).unwrap_or("");
    for piece in body.split_inclusive('\n') {
        let line = piece.strip_suffix('\n').unwrap_or(piece);
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push(PhysLine { text: line, start });
        start = start.saturating_add(piece.len());
    }
    out
}

/// Runs the splitter over a whole file.
pub(super) fn split(text: &str) -> Split<'_> {
    let lines = physical_lines(text);
    let mut problems = Vec::new();
    let (directives, first_body_line) = directives(&lines);
    let escape = escape_char(&directives, &mut problems);
    let mut pieces = Vec::new();
    let mut i = first_body_line;
    while i < lines.len() {
        let t = lines.get(i).map_or("", |l| l.text.trim_start());
        if t.is_empty() || t.starts_with('#') {
            i += 1;
            continue;
        }
        let piece = instruction_at(&lines, i, escape, &mut problems);
        i = piece.last + 1;
        pieces.push(piece);
    }
    Split { lines, directives, escape, pieces, problems }
}

/// Reads `# name=value` lines at the very top; the first other line ends them (BuildKit directives.go).
fn directives(lines: &[PhysLine<'_>]) -> (Vec<Directive>, usize) {
    let mut out: Vec<Directive> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((name, value)) = directive(line.text) else {
            return (out, i);
        };
        if out.iter().any(|d| d.name == name) {
            // A repeated directive is an ordinary comment from here on (BuildKit errors; we note it).
            return (out, i);
        }
        out.push(Directive { name, value, line: line_no(i) });
    }
    let n = lines.len();
    (out, n)
}

/// `# syntax=docker/dockerfile:1` → (`syntax`, `docker/dockerfile:1`).
fn directive(text: &str) -> Option<(String, String)> {
    let rest = text.trim_start().strip_prefix('#')?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim_matches([' ', '\t']);
    let value = value.trim_matches([' ', '\t']);
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric());
    (ok && !value.is_empty()).then(|| (name.to_ascii_lowercase(), value.to_string()))
}

fn escape_char(directives: &[Directive], problems: &mut Vec<Problem>) -> char {
    let Some(d) = directives.iter().find(|d| d.name == "escape") else {
        return '\\';
    };
    match d.value.as_str() {
        "\\" => '\\',
        "`" => '`',
        other => {
            problems.push(Problem { line: d.line, message: format!("invalid escape token '{other}': must be ` or \\") });
            '\\'
        }
    }
}

/// 1-based line number of a 0-based index, saturating.
pub(super) fn line_no(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX - 1).saturating_add(1)
}

/// The instruction starting at line `start`: its continuation lines, then its heredoc bodies.
fn instruction_at(lines: &[PhysLine<'_>], start: usize, escape: char, problems: &mut Vec<Problem>) -> Piece {
    let mut joined = String::new();
    let mut i = start;
    let mut last;
    loop {
        let text = lines.get(i).map_or("", |l| l.text);
        let (content, continues) = strip_continuation(text, escape);
        joined.push_str(content);
        last = i;
        if !continues {
            break;
        }
        // Comment and empty lines inside a continuation are dropped (BuildKit warns on empty ones).
        i += 1;
        while lines.get(i).is_some_and(|l| is_blank_or_comment(l.text)) {
            i += 1;
        }
        if i >= lines.len() {
            problems.push(Problem { line: line_no(last), message: "line continuation at the end of the file".into() });
            break;
        }
    }
    let mut piece = Piece { first: start, last, joined, heredocs: Vec::new() };
    read_heredocs(lines, &mut piece, problems);
    piece
}

fn is_blank_or_comment(text: &str) -> bool {
    let t = text.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Removes a trailing escape char (plus blanks after it): BuildKit's `\\[ \t]*$` line-continuation regexp.
fn strip_continuation(text: &str, escape: char) -> (&str, bool) {
    let trimmed = text.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(content) => (content, true),
        None => (text, false),
    }
}

/// Consumes the heredoc bodies opened on the piece's logical line, extending the piece to the terminators.
fn read_heredocs(lines: &[PhysLine<'_>], piece: &mut Piece, problems: &mut Vec<Problem>) {
    let keyword = first_word(&piece.joined).to_ascii_uppercase();
    let keyword = if keyword == "ONBUILD" { first_word(after_first_word(&piece.joined)).to_ascii_uppercase() } else { keyword };
    if !HEREDOC_KEYWORDS.contains(&keyword.as_str()) {
        return;
    }
    for (name, strip_tabs, quoted) in heredoc_markers(&piece.joined) {
        let body_start = piece.last + 1;
        let mut i = body_start;
        let end = loop {
            let Some(line) = lines.get(i) else { break None };
            let candidate = if strip_tabs { line.text.trim_start_matches('\t') } else { line.text };
            if candidate.trim_end_matches([' ', '\t']) == name {
                break Some(i);
            }
            i += 1;
        };
        let terminated = end.is_some();
        let end = end.unwrap_or(lines.len().saturating_sub(1).max(piece.last));
        if !terminated {
            problems.push(Problem { line: line_no(piece.first), message: format!("heredoc '{name}' is never terminated") });
        }
        piece.heredocs.push(Heredoc { name, strip_tabs, quoted, line: line_no(body_start), end_line: line_no(end), terminated });
        piece.last = end;
        if !terminated {
            return;
        }
    }
}

pub(super) fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("")
}

pub(super) fn after_first_word(s: &str) -> &str {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    s.get(end..).unwrap_or("").trim_start()
}

/// Heredoc openers in a logical line, in order: words that start with `<<` or `<<-` (after optional
/// fd digits), outside quotes, as BuildKit's `heredocsFromLine` reads them (`cat<<EOF` is not one).
pub(super) fn heredoc_markers(line: &str) -> Vec<(String, bool, bool)> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'<' && at_word_start(bytes, i) => {
                if let Some((marker, len)) = heredoc_marker(line.get(i..).unwrap_or("")) {
                    out.push(marker);
                    i += len;
                    continue;
                }
            }
            None => {}
        }
        i += 1;
    }
    out
}

/// True when the `<` at `i` begins a word, allowing fd digits before it (`2<<EOF`).
fn at_word_start(bytes: &[u8], i: usize) -> bool {
    let mut j = i;
    while j > 0 && bytes.get(j - 1).is_some_and(u8::is_ascii_digit) {
        j -= 1;
    }
    j == 0 || bytes.get(j - 1).is_some_and(|b| *b == b' ' || *b == b'\t')
}

/// Reads `<<[-]WORD`, `<<[-]'WORD'`, `<<[-]"WORD"` at the start of `s`: ((name, strip_tabs, quoted), length).
fn heredoc_marker(s: &str) -> Option<((String, bool, bool), usize)> {
    let rest = s.strip_prefix("<<")?;
    if rest.starts_with('<') {
        return None; // `<<<` is a here-string
    }
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
    let body = if quote.is_some() { rest.get(1..)? } else { rest };
    let name_len =
        body.find(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == '<' || c == '>' || c == ';').unwrap_or(body.len());
    let name = body.get(..name_len)?;
    if name.is_empty() {
        return None;
    }
    if let Some(q) = quote {
        body.get(name_len..)?.strip_prefix(q)?;
    }
    let len = s.len() - rest.len() + usize::from(quote.is_some()) * 2 + name_len;
    Some(((name.to_string(), strip_tabs, quote.is_some()), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (first line, last line, joined) of every piece, 1-based.
    fn check(text: &str, expect: &[(u32, u32, &str)]) {
        let s = split(text);
        let got: Vec<(u32, u32, String)> = s.pieces.iter().map(|p| (line_no(p.first), line_no(p.last), p.joined.clone())).collect();
        let want: Vec<(u32, u32, String)> = expect.iter().map(|(a, b, c)| (*a, *b, c.to_string())).collect();
        assert_eq!(got, want, "{text:?}");
    }

    #[test]
    fn boundaries() {
        check("", &[]);
        check("\n", &[]);
        check("FROM a", &[(1, 1, "FROM a")]);
        check("FROM a\nRUN b\n", &[(1, 1, "FROM a"), (2, 2, "RUN b")]);
        check("# c\n\nFROM a\n  # x\nrun b", &[(3, 3, "FROM a"), (5, 5, "run b")]);
        check("FROM a\nRUN x && \\\n    y\n", &[(1, 1, "FROM a"), (2, 3, "RUN x &&     y")]);
        check("RUN a \\  \n b", &[(1, 2, "RUN a  b")]);
        check("RUN a \\\n# c\n\n  b\nRUN c", &[(1, 4, "RUN a   b"), (5, 5, "RUN c")]);
        check("FROM a\r\nRUN x \\\r\n  y\r\n", &[(1, 1, "FROM a"), (2, 3, "RUN x   y")]);
        check("RUN a \\", &[(1, 1, "RUN a ")]);
        check("RUN a \\\n\n# only comments\n", &[(1, 1, "RUN a ")]);
        check("\u{feff}FROM a", &[(1, 1, "FROM a")]);
    }

    #[test]
    fn half_typed_lines_do_not_hide_later_instructions() {
        check("FROM a\nRU\nCOPY --from=\nRUN ok\n", &[(1, 1, "FROM a"), (2, 2, "RU"), (3, 3, "COPY --from="), (4, 4, "RUN ok")]);
        check("FROM a\nRUN echo \"unterminated\nRUN ok", &[(1, 1, "FROM a"), (2, 2, "RUN echo \"unterminated"), (3, 3, "RUN ok")]);
    }

    #[test]
    fn escape_directive() {
        check("# escape=`\nFROM a\nRUN x `\n  y\nRUN c:\\path\\", &[(2, 2, "FROM a"), (3, 4, "RUN x   y"), (5, 5, "RUN c:\\path\\")]);
        let s = split("# escape=x\nFROM a");
        assert_eq!(s.escape, '\\');
        assert_eq!(s.problems.len(), 1);
        let s = split("# syntax=docker/dockerfile:1\n# Escape = `\n\n# escape=\\\nFROM a");
        let names: Vec<&str> = s.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["syntax", "escape"]);
        assert_eq!(s.escape, '`');
    }

    #[test]
    fn heredocs() {
        check("RUN <<EOF\necho a\nEOF\nRUN b", &[(1, 3, "RUN <<EOF"), (4, 4, "RUN b")]);
        check("RUN cat > f <<'EOF'\n$x\nEOF\n", &[(1, 3, "RUN cat > f <<'EOF'")]);
        check("COPY <<EOF /f\nhello\nEOF\n", &[(1, 3, "COPY <<EOF /f")]);
        check("RUN <<-EOT\n\techo\n\tEOT\nRUN b", &[(1, 3, "RUN <<-EOT"), (4, 4, "RUN b")]);
        check("RUN <<A <<B\na\nA\nb\nB\nRUN c", &[(1, 5, "RUN <<A <<B"), (6, 6, "RUN c")]);
        check("RUN cat <<EOF >> file\nx\nEOF\nRUN d", &[(1, 3, "RUN cat <<EOF >> file"), (4, 4, "RUN d")]);
        check("RUN echo $((1<<3))\nRUN d", &[(1, 1, "RUN echo $((1<<3))"), (2, 2, "RUN d")]);
        check("RUN echo '<<EOF'\nRUN d", &[(1, 1, "RUN echo '<<EOF'"), (2, 2, "RUN d")]);
        check("ENV A <<EOF\nRUN d", &[(1, 1, "ENV A <<EOF"), (2, 2, "RUN d")]);
        check("RUN cat <<<x\nRUN d", &[(1, 1, "RUN cat <<<x"), (2, 2, "RUN d")]);
        check("RUN <<EOF\nnever ends\n", &[(1, 2, "RUN <<EOF")]);
        check("ONBUILD RUN <<EOF\nx\nEOF\n", &[(1, 3, "ONBUILD RUN <<EOF")]);
    }

    #[test]
    fn markers() {
        assert_eq!(heredoc_markers("RUN 2<<\"E F\" x"), vec![]);
        assert_eq!(heredoc_markers("RUN 2<<\"EF\" x"), vec![("EF".to_string(), false, true)]);
        assert_eq!(heredoc_markers("RUN <<-'X'"), vec![("X".to_string(), true, true)]);
        assert_eq!(heredoc_markers("RUN cat<<EOF"), vec![]);
        assert_eq!(heredoc_markers("RUN <<"), vec![]);
    }
}

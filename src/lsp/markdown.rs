//! Markdown that cannot be hijacked by a log: text from a log is either escaped inline or fenced, so no
//! link, image, HTML or `command:` URI can come from a build's output (a log is untrusted input; VS Code
//! renders hover Markdown and may run command links from trusted sources).

/// Escapes every ASCII punctuation character CommonMark gives a meaning to (all of them may be
/// backslash-escaped, CommonMark §2.4), so the text renders literally: no emphasis, links, HTML, autolinks
/// (`<…>`), entities (`&…;`) or table cells (`|`). `:` is escaped too, which breaks `http://` autolinking.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
            out.push(c);
        } else if c == '\n' || c == '\r' || c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// A fenced code block holding `lines` verbatim. The fence is a run of backticks longer than any run in
/// the text (CommonMark §4.5: a closing fence must be at least as long), so the text cannot close it.
pub fn code_block(lines: &[String]) -> String {
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{fence}text\n");
    for line in lines {
        // Control characters (ANSI remnants, NUL) are shown as spaces; the line structure is ours.
        let clean: String = line.chars().map(|c| if c.is_control() && c != '\t' { ' ' } else { c }).collect();
        out.push_str(&clean);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

fn longest_run(text: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in text.chars() {
        cur = if c == ch { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_escape(input: &str, expect: &str) {
        assert_eq!(escape(input), expect);
    }

    #[test]
    fn escapes() {
        check_escape("plain words", "plain words");
        check_escape("[x](command:rm)", "\\[x\\]\\(command\\:rm\\)");
        check_escape("![img](http://e/x.png)", "\\!\\[img\\]\\(http\\:\\/\\/e\\/x\\.png\\)");
        check_escape("<img src=x onerror=y>", "\\<img src\\=x onerror\\=y\\>");
        check_escape("*a* _b_ `c` | &amp;", "\\*a\\* \\_b\\_ \\`c\\` \\| \\&amp\\;");
        check_escape("a\nb\u{1b}", "a b ");
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        assert_eq!(code_block(&["a".into()]), "```text\na\n```\n");
        assert_eq!(code_block(&["````".into(), "x".into()]), "`````text\n````\nx\n`````\n");
        assert_eq!(code_block(&["a\u{7}b\tc".into()]), "```text\na b\tc\n```\n");
    }
}

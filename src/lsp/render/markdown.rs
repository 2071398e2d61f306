//! Markdown that cannot be hijacked by a log: text from a log is either escaped inline or fenced, so no
//! link, image, HTML or `command:` URI can come from a build's output (a log is untrusted input; VS Code
//! renders hover Markdown and may run command links from trusted sources).

/// Escapes what CommonMark (and GFM, as VS Code renders it) would read as markup in running text, and
/// nothing else, so the text renders literally where escapes show (Neovim draws them as typed): `\`,
/// `` ` ``, `*`, `[`, `]` (no link or image can open), `<`, `>`, `&` (no HTML, autolink or entity), `|`
/// (table cells), `~`, `_` at a word's edge (emphasis; `a_b` stays), a `#`, `-`, `+` or `=` that starts
/// the text, and the `:` of `://` and the `.` of `www.` (GFM's bare-URL autolinks). Line breaks become
/// spaces: the caller's line stays one line. Ids and paths belong in `code_span`, which needs no escapes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let chars: Vec<char> = text.chars().collect();
    let word = |i: Option<usize>| i.and_then(|i| chars.get(i)).is_some_and(|c| c.is_alphanumeric());
    for (i, &c) in chars.iter().enumerate() {
        let escaped = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '&' | '|' | '~' => true,
            '_' => !(word(i.checked_sub(1)) && word(Some(i + 1))),
            '#' | '-' | '+' | '=' => i == 0,
            ':' => chars.get(i + 1..i + 3) == Some(&['/', '/']),
            '.' => i >= 3 && chars[i - 3..i].iter().collect::<String>().eq_ignore_ascii_case("www") && !word(i.checked_sub(4)),
            _ => false,
        };
        if escaped {
            out.push('\\');
            out.push(c);
        } else if matches!(c, '\t' | '\n' | '\r') {
            out.push(' ');
        } else {
            // `<U+202E>` is no HTML tag (`+`) nor autolink (no scheme): it reads as typed.
            crate::present::push_visible(&mut out, c);
        }
    }
    out
}

/// `text` as an inline code span: shown verbatim, nothing in it is Markdown (no escapes needed, none
/// shown). The fence is longer than any backtick run inside; a space pads text that starts or ends with a
/// backtick (CommonMark §6.1). Line breaks and control characters become spaces.
pub fn code_span(text: &str) -> String {
    let spaced: String = text.chars().map(|c| if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c }).collect();
    let clean = crate::present::visible(&spaced);
    let fence = "`".repeat(longest_run(&clean, '`') + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

/// A fenced code block holding `lines` verbatim. The fence is a run of backticks longer than any run in
/// the text (CommonMark §4.5: a closing fence must be at least as long), so the text cannot close it.
pub fn code_block(lines: &[String]) -> String {
    let longest = lines.iter().map(|l| longest_run(l, '`')).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{fence}text\n");
    for line in lines {
        // Control, bidi and zero-width characters are shown visibly (`present::visible`); line breaks
        // inside a line become spaces: the line structure is ours.
        let spaced: String = line.chars().map(|c| if matches!(c, '\n' | '\r') { ' ' } else { c }).collect();
        out.push_str(&crate::present::visible(&spaced));
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
    fn escapes_only_what_markdown_reads() {
        check_escape("plain words", "plain words");
        check_escape("line 8 (COPY . .) changed: a/b-c.sh, x_y.txt", "line 8 (COPY . .) changed: a/b-c.sh, x_y.txt");
        check_escape("20261124T083052.049Z-06c0", "20261124T083052.049Z-06c0");
        check_escape("[x](command:rm)", "\\[x\\](command:rm)");
        check_escape("![img](http://e/x.png)", "!\\[img\\](http\\://e/x.png)");
        check_escape("<img src=x onerror=y>", "\\<img src=x onerror=y\\>");
        check_escape("*a* _b_ `c` | &amp; ~d~ \\", "\\*a\\* \\_b\\_ \\`c\\` \\| \\&amp; \\~d\\~ \\\\");
        check_escape("# h", "\\# h");
        check_escape("see www.example.com", "see www\\.example.com");
        check_escape("a\nb\u{1b}", "a b<U+001B>");
        check_escape("x\u{202e}y\u{200b}", "x<U+202E>y<U+200B>");
    }

    #[test]
    fn code_spans_hold_anything_verbatim() {
        assert_eq!(code_span("20261124T083052.049Z-06c0"), "`20261124T083052.049Z-06c0`");
        assert_eq!(code_span("a `b` c"), "``a `b` c``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a\nb"), "`a b`");
    }

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        assert_eq!(code_block(&["a".into()]), "```text\na\n```\n");
        assert_eq!(code_block(&["````".into(), "x".into()]), "`````text\n````\nx\n`````\n");
        assert_eq!(code_block(&["a\u{7}b\tc".into()]), "```text\na<U+0007>b\tc\n```\n");
        assert_eq!(code_block(&["\u{202e}cba\u{2066}".into()]), "```text\n<U+202E>cba<U+2066>\n```\n");
        assert_eq!(code_span("a\u{feff}\u{1b}]8;;x"), "`a<U+FEFF><U+001B>]8;;x`");
    }
}

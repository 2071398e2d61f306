//! Markdown and Mermaid text from untrusted strings: code spans (fence longer than any backtick run,
//! no line breaks, pipes that cannot end a table cell), plain words (every ASCII punctuation escaped),
//! and Mermaid labels (a whitelist of characters).

use crate::present;

/// `text` as a code span, inert anywhere: no link, HTML, emphasis or autolink can come out of it. In a
/// table cell a `|` would end the cell even inside a span (and `\|` after a backslash too), so pipes
/// become `¦` there.
pub fn code(text: &str, in_table: bool) -> String {
    let mut clean = present::inline(text).into_owned();
    if in_table {
        clean = clean.replace('|', "¦");
    }
    if clean.trim().is_empty() {
        return "` `".to_string();
    }
    let longest = longest_run(&clean, '`');
    let fence = "`".repeat(longest + 1);
    let pad = if clean.starts_with(['`', ' ']) || clean.ends_with(['`', ' ']) { " " } else { "" };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

/// `text` as plain Markdown words: line breaks become spaces and every ASCII punctuation is escaped.
pub fn words(text: &str) -> String {
    let clean = present::inline(text);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Mermaid label: letters, digits, blanks and `-_./=+,@[]()` kept, anything else a space (no `:`,
/// `#`, `;`, `%`, quotes, backticks or `<` that Mermaid or the fence would read), cut to `max` chars.
pub fn mermaid_label(text: &str, max: usize) -> String {
    let kept: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() || " -_./=+,@[]()".contains(c) { c } else { ' ' })
        .filter(|c| !present::hidden(*c))
        .collect();
    let collapsed = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", collapsed.get(..cut).unwrap_or("")),
        None => collapsed,
    }
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in text.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

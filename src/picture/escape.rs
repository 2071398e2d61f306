//! Text from a log or a store made safe for the page: HTML entities, hidden characters shown, cuts.

use crate::present::inline;

/// Text for HTML content and attribute values: hidden characters shown, line breaks as spaces, and
/// `& < > " '` as entities.
pub fn esc(text: &str) -> String {
    let clean = inline(text);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `max` characters, `…` marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or("")),
        None => text.to_string(),
    }
}

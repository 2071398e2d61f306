//! Human-readable durations, sizes and times, shared by the CLI and the editor features.

/// `0.4s`, `12.3s`, `3m04s`, `47m12s`, `2h05m`.
pub fn duration_ms(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{}.{}s", secs, (ms % 1000) / 100),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// `512 B`, `4.2 KB`, `1.2 GB` (powers of 1000, as `docker images` prints them).
pub fn size_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// How long ago `then` was, relative to `now`: `just now`, `5m ago`, `2h ago`, `3d ago`.
pub fn ago(then: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `text` on one line (tabs and line breaks become spaces, other hidden characters `visible`), cut to
/// `max` characters with `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let clean: String = text.trim().chars().map(|c| if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c }).collect();
    match clean.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", visible(&clean[..cut])),
        None => visible(&clean).into_owned(),
    }
}

/// A character that would act on a terminal or an editor instead of showing, or hide, reorder or join
/// the text around it: C0 controls but tab and line feed, DEL and C1 controls (ESC sequences, OSC 8
/// hyperlinks, BEL, NUL, CSI), the bidi marks, embeddings, overrides and isolates (U+061C, U+200E-200F,
/// U+202A-202E, U+2066-2069, "Trojan Source") and zero-width characters (U+200B-200D, U+2060-2064,
/// U+FEFF).
pub fn hidden(c: char) -> bool {
    matches!(c,
        '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{61c}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The one sanitiser for text from a log or a store, on every surface (lenses, hints, hover, diagnostics,
/// the CLI's text output): each `hidden` character written visibly as `<U+202E>`. Idempotent.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_visible(&mut out, c);
    }
    std::borrow::Cow::Owned(out)
}

/// `c`, or its visible form when it is `hidden`.
pub fn push_visible(out: &mut String, c: char) {
    if hidden(c) {
        out.push_str(&format!("<U+{:04X}>", u32::from(c)));
    } else {
        out.push(c);
    }
}

/// A name or a one-line message from a log or a store (a record folder's name, a command line, a problem
/// line) as printed on one line: `visible`, and tabs and line breaks shown as `<U+000A>` too (a line
/// break in a folder name would otherwise print a line of its own).
pub fn inline(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| hidden(c) || matches!(c, '\t' | '\n' | '\r')) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
            c => push_visible(&mut out, c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes one line to standard error, `inline`: a problem line quoting a log or a store never acts on
/// the terminal nor prints a line of its own.
pub fn eprint_line(line: std::fmt::Arguments<'_>) {
    eprintln!("{}", inline(&line.to_string()));
}

/// VS Code reads `$(name)` in a lens title (and some labels) as an icon: `\$(` is its own escape, shown as
/// the `$(` it stands for there and as typed elsewhere.
pub fn no_icons(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("$(") {
        std::borrow::Cow::Owned(text.replace("$(", "\\$("))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms(0), "0.0s");
        assert_eq!(duration_ms(2_149), "2.1s");
        assert_eq!(duration_ms(184_000), "3m04s");
        assert_eq!(duration_ms(2_832_000), "47m12s");
        assert_eq!(duration_ms(7_500_000), "2h05m");
    }

    #[test]
    fn one_line_cuts_and_cleans() {
        assert_eq!(one_line(" a\tb\u{1b}[0m ", 99), "a b<U+001B>[0m");
        assert_eq!(one_line("ééééé", 3), "ééé…");
        assert_eq!(one_line("a\u{202e}bcd", 2), "a<U+202E>…");
    }

    #[test]
    fn every_hidden_class_is_shown_visibly() {
        let cases = [
            ("\u{1b}[31mred", "<U+001B>[31mred"),
            ("\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{7}", "<U+001B>]8;;http://x<U+0007>link<U+001B>]8;;<U+0007>"),
            ("nul\0 del\u{7f} csi\u{9b}", "nul<U+0000> del<U+007F> csi<U+009B>"),
            ("a\u{202e}b\u{2066}c\u{2069}\u{200f}", "a<U+202E>b<U+2066>c<U+2069><U+200F>"),
            ("z\u{200b}w\u{200d}j\u{feff}\u{2060}", "z<U+200B>w<U+200D>j<U+FEFF><U+2060>"),
            ("tab\tand\nline", "tab\tand\nline"),
            ("plain é ✓", "plain é ✓"),
        ];
        for (input, expect) in cases {
            assert_eq!(visible(input), expect, "{input:?}");
            assert_eq!(visible(expect), expect, "idempotent");
        }
        assert_eq!(no_icons("$(zap) a $ (b) $(x"), "\\$(zap) a $ (b) \\$(x");
    }

    #[test]
    fn sizes() {
        assert_eq!(size_bytes(512), "512 B");
        assert_eq!(size_bytes(2_097_152), "2.1 MB");
        assert_eq!(size_bytes(1_200_000_000), "1.2 GB");
    }
}

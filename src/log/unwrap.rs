//! Removes what CI systems and terminals wrap around build-log lines, one line at a time.
//!
//! Handled here (see `../shared/docs/log-formats.md` §8-§10): trailing `\r`, GitHub Actions and other
//! ISO timestamps, devcontainer `YYYY-MM-DD HH:MM:SS.fffZ: `, ANSI escape sequences (colours and tty cursor
//! codes), act's `[Workflow/Job]   | ` prefix (and its coloured `| ` form), act's `[DEBUG] `, PowerShell's
//! `docker : ` on the first stderr line, and GitHub web-UI Markdown line anchors. The result borrows from
//! the raw line when nothing had to be removed from its middle, else from a reused scratch buffer.

use memchr::memchr;

/// A line with its wrappers removed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unwrapped<'a> {
    pub text: &'a [u8],
    /// The wrapper's timestamp (`2023-01-17T12:46:27.6515486Z`), if any.
    pub time: Option<&'a [u8]>,
    /// act's job name from the `[Workflow/Job]` prefix, if any.
    pub job: Option<&'a [u8]>,
    /// act's own line (`⭐ Run Main …`, `✅ Success …`), not output of a command.
    pub chatter: bool,
}

/// Strips wrappers from `raw`, using `scratch` when bytes must be removed from the middle.
pub fn unwrap<'a>(raw: &'a [u8], scratch: &'a mut Vec<u8>) -> Unwrapped<'a> {
    let mut out = Unwrapped { text: trim_cr(raw), ..Unwrapped::default() };
    if has_escape_or_anchor(out.text) {
        scratch.clear();
        strip_escapes_and_anchors(out.text, scratch);
        out.text = scratch.as_slice();
    }
    let (time, rest) = split_timestamp(out.text);
    out.time = time;
    out.text = rest;
    strip_act_prefix(&mut out);
    if let Some(rest) = out.text.strip_prefix(b"docker : ") {
        out.text = rest; // PowerShell NativeCommandError: the first stderr line of the native command.
    }
    out
}

/// True when `unwrap` leaves `text` (no trailing `\r`, no escape, no web-UI anchor) as it is: no
/// timestamp, act or PowerShell wrapper. Only lines starting `[`, a digit, `|` or `d` can have one.
pub fn untouched(text: &[u8]) -> bool {
    if !matches!(text.first(), Some(b'[' | b'0'..=b'9' | b'|' | b'd')) {
        return true;
    }
    let (time, rest) = split_timestamp(text);
    let mut out = Unwrapped { text: rest, time, ..Unwrapped::default() };
    strip_act_prefix(&mut out);
    out.time.is_none() && out.job.is_none() && !out.chatter && out.text.len() == text.len() && !text.starts_with(b"docker : ")
}

/// True when `text` holds an escape or a `](https://` (the middle of a web-UI anchor): one pass over the
/// escapes and `]`s, most lines have neither (a `]` not followed by `(https://` costs one comparison).
fn has_escape_or_anchor(text: &[u8]) -> bool {
    let wrapper_at = |i: usize| text.get(i) == Some(&0x1b) || text.get(i + 1..).is_some_and(|rest| rest.starts_with(b"(https://"));
    if text.len() < SHORT {
        return text.iter().enumerate().any(|(i, &b)| (b == 0x1b || b == b']') && wrapper_at(i));
    }
    memchr::memchr2_iter(0x1b, b']', text).any(wrapper_at)
}

/// Below this length a byte loop finds a byte sooner than `memchr`, whose set-up costs more than the
/// scan of a short line (a log of tiny lines pays it on every line).
pub const SHORT: usize = 32;

fn trim_cr(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r'] = s {
        s = rest;
    }
    s
}

/// Copies `s` into `out` without ANSI escape sequences and without `[12](https://…)` anchors: the text
/// between them is copied a run at a time.
fn strip_escapes_and_anchors(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(found) = memchr::memchr2(0x1b, b'[', s.get(i..).unwrap_or_default()) {
        let at = i + found;
        out.extend_from_slice(s.get(i..at).unwrap_or_default());
        i = match s.get(at) {
            Some(0x1b) => skip_escape(s, at),
            _ => match anchor_len(s.get(at..).unwrap_or_default()) {
                Some(n) => at + n,
                None => {
                    out.push(b'[');
                    at + 1
                }
            },
        };
    }
    out.extend_from_slice(s.get(i..).unwrap_or_default());
}

/// Index just past the escape sequence that starts at `s[i] == ESC`.
fn skip_escape(s: &[u8], i: usize) -> usize {
    match s.get(i + 1) {
        // CSI: parameters and intermediates, then one final byte in 0x40..=0x7E.
        Some(b'[') => {
            let mut j = i + 2;
            while j < s.len() && !(0x40..=0x7e).contains(&s[j]) {
                j += 1;
            }
            (j + 1).min(s.len())
        }
        // OSC: ends with BEL or ESC \.
        Some(b']') => {
            let mut j = i + 2;
            while j < s.len() && s[j] != 0x07 && !(s[j] == 0x1b && s.get(j + 1) == Some(&b'\\')) {
                j += 1;
            }
            if j < s.len() && s[j] == 0x1b {
                j + 2
            } else {
                (j + 1).min(s.len())
            }
        }
        Some(_) => i + 2,
        None => i + 1,
    }
}

/// Length of a GitHub web-UI line anchor `[123](https://github.com/…)` at the start of `s`.
fn anchor_len(s: &[u8]) -> Option<usize> {
    let close = memchr(b']', s)?;
    if close < 2 || !s[1..close].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let rest = s[close + 1..].strip_prefix(b"(https://")?;
    let end = memchr(b')', rest)?;
    Some(close + 1 + b"(https://".len() + end + 1)
}

/// Splits a leading ISO-8601 timestamp wrapper: `2023-01-17T12:46:27.6515486Z ` (GitHub Actions, 3-9
/// fraction digits), `2024-02-16 02:29:15.118Z: ` (devcontainer CLI) or `[2022-10-11T21:52:36.840Z] `
/// (VS Code's Dev Containers log: before each chunk of output it writes, so a line that goes on from a
/// chunk before has none, and a chunk may start inside a line).
pub fn split_timestamp(s: &[u8]) -> (Option<&[u8]>, &[u8]) {
    if let Some(inner) = s.strip_prefix(b"[") {
        return match stamp_end(inner) {
            Some(i) if inner.get(i + 1) == Some(&b']') => {
                let rest = &inner[i + 2..];
                (Some(&inner[..=i]), rest.strip_prefix(b" ").unwrap_or(rest))
            }
            _ => (None, s),
        };
    }
    let Some(i) = stamp_end(s) else { return (None, s) };
    let stamp = &s[..=i];
    let rest = &s[i + 1..];
    let rest = rest.strip_prefix(b": ").or_else(|| rest.strip_prefix(b" ")).unwrap_or(rest);
    (Some(stamp), rest)
}

/// Where the `Z` of a timestamp at the start of `s` is.
fn stamp_end(s: &[u8]) -> Option<usize> {
    if s.len() < 20 || !is_date_time(s) {
        return None;
    }
    let mut i = 19;
    if s.get(i) == Some(&b'.') {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
    }
    (s.get(i) == Some(&b'Z')).then_some(i)
}

/// True when `text` is a timestamp and nothing else (`2026-01-25 11:31:12.296`, `…T…Z`, `…+01:00`, trailing
/// blanks allowed): the line a log viewer puts above each record it copies (Google Cloud Console with
/// timestamps shown). No builder prints such a line, so it is never the rest of a console-wrapped line.
pub fn is_bare_stamp(text: &[u8]) -> bool {
    let text = text.trim_ascii_end();
    if !(19..=40).contains(&text.len()) || !is_date_time(text) {
        return false;
    }
    let mut rest = text.get(19..).unwrap_or_default();
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        rest = if digits == 0 { rest } else { fraction.get(digits..).unwrap_or_default() };
    }
    match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', zone @ ..] => matches!(zone, [a, b, c, d] | [a, b, b':', c, d] if [a, b, c, d].iter().all(|x| x.is_ascii_digit())),
        _ => false,
    }
}

fn is_date_time(s: &[u8]) -> bool {
    let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    digits(0..4)
        && s[4] == b'-'
        && digits(5..7)
        && s[7] == b'-'
        && digits(8..10)
        && (s[10] == b'T' || s[10] == b' ')
        && digits(11..13)
        && s[13] == b':'
        && digits(14..16)
        && s[16] == b':'
        && digits(17..19)
}

/// act: `[Workflow/Job]   | output`, `[Workflow/Job] ⭐ Run …`, `[Workflow/Job] [DEBUG] …`, and the tty
/// form `| output` (job name absent).
fn strip_act_prefix(line: &mut Unwrapped<'_>) {
    let text = line.text;
    if let Some(rest) = text.strip_prefix(b"| ") {
        line.text = rest;
        return;
    }
    if text.first() != Some(&b'[') {
        return;
    }
    let Some(close) = memchr(b']', text) else { return };
    let name = &text[1..close];
    // podman's `[1/2] STEP`, BuildKit's `[internal]` and `[stage 1/2]` are not act jobs: act names are
    // `Workflow/Job`, with a slash and at least one non-digit on each side.
    let Some(slash) = memchr(b'/', name) else { return };
    if name[..slash].iter().all(u8::is_ascii_digit) || name[slash + 1..].iter().all(u8::is_ascii_digit) {
        return;
    }
    // A quoted list (`['/opt/bin/python', '-m']`) is output, not a job name; act always puts a space
    // and more text after the name.
    if name.iter().any(|b| matches!(b, b'\'' | b'"' | b',')) {
        return;
    }
    let after = &text[close + 1..];
    let trimmed = trim_start_spaces(after);
    if after.first() != Some(&b' ') {
        return;
    }
    line.job = Some(name);
    if let Some(out) = trimmed.strip_prefix(b"| ").or_else(|| (trimmed == b"|").then_some(&b""[..])) {
        line.text = out;
    } else if let Some(debug) = trimmed.strip_prefix(b"[DEBUG] ") {
        line.text = debug;
    } else {
        line.text = trimmed;
        line.chatter = true;
    }
}

fn trim_start_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, text: &str, job: Option<&str>, time: Option<&str>, chatter: bool) {
        let mut scratch = Vec::new();
        let u = unwrap(raw.as_bytes(), &mut scratch);
        assert_eq!(String::from_utf8_lossy(u.text), text, "text of {raw:?}");
        assert_eq!(u.job.map(|j| String::from_utf8_lossy(j).into_owned()).as_deref(), job, "job of {raw:?}");
        assert_eq!(u.time.map(|t| String::from_utf8_lossy(t).into_owned()).as_deref(), time, "time of {raw:?}");
        assert_eq!(u.chatter, chatter, "chatter of {raw:?}");
    }

    #[test]
    fn wrappers() {
        check("#1 DONE 0.0s\r", "#1 DONE 0.0s", None, None, false);
        check("#1 DONE 0.0s\r\r", "#1 DONE 0.0s", None, None, false);
        check("2025-02-13T05:44:35.4329674Z #1 [internal] load", "#1 [internal] load", None, Some("2025-02-13T05:44:35.4329674Z"), false);
        check("2024-02-16 02:29:15.118Z: #5 DONE 1.0s", "#5 DONE 1.0s", None, Some("2024-02-16 02:29:15.118Z"), false);
        check("[CI/build]   | #3 CACHED", "#3 CACHED", Some("CI/build"), None, false);
        check("[CI/build]   | ", "", Some("CI/build"), None, false);
        check("[CI/build] [DEBUG] Step 1/6 : FROM x", "Step 1/6 : FROM x", Some("CI/build"), None, false);
        check("[CI/build] ⭐ Run Main build", "⭐ Run Main build", Some("CI/build"), None, true);
        check("\x1b[32m|\x1b[0m #4 DONE 0.1s", "#4 DONE 0.1s", None, None, false);
        check("[1/2] STEP 1/2: FROM a AS b", "[1/2] STEP 1/2: FROM a AS b", None, None, false);
        check("[internal] x/y", "[internal] x/y", None, None, false);
        check("\x1b[91mboom\x1b[0m", "boom", None, None, false);
        check("sha256:0246[19](https://github.com/o/r/x#step:14:21)7d35", "sha256:02467d35", None, None, false);
        check("docker : #0 building with", "#0 building with", None, None, false);
        check(
            "[2022-10-11T21:52:36.840Z]  => CACHED [1/2] FROM x  0.0s",
            " => CACHED [1/2] FROM x  0.0s",
            None,
            Some("2022-10-11T21:52:36.840Z"),
            false,
        );
        check("[2022-10-11T21:52:36.840Z] rget_stage 1/3]", "rget_stage 1/3]", None, Some("2022-10-11T21:52:36.840Z"), false);
        check("[2022-10-11T21:52:36.840Z x", "[2022-10-11T21:52:36.840Z x", None, None, false);
        check("[x] [y](https://e.com)", "[x] [y](https://e.com)", None, None, false);
        check("['/opt/conda/bin/python', '-m', 'pip']", "['/opt/conda/bin/python', '-m', 'pip']", None, None, false);
        check("[a/b]", "[a/b]", None, None, false);
    }

    #[test]
    fn bare_stamps() {
        for stamp in [
            "2026-01-25 11:31:12.296",
            "2026-01-25 11:31:12",
            "2026-01-25T11:31:12.296Z",
            "2026-01-25T11:31:12+01:00 ",
            "2026-01-25 11:31:12.1-0500",
        ] {
            assert!(is_bare_stamp(stamp.as_bytes()), "{stamp:?}");
        }
        for text in [
            "2026-01-25 11:31:12.296 #2 DONE 0.1s",
            "2026-01-25 11:31",
            "2026-01-25 11:31:12.",
            "2026-01-25 11:31:12+1",
            "#2 DONE 0.1s",
            "",
            "2026-01-25 11:31:12.296 x",
        ] {
            assert!(!is_bare_stamp(text.as_bytes()), "{text:?}");
        }
    }

    /// Escapes, anchors and plain `[` mixed in one line, at its start, middle and end: every run of
    /// text between them is kept, in order.
    #[test]
    fn escapes_and_anchors_removed_between_runs_of_text() {
        check("\x1b[91m../gcc/x.c:1: warning: [-Wunused] a\x1b[0m", "../gcc/x.c:1: warning: [-Wunused] a", None, None, false);
        check("[12](https://github.com/o/r#step:4:12)\x1b[1m[x]\x1b[0m\x1b", "[x]", None, None, false);
        check("a\x1b]0;title\x07b[3](https://x/y) c[\x1b[", "ab c[", None, None, false);
        // A `]` that is no anchor, before one that is, in a short and a long line.
        check("[x] [3](https://x/y)", "[x] ", None, None, false);
        check("make[1]: Entering directory '/builder/a' [3](https://x/y)", "make[1]: Entering directory '/builder/a' ", None, None, false);
        check(
            "make[1]: Entering directory '/builder/a' [3](http://x/y)",
            "make[1]: Entering directory '/builder/a' [3](http://x/y)",
            None,
            None,
            false,
        );
    }
}

//! Standard output of the CLI with the one sanitiser applied to everything it prints: whatever a log or a
//! store put in a name, a command line, an excerpt or an error (record folder names, `meta.command`,
//! cached excerpts), a character that would act on the terminal or hide or reorder text
//! (`present::hidden`) never reaches it raw. Text output shows it as `<U+202E>`; JSON output, where such
//! a character can only be inside a string, as the escape `\u202e` (the same string to a JSON reader).

use std::io::{self, Write};

use crate::present;

pub struct Visible<W: Write> {
    inner: W,
    json: bool,
    /// The start of a character split between two writes.
    pending: Vec<u8>,
}

impl<W: Write> Visible<W> {
    pub fn new(inner: W, json: bool) -> Visible<W> {
        Visible { inner, json, pending: Vec::new() }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        // Everything printed is ASCII but for the text it quotes: the fast path writes it whole.
        if bytes.iter().all(|&b| b.is_ascii() && b != 0x7f && (b >= 0x20 || b == b'\n' || b == b'\t')) {
            return self.inner.write_all(bytes);
        }
        let mut out = String::with_capacity(bytes.len() + 16);
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                match (present::hidden(c), self.json) {
                    (false, _) => out.push(c),
                    (true, true) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    (true, false) => present::push_visible(&mut out, c),
                }
            }
            for b in chunk.invalid() {
                out.push_str(&format!("<0x{b:02X}>"));
            }
        }
        self.inner.write_all(out.as_bytes())
    }
}

impl<W: Write> Write for Visible<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = std::mem::take(&mut self.pending);
        bytes.extend_from_slice(buf);
        // Hold back an incomplete character at the end (at most 3 bytes) for the next write.
        let keep = incomplete_tail(&bytes);
        self.pending = bytes.split_off(bytes.len() - keep);
        self.emit(&bytes)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            self.emit(&rest)?;
        }
        self.inner.flush()
    }
}

/// How many bytes at the end of `bytes` start a UTF-8 character that is not complete yet.
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 != 0x80 {
            let need = match b {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if need > back { back } else { 0 };
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(json: bool, pieces: &[&[u8]]) -> String {
        let mut w = Visible::new(Vec::new(), json);
        for p in pieces {
            w.write_all(p).unwrap();
        }
        w.flush().unwrap();
        String::from_utf8(w.inner).unwrap()
    }

    #[test]
    fn hidden_characters_never_reach_the_terminal() {
        let text = "id \u{1b}]8;;http://x\u{7}a\u{202e}b\u{200b}\u{9b}\n";
        assert_eq!(through(false, &[text.as_bytes()]), "id <U+001B>]8;;http://x<U+0007>a<U+202E>b<U+200B><U+009B>\n");
        // Split inside a character: the same.
        let bytes = text.as_bytes();
        for cut in 0..bytes.len() {
            assert_eq!(through(false, &[&bytes[..cut], &bytes[cut..]]), through(false, &[bytes]), "cut at {cut}");
        }
        assert_eq!(through(false, &["plain ✓\ttab\n".as_bytes()]), "plain ✓\ttab\n");
    }

    #[test]
    fn json_keeps_the_string_and_escapes_it() {
        let value = serde_json::json!({"name": "a\u{202e}b\u{7f}\u{85}"});
        let out = through(true, &[value.to_string().as_bytes()]);
        assert_eq!(out, r#"{"name":"a\u202eb\u007f\u0085"}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), value);
    }
}

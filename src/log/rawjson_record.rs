//! The one rawjson record shape that fills a big log, read by hand: `{"logs":[{"vertex":"…","stream":N,
//! "data":"…","timestamp":"…"}]}` exactly as Go's encoder writes it (fields in struct order, no spaces,
//! `stream` and `timestamp` optional). Anything else — escapes, other keys, several chunks, odd bytes —
//! is left to serde (`None`), so what is read here is what serde would read.

/// One log chunk: the vertex digest and the base64 text of its data (not decoded).
#[derive(Debug, PartialEq, Eq)]
pub struct LogRecord<'a> {
    pub vertex: &'a str,
    pub data: &'a [u8],
}

impl<'a> LogRecord<'a> {
    /// The record `text` holds when it has the hot shape; `None` for any other line.
    pub fn read(text: &'a [u8]) -> Option<LogRecord<'a>> {
        let rest = text.strip_prefix(br#"{"logs":[{"vertex":""#)?;
        let (vertex, rest) = plain_string(rest)?;
        let rest = match rest.strip_prefix(br#","stream":"#) {
            Some(after) => skip_number(after)?,
            None => rest,
        };
        let rest = rest.strip_prefix(br#","data":""#)?;
        let end = memchr::memchr(b'"', rest)?;
        let data = rest.get(..end)?;
        let rest = rest.get(end + 1..)?;
        let rest = match rest.strip_prefix(br#","timestamp":""#) {
            Some(after) => plain_string(after)?.1,
            None => rest,
        };
        if rest != b"}]}" {
            return None;
        }
        Some(LogRecord { vertex: std::str::from_utf8(vertex).ok()?, data })
    }
}

/// A JSON string's text up to its closing quote and what follows it, when it is printable ASCII without
/// escapes (digests and times are); `None` otherwise.
fn plain_string(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(b'"', text)?;
    let inner = text.get(..end)?;
    if !inner.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'\\') {
        return None;
    }
    Some((inner, text.get(end + 1..)?))
}

/// What follows a JSON non-negative integer (`0` or a digit string without a leading zero).
fn skip_number(text: &[u8]) -> Option<&[u8]> {
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let first = *text.first()?;
    if digits == 0 || (first == b'0' && digits > 1) {
        return None;
    }
    text.get(digits..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_s_shape_with_optional_fields() {
        let full = br#"{"logs":[{"vertex":"sha256:ab","stream":1,"data":"eAo=","timestamp":"2026-11-24T04:53:25.76Z"}]}"#;
        assert_eq!(LogRecord::read(full), Some(LogRecord { vertex: "sha256:ab", data: b"eAo=" }));
        let bare = br#"{"logs":[{"vertex":"v","data":""}]}"#;
        assert_eq!(LogRecord::read(bare), Some(LogRecord { vertex: "v", data: b"" }));
    }

    #[test]
    fn leaves_every_other_shape_to_serde() {
        for text in [
            r#"{"logs":[{"vertex":"v","data":"eA=="},{"vertex":"w","data":"eA=="}]}"#,
            r#"{"logs":[{"vertex":"v\u0041","data":"eA=="}]}"#,
            r#"{"logs":[{"vertex":"v","stream":01,"data":"eA=="}]}"#,
            r#"{"logs":[{"vertex":"v","stream":-1,"data":"eA=="}]}"#,
            r#"{"logs":[{"vertex":"v","data":"eA==","timestamp":"x\ty"}]}"#,
            r#"{"logs":[{"vertex":"v","data":"eA==","extra":1}]}"#,
            r#"{"logs":[{"vertex":"v","data":"eA=="}]} "#,
            r#"{"logs":[{"vertex":"v","data":"eA=="}],"warnings":[]}"#,
            r#"{"logs":[{"data":"eA==","vertex":"v"}]}"#,
            r#"{"logs":[{"vertex":"é","data":"eA=="}]}"#,
            r#"{"logs":[{"vertex":"v","data":"eA=="#,
        ] {
            assert_eq!(LogRecord::read(text.as_bytes()), None, "{text}");
        }
    }
}

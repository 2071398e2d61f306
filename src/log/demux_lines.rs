//! What kind of plain line the demultiplexer (`demux`) sees, from its text alone.

/// `building with "default" instance using docker driver` (the `#0` line of buildx ≥ 0.11).
pub(super) fn is_desc(rest: &[u8]) -> bool {
    rest.starts_with(b"building with ")
}

pub(super) fn is_bracketed(rest: &[u8]) -> bool {
    rest.first() == Some(&b'[') && rest.contains(&b']')
}

/// A line that ends the current vertex's run of lines.
pub(super) fn is_terminal(rest: &[u8]) -> bool {
    matches!(rest, b"CACHED" | b"CANCELED" | b"...") || rest.starts_with(b"DONE ") || rest.starts_with(b"ERROR")
}

/// A state, warning or v0.8 digest line (never a header).
pub(super) fn is_status(rest: &[u8]) -> bool {
    is_terminal(rest) || rest.starts_with(b"WARN: ") || is_digest(rest)
}

/// A v0.8 vertex digest line's `rest`: `sha256:` and 64 hex digits, nothing after (a layer's status row
/// has sizes after it).
pub(super) fn is_digest(rest: &[u8]) -> bool {
    rest.len() == 71 && rest.starts_with(b"sha256:") && rest[7..].iter().all(u8::is_ascii_hexdigit)
}

/// `#*** rest`: a vertex number replaced by CI secret masking.
pub(super) fn masked(text: &[u8]) -> Option<&[u8]> {
    let stars = text.get(1..)?.iter().take_while(|&&b| b == b'*').count();
    if text.first() != Some(&b'#') || stars == 0 {
        return None;
    }
    text.get(1 + stars..)?.strip_prefix(b" ")
}

//! What a line of builds printed side by side says about its build beyond its `#n`: a header held back
//! for the v0.8 vertex digest printed under it, and the command an exec error names.

use serde::{Deserialize, Serialize};

use crate::log::line::Line;

/// A header held back for one line: under BuildKit v0.8 the next line is usually the vertex's
/// `#n sha256:<digest>`, which tells a vertex printed again from another build's vertex of that number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Held {
    text: Vec<u8>,
    start: u64,
    end: u64,
    time: Option<Vec<u8>>,
    chatter: bool,
    truncated: bool,
}

impl Held {
    pub(super) fn of(line: &Line<'_>) -> Held {
        Held {
            text: line.text.to_vec(),
            start: line.start,
            end: line.end,
            time: line.time.map(<[u8]>::to_vec),
            chatter: line.chatter,
            truncated: line.truncated,
        }
    }

    pub(super) fn line(&self) -> Line<'_> {
        Line {
            text: &self.text,
            start: self.start,
            end: self.end,
            time: self.time.as_deref(),
            chatter: self.chatter,
            truncated: self.truncated,
        }
    }
}

/// The command an exec failure names in a `#n ERROR: …` line's `rest`: `executor failed running
/// [/bin/sh -c CMD]: exit code: N` (v0.8) or `process "/bin/sh -c CMD" did not complete successfully`
/// (v0.9+), without the shell.
pub(super) fn failed_command(rest: &[u8]) -> Option<&[u8]> {
    let rest = rest.strip_prefix(b"ERROR: ")?;
    let command = if let Some(after) = rest.strip_prefix(b"executor failed running [") {
        after.get(..find_last(after, b"]: exit code")?)?
    } else {
        let after = rest.strip_prefix(b"process \"")?;
        after.get(..find_last(after, b"\" did not complete successfully")?)?
    };
    let command = command.strip_prefix(b"/bin/sh -c ").unwrap_or(command);
    (!command.is_empty()).then_some(command)
}

/// Whether a step `name` (`[stage k/n] RUN CMD`) is the step whose exec failure names `command`.
pub(super) fn runs_command(name: &str, command: &[u8]) -> bool {
    name.as_bytes().ends_with(command) && name.contains("] RUN ")
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failed_command_is_read_from_both_error_texts() {
        let v08 = b"ERROR: executor failed running [/bin/sh -c echo a     && false]: exit code: 1";
        assert_eq!(failed_command(v08), Some(&b"echo a     && false"[..]));
        let v09 = b"ERROR: process \"/bin/sh -c make -j2\" did not complete successfully: exit code: 2";
        assert_eq!(failed_command(v09), Some(&b"make -j2"[..]));
        assert_eq!(failed_command(b"ERROR: failed to compute cache key: not found"), None);
        assert_eq!(failed_command(b"DONE 0.1s"), None);
        assert!(runs_command("[app 2/3] RUN echo a     && false", b"echo a     && false"));
        assert!(!runs_command("[app 2/3] RUN echo b     && false", b"echo a     && false"));
    }
}

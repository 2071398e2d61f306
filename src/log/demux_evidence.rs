//! What a line of builds printed side by side says about its build beyond its `#n`: the command an exec
//! error names.

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

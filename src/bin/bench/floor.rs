//! The floor: the same file through a memchr line count over the same reads as the parser (one reused
//! buffer of `READ_BYTES`, `File::read`), or over the same `mmap` as the mapped parse.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use anyhow::{Context, Result};
use buildlens::log::{LogParser, ParsedLog, READ_BYTES};

use crate::mapped::Mapped;

/// What a pass over the file saw: bytes and `\n`s (a parse has no line count of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub bytes: u64,
    pub lines: u64,
}

/// Reads the file as `parse_reader` does and counts its lines.
pub fn count_read(path: &Path) -> Result<Counted> {
    let mut file = File::open(path).context("opening the log")?;
    let mut buf = vec![0u8; READ_BYTES];
    let mut counted = Counted { bytes: 0, lines: 0 };
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(counted),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the log"),
        };
        counted.bytes += n as u64;
        counted.lines += memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()).count() as u64;
    }
}

/// Counts the lines of a mapped file, `READ_BYTES` at a time, each piece released once counted.
pub fn count_mapped(path: &Path) -> Result<Counted> {
    let map = Mapped::open(path)?;
    let mut counted = Counted { bytes: 0, lines: 0 };
    map.each_piece(READ_BYTES, |piece| {
        counted.bytes += piece.len() as u64;
        counted.lines += memchr::memchr_iter(b'\n', piece).count() as u64;
    });
    Ok(counted)
}

/// Parses a mapped file, fed `READ_BYTES` at a time like `parse_reader`, each piece released once fed.
pub fn parse_mapped(path: &Path) -> Result<ParsedLog> {
    let map = Mapped::open(path)?;
    let mut parser = LogParser::new();
    map.each_piece(READ_BYTES, |piece| parser.feed(piece));
    Ok(parser.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_floors_count_every_line_of_a_file_larger_than_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let line = b"#12 0.123 make[1]: Entering directory\n";
        let lines = READ_BYTES as u64 * 3 / line.len() as u64 + 7;
        let mut text: Vec<u8> = (0..lines).flat_map(|_| line.iter().copied()).collect();
        text.extend_from_slice(b"no newline at the end");
        std::fs::write(&path, &text).unwrap();
        let want = Counted { bytes: text.len() as u64, lines };
        assert_eq!(count_read(&path).unwrap(), want);
        assert_eq!(count_mapped(&path).unwrap(), want);
    }

    #[test]
    fn the_mapped_parse_equals_the_read_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut text = b"#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [2/2] RUN make\n".to_vec();
        for i in 0..40_000 {
            text.extend_from_slice(format!("#2 1.{:03} compiling file{i}.c\n", i % 1000).as_bytes());
        }
        text.extend_from_slice(b"#2 ERROR: process \"/bin/sh -c make\" did not complete successfully: exit code: 2\n");
        std::fs::write(&path, &text).unwrap();
        let mapped = parse_mapped(&path).unwrap();
        assert_eq!(mapped, buildlens::log::parse_reader(File::open(&path).unwrap()));
        assert_eq!(mapped.builds.first().map(|b| b.steps.len()), Some(2));
    }
}

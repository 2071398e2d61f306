//! Re-indexing a grown log: resume from a stored checkpoint and read only the tail.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use buildlens::log::{LogParser, ParsedLog};

pub struct Reindex {
    pub checkpoint_bytes: usize,
    pub resumed_from: u64,
    pub bytes_read: u64,
    pub seconds: f64,
}

/// Parses the log up to `cut`, stores a checkpoint as JSON text, then times resuming from it and reading
/// the rest, which must give the one-pass result and read only the bytes after the last whole line.
pub fn reindex(path: &Path, cut: u64, whole: &ParsedLog) -> Result<Reindex> {
    let mut file = File::open(path).context("opening the log")?;
    let mut first = LogParser::new();
    feed_from(&mut first, &mut file, 0, Some(cut))?;
    let stored = serde_json::to_string(&first.checkpoint())?;
    drop(first);
    let started = Instant::now();
    let mut resumed = LogParser::resume(&serde_json::from_str(&stored)?).context("the checkpoint does not read back")?;
    let from = resumed.resume_offset();
    let bytes_read = feed_from(&mut resumed, &mut file, from, None)?;
    let result = resumed.finish();
    let seconds = started.elapsed().as_secs_f64();
    if from > cut || cut - from > 2 << 20 {
        bail!("re-index resumed at offset {from}, but the checkpoint was taken at {cut}");
    }
    if &result != whole {
        bail!("re-indexing from a checkpoint at {cut} gave another result than one pass");
    }
    Ok(Reindex { checkpoint_bytes: stored.len(), resumed_from: from, bytes_read, seconds })
}

/// Feeds `parser` the file from `from` up to `to` (or its end); returns the bytes read.
pub fn feed_from(parser: &mut LogParser, file: &mut File, from: u64, to: Option<u64>) -> Result<u64> {
    file.seek(SeekFrom::Start(from))?;
    let mut buf = vec![0u8; buildlens::log::READ_BYTES];
    let mut read = 0u64;
    loop {
        let want = to.map_or(buf.len() as u64, |to| (to - from - read).min(buf.len() as u64)) as usize;
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Ok(read);
        }
        parser.feed(&buf[..n]);
        read += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::generate;
    use crate::LogFormat;
    use buildlens::log::parse_reader;

    #[test]
    fn reindexing_reads_only_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        for format in [LogFormat::Plain, LogFormat::Rawjson, LogFormat::Legacy] {
            let path = dir.path().join("log");
            let generated = generate(&path, format, 6 << 20).unwrap();
            let whole = parse_reader(File::open(&path).unwrap());
            let cut = generated.bytes / 10 * 9;
            let r = reindex(&path, cut, &whole).unwrap();
            assert!(
                r.resumed_from <= cut && r.bytes_read == generated.bytes - r.resumed_from,
                "{format:?}: {} {}",
                r.resumed_from,
                r.bytes_read
            );
        }
    }
}

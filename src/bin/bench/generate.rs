//! The generated log: a failing OpenWrt toolchain build in the plain, rawjson or legacy format.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use base64::Engine as _;

use crate::text::*;
use crate::{Generated, LogFormat};

/// Writes a failing OpenWrt toolchain build of about `size` bytes to `path`.
pub fn generate(path: &Path, format: LogFormat, size: u64) -> Result<Generated> {
    let started = Instant::now();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut g = Generator::new(BufWriter::with_capacity(1 << 20, file), format);
    g.preamble()?;
    g.body(size.saturating_sub(4096))?;
    g.tail()?;
    g.out.flush()?;
    Ok(Generated { format, bytes: g.written, seconds: started.elapsed().as_secs_f64(), output_lines: g.lines })
}

/// Digest of the failing RUN vertex in rawjson.
const RUN_DIGEST: &str = "sha256:5e2b6d8f0c3a4e1b9d7f6a5c4b3e2d1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";
/// Longest data chunk of one rawjson `logs` record (BuildKit sends process output in pieces).
const RAWJSON_CHUNK: usize = 16 * 1024;

struct Generator<W: Write> {
    out: W,
    format: LogFormat,
    rng: u64,
    /// Milliseconds since the RUN step started.
    ms: u64,
    written: u64,
    lines: u64,
    pool: Vec<Vec<u8>>,
    line: Vec<u8>,
    /// rawjson: output not yet written as a `logs` record.
    pending: Vec<u8>,
    /// Writing the failure's last lines, which the plain error summary repeats.
    failing: bool,
    /// The last output lines, for the plain error summary.
    last: Vec<Vec<u8>>,
}

impl<W: Write> Generator<W> {
    fn new(out: W, format: LogFormat) -> Generator<W> {
        let mut rng = 0x9E37_79B9_7F4A_7C15;
        let pool = (0..4096).map(|_| compiler_line(&mut rng)).collect();
        let (line, pending, last) = (Vec::with_capacity(1 << 21), Vec::new(), Vec::new());
        Generator { out, format, rng, ms: 213, written: 0, lines: 0, pool, line, pending, failing: false, last }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.written += bytes.len() as u64;
        Ok(self.out.write_all(bytes)?)
    }

    /// The make output: pooled compiler lines, three 1 MiB lines on the way, then the failure's last lines.
    fn body(&mut self, size: u64) -> Result<()> {
        let long = long_line();
        let quarter = size / 4;
        let mut next_long = quarter;
        while self.written < size {
            if self.written >= next_long && next_long < size {
                self.output(&long)?;
                next_long += quarter;
                continue;
            }
            let i = (next(&mut self.rng) % self.pool.len() as u64) as usize;
            let text = std::mem::take(&mut self.pool[i]);
            self.output(&text)?;
            self.pool[i] = text;
        }
        self.failing = true;
        for text in FAILURE_LINES {
            self.output(text.as_bytes())?;
        }
        Ok(())
    }

    /// One output line of the RUN step, in the format's framing.
    fn output(&mut self, text: &[u8]) -> Result<()> {
        self.lines += 1;
        self.ms += next(&mut self.rng) % 4;
        match self.format {
            LogFormat::Plain => self.plain_output(text),
            LogFormat::Legacy => self.legacy_output(text),
            LogFormat::Rawjson => {
                self.pending.extend_from_slice(text);
                self.pending.push(b'\n');
                if self.pending.len() >= 4096 {
                    self.flush_logs()
                } else {
                    Ok(())
                }
            }
        }
    }

    fn plain_output(&mut self, text: &[u8]) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.extend_from_slice(b"#12 ");
        push_seconds(&mut line, self.ms);
        line.push(b' ');
        line.extend_from_slice(text);
        line.push(b'\n');
        self.put(&line)?;
        if self.failing {
            self.last.push(line[4..].to_vec());
        }
        self.line = line;
        Ok(())
    }

    /// The classic builder prints stderr chunks in red (§7); warnings go to stderr.
    fn legacy_output(&mut self, text: &[u8]) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let stderr = text.starts_with(b"../") && memchr::memmem::find(text, b"warning:").is_some();
        if stderr {
            line.extend_from_slice(b"\x1b[91m");
        }
        line.extend_from_slice(text);
        line.extend_from_slice(if stderr { b"\n\x1b[0m" } else { b"\n" });
        let result = self.put(&line);
        self.line = line;
        result
    }

    /// Writes the pending rawjson output as `logs` records of at most `RAWJSON_CHUNK` bytes.
    fn flush_logs(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let time = rfc3339(self.ms as i64);
        let mut record = std::mem::take(&mut self.line);
        for chunk in pending.chunks(RAWJSON_CHUNK) {
            record.clear();
            record.extend_from_slice(br#"{"logs":[{"vertex":""#);
            record.extend_from_slice(RUN_DIGEST.as_bytes());
            record.extend_from_slice(br#"","stream":1,"data":""#);
            let at = record.len();
            record.resize(at + base64::encoded_len(chunk.len(), true).unwrap_or(0), 0);
            let n = base64::engine::general_purpose::STANDARD.encode_slice(chunk, &mut record[at..])?;
            record.truncate(at + n);
            record.extend_from_slice(format!(r#"","timestamp":"{time}"}}]}}"#).as_bytes());
            record.push(b'\n');
            self.put(&record)?;
        }
        self.line = record;
        self.pending = pending;
        self.pending.clear();
        Ok(())
    }

    fn preamble(&mut self) -> Result<()> {
        match self.format {
            LogFormat::Plain => self.put(PLAIN_PREAMBLE.as_bytes()),
            LogFormat::Legacy => self.put(LEGACY_PREAMBLE.as_bytes()),
            LogFormat::Rawjson => self.rawjson_preamble(),
        }
    }

    /// The vertexes before the RUN step, each sent when started and again when completed (§5).
    fn rawjson_preamble(&mut self) -> Result<()> {
        for (i, &(name, cached)) in RAWJSON_VERTEXES.iter().enumerate() {
            let digest = format!("sha256:{:064x}", i + 1);
            let started = rfc3339(-60_000 + i as i64 * 100);
            let vertex = Vertex { digest: &digest, name, started: &started, ..Vertex::default() };
            self.put(vertex.record().as_bytes())?;
            self.put(Vertex { completed: Some(&started), cached, ..vertex }.record().as_bytes())?;
        }
        self.put(Vertex { digest: RUN_DIGEST, name: RUN_NAME, started: &rfc3339(0), ..Vertex::default() }.record().as_bytes())
    }

    fn tail(&mut self) -> Result<()> {
        match self.format {
            LogFormat::Plain => self.plain_tail(),
            LogFormat::Legacy => self.put(b"The command '/bin/sh -c make -j2 toolchain/install' returned a non-zero code: 2\n"),
            LogFormat::Rawjson => {
                self.flush_logs()?;
                let (started, completed) = (rfc3339(0), rfc3339(self.ms as i64));
                let run = Vertex {
                    digest: RUN_DIGEST,
                    name: RUN_NAME,
                    started: &started,
                    completed: Some(&completed),
                    cached: false,
                    error: Some(RUN_PROCESS),
                };
                self.put(run.record().as_bytes())?;
                self.put(format!("ERROR: failed to build: failed to solve: {RUN_PROCESS}\n").as_bytes())
            }
        }
    }

    /// `#12 ERROR`, the `------` summary with the last lines, the Dockerfile snippet and the final error (§2.2, §4).
    fn plain_tail(&mut self) -> Result<()> {
        self.put(format!("#12 ERROR: {RUN_PROCESS}\n------\n > {RUN_NAME}:\n").as_bytes())?;
        for line in std::mem::take(&mut self.last) {
            self.put(&line)?;
        }
        self.put(PLAIN_SNIPPET.as_bytes())?;
        self.put(format!("ERROR: failed to build: failed to solve: {RUN_PROCESS}\n").as_bytes())
    }
}

/// One update of a vertex in rawjson.
#[derive(Default)]
struct Vertex<'a> {
    digest: &'a str,
    name: &'a str,
    started: &'a str,
    completed: Option<&'a str>,
    cached: bool,
    error: Option<&'a str>,
}

impl Vertex<'_> {
    /// The `vertexes` line, fields in Go's order, empty ones omitted.
    fn record(&self) -> String {
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut v = format!(r#"{{"vertexes":[{{"digest":"{}","name":{},"started":"{}""#, self.digest, quote(self.name), self.started);
        if let Some(completed) = self.completed {
            v.push_str(&format!(r#","completed":"{completed}""#));
        }
        if self.cached {
            v.push_str(r#","cached":true"#);
        }
        if let Some(error) = self.error {
            v.push_str(&format!(r#","error":{}"#, quote(error)));
        }
        v + "}]}\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_log_holds_what_the_generator_says() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.log");
        let generated = generate(&path, LogFormat::Plain, 6 << 20).unwrap();
        let text = std::fs::read(&path).unwrap();
        assert_eq!(text.len() as u64, generated.bytes);
        let run_lines = text.split(|&b| b == b'\n').filter(|l| l.starts_with(b"#12 ") && l.get(4).is_some_and(u8::is_ascii_digit)).count();
        assert_eq!(run_lines as u64, generated.output_lines);
        assert!(text.ends_with(format!("ERROR: failed to build: failed to solve: {RUN_PROCESS}\n").as_bytes()));
    }
}

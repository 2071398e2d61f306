//! `buildlens-bench`: writes a large OpenWrt-like failing build log, parses it streaming, and reports
//! throughput, peak RSS and the cost of re-indexing a grown log. The result is checked (failing step, its line
//! count, error, Dockerfile lines) so that a broken parser posts no figure. See BENCHMARKS.md.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use buildlens::log::{parse_reader, BuildResult, LogParser, ParsedLog, Step, StepStatus};
use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

#[derive(Parser, Debug)]
#[command(about = "Benchmark of the streaming log parser on a generated multi-GB build log")]
struct Args {
    /// Size of the generated log, in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mb: u64,
    /// Log format to generate.
    #[arg(long, value_enum, default_value_t = LogFormat::Plain)]
    format: LogFormat,
    /// Write the log to FILE and keep it (default: a file in the temp dir, removed at the end).
    #[arg(long, value_name = "FILE")]
    keep: Option<PathBuf>,
    /// Only write the log to FILE and print what it holds as JSON. The benchmark runs this in a child
    /// process, so the parse's peak RSS is not charged for the generator.
    #[arg(long, value_name = "FILE", hide = true)]
    generate_only: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
enum LogFormat {
    Plain,
    Rawjson,
    Legacy,
}

/// What the generator wrote, i.e. what a correct parse must find.
#[derive(Debug, Serialize, Deserialize)]
struct Generated {
    format: LogFormat,
    bytes: u64,
    seconds: f64,
    /// Output lines of the failing RUN step.
    output_lines: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.generate_only {
        Some(path) => generate_only(path, &args),
        None => bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("buildlens-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The child's job: write the log, print what it holds.
fn generate_only(path: &Path, args: &Args) -> Result<()> {
    let generated = generate(path, args.format, args.size_mb << 20)?;
    println!("{}", serde_json::to_string(&generated)?);
    Ok(())
}

/// Removes the generated log when the benchmark ends, unless it was asked to be kept.
struct LogFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for LogFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn bench(args: &Args) -> Result<()> {
    let default = std::env::temp_dir().join(format!("buildlens-bench-{}.log", std::process::id()));
    let log = LogFile { path: args.keep.clone().unwrap_or(default), keep: args.keep.is_some() };
    let generated = generate_in_child(&log.path, args)?;
    println!(
        "log:      {} ({:?}, {} bytes, {} output lines in the failing step)",
        log.path.display(),
        generated.format,
        generated.bytes,
        generated.output_lines
    );
    println!("generate: {:.2} s, {:.0} MB/s (child process)", generated.seconds, generated.bytes as f64 / generated.seconds / 1e6);
    let rss_before = peak_rss_bytes();
    let started = Instant::now();
    let parsed = parse_reader(File::open(&log.path).context("opening the log")?);
    let seconds = started.elapsed().as_secs_f64();
    let rss_parse = peak_rss_bytes();
    check(&parsed, &generated).context("the parse result is wrong, so no figure is reported")?;
    println!("parse:    {} bytes in {seconds:.3} s = {:.2} GB/s", parsed.bytes, parsed.bytes as f64 / seconds / 1e9);
    println!("peak RSS: {:.1} MiB for the whole process after the parse ({:.1} MiB before it)", mib(rss_parse), mib(rss_before));
    report_reindex(&reindex(&log.path, generated.bytes / 10 * 9, &parsed)?, generated.bytes);
    goals(parsed.bytes as f64 / seconds, rss_parse);
    Ok(())
}

fn report_reindex(r: &Reindex, len: u64) {
    println!(
        "re-index: checkpoint at 90% = {} bytes of JSON; resumed at offset {}, read {} bytes ({:.1}% of the log) in {:.4} s",
        r.checkpoint_bytes,
        r.resumed_from,
        r.bytes_read,
        r.bytes_read as f64 * 100.0 / len as f64,
        r.seconds
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

fn goals(bytes_per_second: f64, rss: u64) {
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("goals:    >= 2 GB/s {}; < 32 MB peak RSS {}", verdict(bytes_per_second >= 2e9), verdict(rss < 32_000_000));
}

/// Runs this binary with `--generate-only` and reads what it wrote.
fn generate_in_child(path: &Path, args: &Args) -> Result<Generated> {
    let exe = std::env::current_exe().context("finding the benchmark binary")?;
    let format = args.format.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
    let out = Command::new(exe)
        .arg("--generate-only")
        .arg(path)
        .args(["--size-mb", &args.size_mb.to_string(), "--format", &format])
        .output()
        .context("running the generator")?;
    if !out.status.success() {
        bail!("the generator failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).context("reading the generator's summary")
}

/// Peak resident set size of this process so far (Linux reports `ru_maxrss` in KiB).
fn peak_rss_bytes() -> u64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    u64::try_from(usage.ru_maxrss).unwrap_or(0).saturating_mul(1024)
}

// ---------------------------------------------------------------------------------------------------------
// Checking the result

const RUN_NAME: &str = "[toolchain 5/9] RUN make -j2 toolchain/install";
const RUN_PROCESS: &str = r#"process "/bin/sh -c make -j2 toolchain/install" did not complete successfully: exit code: 2"#;

/// The parse found what the generator wrote; else what is wrong.
fn check(parsed: &ParsedLog, generated: &Generated) -> Result<()> {
    if parsed.bytes != generated.bytes {
        bail!("read {} bytes of {}", parsed.bytes, generated.bytes);
    }
    let step = failing_step(parsed)?;
    check_step(step, generated)?;
    let failed = parsed.builds.iter().any(|b| b.result == BuildResult::Failed);
    if !failed {
        bail!("no build has result `failed`");
    }
    Ok(())
}

fn failing_step(parsed: &ParsedLog) -> Result<&Step> {
    let mut errors = parsed.builds.iter().flat_map(|b| &b.steps).filter(|s| s.status == StepStatus::Error);
    match (errors.next(), errors.next()) {
        (Some(step), None) => Ok(step),
        (Some(a), Some(b)) => bail!("two failing steps: {:?} and {:?}", a.name, b.name),
        (None, _) => {
            let problems: Vec<&str> = parsed.problems.iter().map(|p| p.message.as_str()).take(3).collect();
            bail!("failing step not found: {} builds, problems: {problems:?}", parsed.builds.len())
        }
    }
}

fn check_step(step: &Step, generated: &Generated) -> Result<()> {
    let want_position = (Some(5), Some(9));
    if (step.k, step.n) != want_position || !step.instruction.as_deref().unwrap_or("").contains("make -j2 toolchain/install") {
        bail!("the failing step is {:?} (k/n {:?}/{:?}), not step 5/9 `RUN make -j2 toolchain/install`", step.name, step.k, step.n);
    }
    if step.output.lines != generated.output_lines {
        bail!("the failing step has {} output lines, the log has {}", step.output.lines, generated.output_lines);
    }
    if step.exit_code != Some(2) || step.error.is_none() {
        bail!("the failing step's error is {:?} (exit code {:?}), want exit code 2", step.error, step.exit_code);
    }
    if generated.format == LogFormat::Plain {
        check_plain_step(step)?;
    }
    Ok(())
}

fn check_plain_step(step: &Step) -> Result<()> {
    if step.name != RUN_NAME || step.error.as_deref() != Some(RUN_PROCESS) {
        bail!("the failing step is {:?} with error {:?}", step.name, step.error);
    }
    if step.dockerfile_lines != Some([42, 42]) {
        bail!("the failing step's Dockerfile lines are {:?}, want 42-42", step.dockerfile_lines);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Re-indexing a grown log

struct Reindex {
    checkpoint_bytes: usize,
    resumed_from: u64,
    bytes_read: u64,
    seconds: f64,
}

/// Parses the log up to `cut`, stores a checkpoint as JSON text, then times resuming from it and reading
/// the rest, which must give the one-pass result and read only the bytes after the last whole line.
fn reindex(path: &Path, cut: u64, whole: &ParsedLog) -> Result<Reindex> {
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
fn feed_from(parser: &mut LogParser, file: &mut File, from: u64, to: Option<u64>) -> Result<u64> {
    file.seek(SeekFrom::Start(from))?;
    let mut buf = vec![0u8; 256 * 1024];
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

// ---------------------------------------------------------------------------------------------------------
// Generating the log

/// Writes a failing OpenWrt toolchain build of about `size` bytes to `path`.
fn generate(path: &Path, format: LogFormat, size: u64) -> Result<Generated> {
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
/// Wall-clock start of the generated build, in rawjson.
const START_UNIX_MS: i64 = 1_795_000_000_000;

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

/// BuildKit (plain) time since the vertex started: `%.3f` under 10 s, `%.2f` under 100 s, else `%.1f` (§2.1).
fn push_seconds(out: &mut Vec<u8>, ms: u64) {
    push_u64(out, ms / 1000);
    out.push(b'.');
    let frac = ms % 1000;
    let (value, width) = match ms {
        0..10_000 => (frac, 3),
        10_000..100_000 => (frac / 10, 2),
        _ => (frac / 100, 1),
    };
    let start = out.len();
    push_u64(out, value);
    while out.len() - start < width {
        out.insert(start, b'0');
    }
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// RFC 3339 time `ms` milliseconds after the RUN step started (negative for the vertexes before it).
fn rfc3339(ms: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(START_UNIX_MS.saturating_add(ms)).unwrap_or_default();
    let text = at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    // Go's RFC3339Nano drops trailing zeros of the fraction, and the dot with them.
    let trimmed = text.trim_end_matches('Z').trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed}Z")
}

/// xorshift64*: cheap, deterministic variety.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn pick<'a>(rng: &mut u64, items: &[&'a str]) -> &'a str {
    items[(next(rng) % items.len() as u64) as usize]
}

const DIRS: &[&str] = &["gcc", "gcc/c-family", "gcc/config/mips", "libgcc", "libiberty", "libcpp", "gmp/mpn", "mpfr/src", "isl", "zlib"];
const FILES: &[&str] = &["tree-ssa-loop", "expr", "fold-const", "reload1", "varasm", "mips", "cp-tree", "regex", "hashtab", "mul_1", "div"];

/// One line of a make run of the toolchain: compiler calls mostly, some make, libtool, configure and warnings.
fn compiler_line(rng: &mut u64) -> Vec<u8> {
    let (dir, file, n) = (pick(rng, DIRS), pick(rng, FILES), next(rng) % 900 + 10);
    let line = match next(rng) % 10 {
        0 => format!("make[{}]: Entering directory '/builder/build_dir/toolchain-mips_24kc_gcc-12.3.0_musl/gcc-12.3.0-initial/{dir}'", n % 5 + 1),
        1 => format!("libtool: compile:  mips-openwrt-linux-musl-gcc -DHAVE_CONFIG_H -I. -I../../{dir} -Os -pipe -c ../../{dir}/{file}{n}.c  -fPIC -DPIC -o .libs/{file}{n}.o"),
        2 => format!("checking for {file}{n}... {}", if n % 3 == 0 { "no" } else { "yes" }),
        3 => format!("../{dir}/{file}.c:{n}:{}: warning: unused variable 'tmp{n}' [-Wunused-variable]", n % 40 + 1),
        4 => format!("mips-openwrt-linux-musl-ar rc lib{}.a {file}{n}.o {file}{}.o", dir.replace('/', "_"), n + 1),
        _ => format!("mips-openwrt-linux-musl-gcc -Os -pipe -mno-branch-likely -mips32r2 -mtune=24kc -fno-caller-saves -I../{dir}/include -DIN_GCC -c ../{dir}/{file}{n}.c -o {file}{n}.o"),
    };
    line.into_bytes()
}

/// A 1 MiB compiler command line (huge `-D` lists happen).
fn long_line() -> Vec<u8> {
    let mut line = b"mips-openwrt-linux-musl-gcc -Os -pipe".to_vec();
    let mut i = 0u64;
    while line.len() < 1 << 20 {
        line.extend_from_slice(format!(" -DCONFIG_OPTION_{i}=1").as_bytes());
        i += 1;
    }
    line
}

/// The last lines of the failing make run (also shown in the plain error summary).
const FAILURE_LINES: [&str; 10] = [
    "mips-openwrt-linux-musl-gcc -Os -pipe -c ../gcc/tree-ssa-loop-ivopts.c -o tree-ssa-loop-ivopts.o",
    "../gcc/tree-ssa-loop-ivopts.c: In function 'rewrite_use_nonlinear_expr':",
    "../gcc/tree-ssa-loop-ivopts.c:7123:3: error: 'gsi_insert_seq' undeclared (first use in this function)",
    "../gcc/tree-ssa-loop-ivopts.c:7123:3: note: each undeclared identifier is reported only once",
    "make[4]: *** [Makefile:1143: tree-ssa-loop-ivopts.o] Error 1",
    "make[4]: Leaving directory '/builder/build_dir/toolchain-mips_24kc_gcc-12.3.0_musl/gcc-12.3.0-initial/gcc'",
    "make[3]: *** [Makefile:4421: all-gcc] Error 2",
    "make[2]: *** [toolchain/gcc/initial/Makefile:32: compile] Error 2",
    "make[1]: *** [toolchain/Makefile:97: toolchain/gcc/initial/compile] Error 2",
    "make: *** [/builder/include/toplevel.mk:231: toolchain/install] Error 2",
];

const PLAIN_PREAMBLE: &str = r#"#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 1.92kB done
#1 DONE 0.0s

#2 resolve image config for docker-image://docker.io/docker/dockerfile:1
#2 DONE 0.9s

#3 docker-image://docker.io/docker/dockerfile:1@sha256:4a43a54dd1fedceb30ba47e76cfcf2b47304f4161c0caeac2db1c61804ea3c91
#3 CACHED

#4 [internal] load metadata for docker.io/library/debian:bookworm
#4 DONE 1.1s

#5 [auth] library/debian:pull token for registry-1.docker.io
#5 DONE 0.0s

#6 [internal] load .dockerignore
#6 transferring context: 2B done
#6 DONE 0.0s

#7 [toolchain 1/9] FROM docker.io/library/debian:bookworm@sha256:b877a1a3fdf02469440f1768cf69c9771338a875b7add5e80c45b756c92ac20a
#7 resolve docker.io/library/debian:bookworm@sha256:b877a1a3fdf02469440f1768cf69c9771338a875b7add5e80c45b756c92ac20a done
#7 CACHED

#8 [internal] load build context
#8 transferring context: 48.12MB 1.4s done
#8 DONE 1.5s

#9 [toolchain 2/9] RUN apt-get update && apt-get install -y build-essential gawk gettext libncurses-dev python3 rsync unzip zlib1g-dev
#9 CACHED

#10 [toolchain 3/9] WORKDIR /builder
#10 CACHED

#11 [toolchain 4/9] COPY . /builder
#11 DONE 3.2s

#12 [toolchain 5/9] RUN make -j2 toolchain/install
"#;

const PLAIN_SNIPPET: &str = "------
Dockerfile:42
--------------------
  40 |     COPY . /builder
  41 |     
  42 | >>> RUN make -j2 toolchain/install
  43 |     RUN make -j2 target/compile
  44 |     
--------------------
";

const LEGACY_PREAMBLE: &str = "Sending build context to Docker daemon  48.12MB
Step 1/9 : FROM debian:bookworm AS toolchain
 ---> 5027089adc4c
Step 2/9 : RUN apt-get update && apt-get install -y build-essential gawk gettext libncurses-dev python3 rsync unzip zlib1g-dev
 ---> Using cache
 ---> 1b2f1e9c7a31
Step 3/9 : WORKDIR /builder
 ---> Using cache
 ---> 7c0d4e2b9a18
Step 4/9 : COPY . /builder
 ---> 4e8a1f6b2d90
Step 5/9 : RUN make -j2 toolchain/install
 ---> Running in 3f2a9c1d7e55
";

const RAWJSON_VERTEXES: &[(&str, bool)] = &[
    ("[internal] load build definition from Dockerfile", false),
    ("[internal] load metadata for docker.io/library/debian:bookworm", false),
    ("[internal] load .dockerignore", false),
    ("[toolchain 1/9] FROM docker.io/library/debian:bookworm", true),
    ("[internal] load build context", false),
    ("[toolchain 2/9] RUN apt-get update && apt-get install -y build-essential", true),
    ("[toolchain 3/9] WORKDIR /builder", true),
    ("[toolchain 4/9] COPY . /builder", false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_have_buildkit_precision() {
        let show = |ms| {
            let mut out = Vec::new();
            push_seconds(&mut out, ms);
            String::from_utf8(out).unwrap()
        };
        assert_eq!([show(53), show(9_999), show(15_860), show(159_700), show(1_234_567)], ["0.053", "9.999", "15.86", "159.7", "1234.5"]);
    }

    #[test]
    fn rawjson_times_drop_trailing_zeros() {
        assert_eq!(
            [rfc3339(-60_000), rfc3339(0), rfc3339(100), rfc3339(1)],
            ["2026-11-18T11:05:40Z", "2026-11-18T11:06:40Z", "2026-11-18T11:06:40.1Z", "2026-11-18T11:06:40.001Z"]
        );
    }

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

//! `buildlens-bench`: writes a large OpenWrt-like failing build log, then times in one process, back to
//! back, the floor (a memchr line count over the same reads) and the streaming parse, and reports the
//! parse as a multiple of the floor, peak RSS and the cost of re-indexing a grown log. Every parse is
//! checked (failing step, its line count, error, Dockerfile lines) so that a broken parser posts no
//! figure. See BENCHMARKS.md.

mod check;
mod floor;
mod generate;
mod mapped;
mod reindex;
mod rounds;
mod text;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
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
    /// Rounds of (floor, parse), back to back; the figures are the best round's.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Also time the floor and the parse over an `mmap` of the file (`MADV_SEQUENTIAL`), after the reads.
    #[arg(long)]
    mmap: bool,
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
    let generated = generate::generate(path, args.format, args.size_mb << 20)?;
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
    let read = rounds::run(&log.path, &generated, rounds::Path::Read, args.rounds)?;
    let rss_parse = peak_rss_bytes();
    read.print("read");
    println!("peak RSS: {:.1} MiB for the whole process after the parses ({:.1} MiB before them)", mib(rss_parse), mib(rss_before));
    let mapped = if args.mmap { Some(rounds::run(&log.path, &generated, rounds::Path::Mmap, args.rounds)?) } else { None };
    if let Some(mapped) = &mapped {
        mapped.print("mmap");
        println!("peak RSS: {:.1} MiB after the mmap parses too", mib(peak_rss_bytes()));
    }
    let whole = buildlens::log::parse_reader(std::fs::File::open(&log.path).context("opening the log")?);
    report_reindex(&reindex::reindex(&log.path, generated.bytes / 10 * 9, &whole)?, generated.bytes);
    goals(generated.format, read.best_ratio(), rss_parse);
    Ok(())
}

fn report_reindex(r: &reindex::Reindex, len: u64) {
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

/// The goals: plain at most 2x the floor, rawjson and legacy at most 3x, peak RSS at most 16 MiB.
fn goals(format: LogFormat, ratio: f64, rss: u64) {
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let most = if format == LogFormat::Plain { 2.0 } else { 3.0 };
    println!(
        "goals:    parse <= {most:.0}x the floor {} ({ratio:.2}x); peak RSS <= 16 MiB {}",
        verdict(ratio <= most),
        verdict(rss <= 16 << 20)
    );
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

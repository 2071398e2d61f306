//! Rounds of (floor, parse) over the same file, back to back in this process, so that both see the same
//! machine; every parse is checked before any figure is kept.

use std::fs::File;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use buildlens::log::parse_reader;

use crate::check::check;
use crate::floor::{count_mapped, count_read, parse_mapped, Counted};
use crate::Generated;

/// How the file reaches the floor and the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// `File::read` into one reused buffer of `READ_BYTES` (what `parse_reader` does).
    Read,
    /// `mmap` with `MADV_SEQUENTIAL`, pieces of `READ_BYTES` released once used.
    Mmap,
}

/// Seconds of each round's floor and parse.
pub struct Timings {
    bytes: u64,
    lines: u64,
    floor: Vec<f64>,
    parse: Vec<f64>,
}

/// Runs `rounds` rounds; fails (no figures) on a wrong parse or a floor that read another file.
pub fn run(log: &std::path::Path, generated: &Generated, path: Path, rounds: u32) -> Result<Timings> {
    let mut t = Timings { bytes: generated.bytes, lines: 0, floor: Vec::new(), parse: Vec::new() };
    for _ in 0..rounds {
        let started = Instant::now();
        let counted = match path {
            Path::Read => count_read(log)?,
            Path::Mmap => count_mapped(log)?,
        };
        t.floor.push(started.elapsed().as_secs_f64());
        check_floor(counted, generated)?;
        t.lines = counted.lines;
        let started = Instant::now();
        let parsed = match path {
            Path::Read => parse_reader(File::open(log).context("opening the log")?),
            Path::Mmap => parse_mapped(log)?,
        };
        t.parse.push(started.elapsed().as_secs_f64());
        check(&parsed, generated).context("the parse result is wrong, so no figure is reported")?;
    }
    Ok(t)
}

fn check_floor(counted: Counted, generated: &Generated) -> Result<()> {
    if counted.bytes != generated.bytes {
        bail!("the floor read {} bytes of a log of {} bytes", counted.bytes, generated.bytes);
    }
    Ok(())
}

impl Timings {
    /// The best parse over the best floor.
    pub fn best_ratio(&self) -> f64 {
        best(&self.parse) / best(&self.floor)
    }

    pub fn print(&self, label: &str) {
        let rate = |s: f64| self.bytes as f64 / s / 1e9;
        let (floor, parse) = (best(&self.floor), best(&self.parse));
        let ratios: Vec<f64> = self.parse.iter().zip(&self.floor).map(|(p, f)| p / f).collect();
        println!("floor ({label}): {} lines in {floor:.3} s = {:.2} GB/s (best of {})", self.lines, rate(floor), self.floor.len());
        println!("parse ({label}): {} bytes in {parse:.3} s = {:.2} GB/s (best of {})", self.bytes, rate(parse), self.parse.len());
        println!(
            "ratio ({label}): {:.2}x the floor (best parse / best floor); each round {}",
            self.best_ratio(),
            ratios.iter().map(|r| format!("{r:.2}x")).collect::<Vec<_>>().join(" ")
        );
    }
}

fn best(seconds: &[f64]) -> f64 {
    seconds.iter().copied().fold(f64::INFINITY, f64::min)
}

//! `buildlens parse LOG [--json]`. Builds are written as the log is read (`log::stream`), so a log of
//! 100,000 builds costs the memory of the builds still open, not of all of them. Text output numbers
//! builds `i/N` when the log holds at most `HELD` of them (held until the end to count them); past that,
//! `build i:` as each comes and the count at the end.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use anyhow::Context;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::print;
use crate::log::stream::{each_build, Rest};
use crate::log::{Build, ParsedLog};

/// Builds held for `build i/N` numbering in text output.
const HELD: usize = 1000;

pub fn run(log: &Path, json: bool, all: bool) -> anyhow::Result<i32> {
    let reader: Box<dyn Read> = if log.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(log).with_context(|| format!("cannot open {}", log.display()))?)
    };
    let mut out = super::stdout(json);
    let builds = if json { json_out(&mut out, reader)? } else { text_out(&mut out, reader, all)? };
    out.flush()?;
    Ok(if builds == 0 { 2 } else { 0 })
}

/// `ParsedLog` as `serde_json::to_writer_pretty` writes it, each build written as it is read.
fn json_out(out: &mut impl Write, reader: impl Read) -> anyhow::Result<usize> {
    let streamed = Streamed { reader: RefCell::new(Some(reader)), rest: RefCell::new(None) };
    serde_json::to_writer_pretty(&mut *out, &streamed)?;
    writeln!(out)?;
    Ok(streamed.rest.into_inner().map_or(0, |r| r.builds))
}

fn text_out(out: &mut impl Write, reader: impl Read, all: bool) -> anyhow::Result<usize> {
    let mut held = Vec::new();
    let mut streaming = 0;
    let rest = each_build(reader, |build| {
        if streaming == 0 && held.len() < HELD {
            held.push(build);
            return Ok(());
        }
        for b in held.drain(..) {
            streaming += 1;
            print::build_block(out, &b, streaming, None, all)?;
        }
        streaming += 1;
        print::build_block(out, &build, streaming, None, all)
    })?;
    if streaming == 0 {
        print::parsed_log(out, &ParsedLog { builds: held, problems: rest.problems, bytes: rest.bytes }, all)?;
    } else {
        writeln!(out, "{streaming} builds")?;
        for p in &rest.problems {
            writeln!(out, "{}", p.message)?;
        }
    }
    Ok(rest.builds)
}

/// A log to read, serialised as the `ParsedLog` it gives: `builds` first (read while they are written),
/// then `problems` and `bytes`, known once the log ended.
struct Streamed<R> {
    reader: RefCell<Option<R>>,
    rest: RefCell<Option<Rest>>,
}

/// The `builds` member of a `Streamed`.
struct Builds<'a, R>(&'a Streamed<R>);

impl<R: Read> Serialize for Streamed<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut log = serializer.serialize_struct("ParsedLog", 3)?;
        log.serialize_field("builds", &Builds(self))?;
        let rest = self.rest.borrow();
        let rest = rest.as_ref().ok_or_else(|| serde::ser::Error::custom("the log was not read"))?;
        log.serialize_field("problems", &rest.problems)?;
        log.serialize_field("bytes", &rest.bytes)?;
        log.end()
    }
}

impl<R: Read> Serialize for Builds<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let reader = self.0.reader.borrow_mut().take().ok_or_else(|| serde::ser::Error::custom("the log was read already"))?;
        let mut seq = serializer.serialize_seq(None)?;
        let mut failed = None;
        let read = each_build(reader, |build: Build| {
            seq.serialize_element(&build).map_err(|e| {
                failed = Some(e);
                io::Error::other("the output failed")
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        *self.0.rest.borrow_mut() = Some(read.map_err(serde::ser::Error::custom)?);
        seq.end()
    }
}

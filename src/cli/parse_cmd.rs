//! `buildlens parse LOG [--json]`.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::print;
use crate::log::parse_reader;

pub fn run(log: &Path, json: bool, all: bool) -> anyhow::Result<i32> {
    let parsed = if log.as_os_str() == "-" {
        parse_reader(std::io::stdin().lock())
    } else {
        let file = File::open(log).with_context(|| format!("cannot open {}", log.display()))?;
        parse_reader(file)
    };
    let mut out = super::stdout(json);
    if json {
        serde_json::to_writer_pretty(&mut out, &parsed)?;
        writeln!(out)?;
    } else {
        print::parsed_log(&mut out, &parsed, all)?;
    }
    out.flush()?;
    Ok(if parsed.builds.is_empty() { 2 } else { 0 })
}

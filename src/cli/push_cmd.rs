//! `buildlens push [RECORD...] --to REGISTRY/REPO`: records of the store as OCI artifacts (`remote::push`);
//! the newest record by default, `--all` for every local one.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::remote::{self, PushOutcome, Target};
use crate::store::Store;

/// What `push` was asked.
pub struct Args {
    pub records: Vec<String>,
    pub to: Option<String>,
    pub all: bool,
    pub store: Option<PathBuf>,
    pub insecure: bool,
    pub ca_cert: Option<PathBuf>,
}

pub fn run(args: Args, cwd: &Path) -> Result<i32> {
    let target = target(args.to.as_deref(), args.insecure)?;
    let store = Store::locate(args.store.as_deref(), cwd);
    let local: Vec<_> = store.records().into_iter().filter(|r| crate::store::remote::parse_id(&r.id).is_none()).collect();
    let records = if args.all {
        local
    } else if args.records.is_empty() {
        local.into_iter().last().into_iter().collect()
    } else {
        let mut named = Vec::new();
        for id in &args.records {
            match store.record(id) {
                Some(record) => named.push(record),
                None => bail!("no record `{}` in {} (`buildlens builds` lists them)", crate::present::inline(id), store.root().display()),
            }
        }
        named
    };
    if records.is_empty() {
        bail!("no record to push in {}: record a build first (`buildlens record -- docker build ...`)", store.root().display());
    }
    let mut options = remote::Options::from_env();
    options.insecure = args.insecure;
    options.ca_cert = args.ca_cert.or(options.ca_cert);
    let outcomes = remote::push(&store, &records, &target, &options)?;
    let mut out = super::stdout(false);
    let mut skipped = 0;
    for outcome in &outcomes {
        match outcome {
            PushOutcome::Pushed { id, tag, bytes } => {
                writeln!(out, "pushed {id} -> {target}:{tag} ({})", crate::present::size_bytes(*bytes))?
            }
            PushOutcome::AlreadyThere { id, tag } => writeln!(out, "already there: {id} ({target}:{tag})")?,
            PushOutcome::Skipped { id, why } => {
                skipped += 1;
                crate::present::eprint_line(format_args!("buildlens: not pushed: {id}: {why}"));
            }
        }
    }
    out.flush()?;
    Ok(i32::from(skipped > 0))
}

/// `--to`, else `$BUILDLENS_REMOTE`.
pub fn target(given: Option<&str>, insecure: bool) -> Result<Target> {
    let from_env = std::env::var(remote::REMOTE_ENV).ok().filter(|v| !v.is_empty());
    let Some(text) = given.map(str::to_string).or(from_env) else {
        bail!("no registry: give REGISTRY/REPO (e.g. ghcr.io/team/app-builds), or set {}", remote::REMOTE_ENV)
    };
    Target::parse(&text, insecure).map_err(anyhow::Error::msg)
}

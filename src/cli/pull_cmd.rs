//! `buildlens pull REGISTRY/REPO [--dockerfile PATH] [--last N]`: the newest records of a Dockerfile (or
//! of each) into the store's read-only `remote/` area (`remote::pull`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::remote::{self, PullOptions};
use crate::store::Store;

/// What `pull` was asked.
pub struct Args {
    pub remote: Option<String>,
    pub dockerfile: Option<PathBuf>,
    pub last: usize,
    pub store: Option<PathBuf>,
    pub insecure: bool,
    pub ca_cert: Option<PathBuf>,
}

pub fn run(args: Args, cwd: &Path) -> Result<i32> {
    let target = super::push_cmd::target(args.remote.as_deref(), args.insecure)?;
    let store = Store::locate(args.store.as_deref(), cwd);
    let dockerfile = args.dockerfile.as_deref().map(|d| remote::repo_relative(&store, &cwd.join(d)));
    let mut options = remote::Options::from_env();
    options.insecure = args.insecure;
    options.ca_cert = args.ca_cert.or(options.ca_cert);
    let what = PullOptions { dockerfile, last: args.last.max(1) };
    let report = remote::pull(&store, &target, &what, &options)?;
    for why in &report.refused {
        crate::present::eprint_line(format_args!("buildlens: refused {why}"));
    }
    let mut out = super::stdout(false);
    writeln!(
        out,
        "pulled {} new record{} from {target} ({} already here, {} listed, {} refused)",
        report.fetched.len(),
        if report.fetched.len() == 1 { "" } else { "s" },
        report.already,
        report.listed,
        report.refused.len()
    )?;
    for id in &report.fetched {
        writeln!(out, "  {id}")?;
    }
    out.flush()?;
    Ok(0)
}

//! `buildlens record`: runs a build command, passes its output through live and unchanged, and stores
//! the raw bytes and the metadata as a record.
//!
//! The log is written as the bytes arrive, so a record is readable (and shown as running) while the
//! build goes on; `meta.json` is written before the command starts and again when it ends. Signals:
//! the command runs in its own process group, which gets Ctrl-C and any stop signal sent to the recorder
//! (see `signals`). Either way the recorder outlives the command and stores what
//! was captured.

pub mod args;
pub mod inputs;
mod signals;
mod tee;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::store::{Record, RecordMeta, ServiceDockerfile, Source, Store};

/// What `record` was asked to do.
#[derive(Debug, Clone)]
pub struct RecordRequest {
    pub command: Vec<String>,
    /// `--dockerfile`: overrides what the command line says.
    pub dockerfile: Option<PathBuf>,
    pub cwd: PathBuf,
}

/// How the recorded command ended.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub record: Record,
    /// The exit code `buildlens record` must exit with: the command's, or 128 + signal.
    pub exit_code: i32,
}

/// Runs the command and records it in `store`.
pub fn run(store: &Store, req: &RecordRequest) -> Result<Recorded> {
    if req.command.is_empty() {
        bail!("nothing to record: give the build command after `--`, e.g. `buildlens record -- docker build .`");
    }
    let record = store.create_record(chrono::Utc::now())?;
    let mut meta = initial_meta(&record, req);
    crate::store::select::relativize(store, &mut meta);
    record.write_meta(&meta)?;
    let log = crate::store::safe_fs::create_new(&record.log_path()).with_context(|| format!("creating {}", record.log_path().display()))?;

    // Before the command starts (the files as this build reads them), on its own thread.
    let taking = inputs::start(meta_path(&meta.dockerfile, store), meta_path(&meta.context, store));
    let forwarding = signals::install();
    let mut child = match spawn(&req.command, &req.cwd, forwarding.terminal()) {
        Ok(child) => child,
        Err(e) => {
            drop(taking);
            // Nothing ran: leave no empty record behind (the folder was made by us a moment ago).
            let _ = std::fs::remove_dir_all(&record.dir);
            return Err(e);
        }
    };
    forwarding.set_child(child.id());
    let pumps = tee::start(&mut child, log);
    let status = child.wait().context("waiting for the build command")?;
    if !pumps.join(child.id()) {
        eprintln!(
            "buildlens: the command exited but a process it started outside its process group still holds its output; stopped recording {}s later",
            tee::GRACE.as_secs()
        );
    }
    drop(forwarding);
    taking.finish(&record);

    let (code, signal) = exit_of(&status);
    finish_meta(&record, &mut meta, code, signal)?;
    Ok(Recorded { record, exit_code: code.unwrap_or_else(|| 128 + signal.unwrap_or(0)) })
}

fn initial_meta(record: &Record, req: &RecordRequest) -> RecordMeta {
    let inv = args::parse(&req.command, &req.cwd);
    let mut meta = RecordMeta::new(record.id.clone(), Source::Record, chrono::Utc::now().to_rfc3339());
    if inv.tool == "compose-build" && req.dockerfile.is_none() {
        meta.services = compose_services(&inv.compose_files, &req.cwd);
    }
    meta.command = req.command.clone();
    meta.cwd = Some(req.cwd.clone());
    meta.dockerfile = req.dockerfile.as_ref().map(|d| absolute(&req.cwd, d)).or(inv.dockerfile);
    meta.context = inv.context;
    meta.tags = inv.tags;
    meta.build_args = inv.build_args;
    meta.no_cache = inv.no_cache;
    meta.target = inv.target;
    meta.tool = inv.tool;
    meta.recorder_pid = Some(std::process::id());
    meta
}

/// Which Dockerfile each service of a compose build builds: from the files given with `-f` (a later file's
/// service replaces an earlier one's), else the compose file compose itself finds (the current folder,
/// then its parents).
fn compose_services(given: &[PathBuf], cwd: &Path) -> Vec<ServiceDockerfile> {
    let found;
    let files = if given.is_empty() {
        found = cwd.ancestors().take(16).find_map(|d| crate::compose::FILE_NAMES.iter().map(|n| d.join(n)).find(|p| p.is_file()));
        found.as_slice()
    } else {
        given
    };
    let mut out: Vec<ServiceDockerfile> = Vec::new();
    for file in files {
        for (service, dockerfile) in crate::store::compose::service_dockerfiles(file) {
            out.retain(|s| s.service != service);
            out.push(ServiceDockerfile { service, dockerfile });
        }
    }
    out
}

fn finish_meta(record: &Record, meta: &mut RecordMeta, code: Option<i32>, signal: Option<i32>) -> Result<()> {
    meta.finished = Some(chrono::Utc::now().to_rfc3339());
    meta.exit_code = code;
    meta.signal = signal;
    meta.recorder_pid = None;
    record.write_meta(meta)
}

fn spawn(command: &[String], cwd: &Path, terminal: bool) -> Result<std::process::Child> {
    let mut cmd = Command::new(&command[0]);
    signals::own_group(&mut cmd, terminal);
    cmd.args(&command[1..])
        .current_dir(cwd)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{}` (is it installed and on PATH?)", command[0]))
}

fn exit_of(status: &std::process::ExitStatus) -> (Option<i32>, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    (status.code(), status.signal())
}

/// A path of `meta.json` (relative to the workspace root after `relativize`) as a real path.
fn meta_path(path: &Option<PathBuf>, store: &Store) -> Option<PathBuf> {
    path.as_deref().map(|p| crate::store::select::resolve(store, p))
}

fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

//! The generator test's machinery: random Dockerfiles (`dockerfile`) built for real by BuildKit, the
//! classic builder and podman, plain or wrapped the ways users run them (`wrappers`), recorded or imported
//! with the buildlens CLI, then every line of `report --json` checked against what the generator knows.
//!
//! The seed comes from `BUILDLENS_GEN_SEED` (else the clock) and is printed with every failure; each test
//! derives its own stream from it and its name, so one test reruns alone with the same Dockerfiles. A
//! run nonce (never the seed) is in every `RUN`, so no step hits the cache of another case or run.
//! Cases run a few at a time across all tests of the binary (`BUILDLENS_GEN_JOBS`, default 3). A wrong
//! case's Dockerfiles, log and reports are kept in `test-artifacts/generated/seed-S/` (every case's with
//! `BUILDLENS_GEN_KEEP=1`).

#![allow(dead_code)]

pub mod dockerfile;
pub mod wrappers;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, run, text, unique, BIN};
use dockerfile::{expected, Engine, Generated, Rng};
use wrappers::Wrapper;

/// One generated build: its Dockerfiles (several for the parallel and compose wrappers), how it is run,
/// and whether the recorded build is the second one (every step that passed before is cached).
pub struct Case {
    pub wrapper: Wrapper,
    pub engine: Engine,
    pub rebuilt: bool,
    pub files: Vec<Generated>,
}

impl Case {
    /// The folder of file `k` inside the case's folder.
    pub fn sub(&self, k: usize) -> String {
        if self.files.len() == 1 {
            "app".into()
        } else {
            format!("svc{k}")
        }
    }

    pub fn describe(&self) -> String {
        let cache = if self.rebuilt { ", the second build (cached steps)" } else { "" };
        format!("{} with {:?}{cache}", self.wrapper.describe(), self.engine)
    }
}

/// The run's seed: `BUILDLENS_GEN_SEED`, else the clock.
pub fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("BUILDLENS_GEN_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("BUILDLENS_GEN_SEED={s} is not a number")),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
    })
}

/// The random stream of test `name` for this run's seed.
pub fn rng_for(name: &str) -> Rng {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    Rng::new(seed() ^ hash)
}

/// `count` cases; `pick` chooses each one's wrapper, engine and how many Dockerfiles may fail.
pub fn cases(rng: &mut Rng, count: usize, pick: impl Fn(&mut Rng) -> (Wrapper, Engine)) -> Vec<Case> {
    let token = unique("g").replace('-', "");
    (0..count)
        .map(|n| {
            let (wrapper, engine) = pick(rng);
            let base = if engine == Engine::Podman { "localhost/fixture-base" } else { "fixture-base" };
            let files = wrapper.dockerfiles(rng);
            // docker-compose stops at the first service that fails: only the last may.
            let last = files - 1;
            let may_fail = |k: usize| !matches!(wrapper, Wrapper::Compose { .. }) || k == last;
            let files = (0..files).map(|k| dockerfile::generate(rng, &format!("{token}c{n}f{k}"), base, may_fail(k))).collect();
            Case { wrapper, engine, rebuilt: rng.chance(30), files }
        })
        .collect()
}

/// Builds every case (a few at a time), checks each, and fails with every mismatch, the Dockerfiles and
/// the seed.
pub fn run_cases(test: &str, cases: Vec<Case>) {
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(n, case)| {
                scope.spawn(move || {
                    let _slot = Slot::take();
                    // podman's shared storage is not safe for concurrent builds and removals here ("checking
                    // if cached image exists from a previous build: getting top layer info: layer not known"):
                    // its cases build one at a time.
                    let _podman = (case.engine == Engine::Podman).then(|| PODMAN.lock().unwrap_or_else(|e| e.into_inner()));
                    check_case(test, n, case)
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&cases)
            .enumerate()
            .filter_map(|(n, (h, case))| match h.join() {
                Ok(result) => result.err(),
                Err(panic) => Some(format!("=== case {n}: {} panicked: {}\n{}", case.describe(), panic_text(&panic), all_files(case))),
            })
            .collect()
    });
    let dockerfiles: usize = cases.iter().map(|c| c.files.len()).sum();
    eprintln!("{test}: {} cases, {dockerfiles} Dockerfiles in {:.1?} (seed {})", cases.len(), started.elapsed(), seed());
    assert!(
        failures.is_empty(),
        "{test}: {} of {} generated cases are wrong (seed {seed}; rerun: BUILDLENS_GEN_SEED={seed} cargo test --test generated_daemon {test} -- --include-ignored)\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n"),
        seed = seed()
    );
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

fn all_files(case: &Case) -> String {
    case.files.iter().enumerate().map(|(k, g)| format!("{}/Dockerfile:\n{}", case.sub(k), g.numbered())).collect()
}

/// Builds `case` in a fresh folder, records or imports its log, and compares `report --json` of each of
/// its Dockerfiles with what the generator expects.
fn check_case(test: &str, n: usize, case: &Case) -> Result<(), String> {
    let dir = tempfile::Builder::new().prefix("buildlens-gen-").tempdir().expect("temp dir");
    for (k, gen) in case.files.iter().enumerate() {
        let sub = dir.path().join(case.sub(k));
        std::fs::create_dir_all(&sub).expect("case folder");
        std::fs::write(sub.join("Dockerfile"), &gen.text).expect("Dockerfile");
        std::fs::write(sub.join("nonce.txt"), unique("nonce") + "\n").expect("nonce");
    }
    let store = dir.path().join(".buildlens");
    let outcome = wrappers::build_and_store(case, dir.path(), &store);
    let mut report = String::new();
    let mut reports = Vec::new();
    for (k, gen) in case.files.iter().enumerate() {
        let dockerfile = dir.path().join(case.sub(k)).join("Dockerfile");
        let json = report_json(&store, &dockerfile);
        let wrong = mismatches(gen, case, cache_reused(case, &outcome.log_path), &json);
        if !wrong.is_empty() && said_it_guessed(&outcome.log_path) {
            // Builds printed side by side that nothing in the log tells apart: the parser must say so
            // (issue 13, class 4), and it did; the lines are shown, not counted as wrong.
            eprintln!("{test} case {n}: {}: interleaved lines placed by a guess, as the parse says:\n{wrong}", case.sub(k));
            reports.push(json);
            continue;
        }
        if !wrong.is_empty() {
            let _ = write!(
                report,
                "{}/Dockerfile (stages {:?}, target {}, needed {:?}, fails: {}):\n{}{}  report problems: {}\n",
                case.sub(k),
                gen.stage_names,
                gen.stage_names[gen.target],
                gen.needed,
                gen.fails,
                gen.numbered(),
                wrong,
                json["problems"]
            );
        }
        reports.push(json);
    }
    let keep_all = std::env::var_os("BUILDLENS_GEN_KEEP").is_some();
    if report.is_empty() && !keep_all {
        return Ok(());
    }
    let kept = keep(test, n, case, dir.path(), &outcome.log_path, &reports);
    if report.is_empty() {
        return Ok(());
    }
    let message = format!(
        "=== case {n}: {} (seed {})\ncommand: {}\n{}: {}\n{report}",
        case.describe(),
        seed(),
        outcome.command,
        outcome.store_verb,
        outcome.summary,
    );
    let _ = std::fs::write(kept.join("failure.txt"), &message);
    Err(format!("{message}log, Dockerfiles and reports kept in {}", kept.display()))
}

/// Whether the second build of `case` reused the first one's cache. BuildKit may drop it (seen here once
/// in a few runs: every step `DONE` again); a log with no `CACHED` line at all (counted by grep, not by the
/// parser) means it did, and then every step ran.
fn cache_reused(case: &Case, log: &Option<PathBuf>) -> bool {
    if !case.rebuilt || case.engine != Engine::BuildKit {
        return case.rebuilt;
    }
    let text = log.as_ref().and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
    String::from_utf8_lossy(&text).lines().any(|l| l.ends_with(" CACHED"))
}

/// Whether `buildlens parse` of the stored log says that interleaved builds' lines were placed by a guess.
fn said_it_guessed(log: &Option<PathBuf>) -> bool {
    let Some(log) = log else { return false };
    let mut cmd = Command::new(BIN);
    cmd.arg("parse").arg("--json").arg(log);
    let out = run(&mut cmd, Duration::from_secs(60));
    text(&out.stdout).contains("placed by a guess")
}

/// `buildlens report --json` of `dockerfile` against `store`.
fn report_json(store: &Path, dockerfile: &Path) -> Value {
    let mut cmd = Command::new(BIN);
    cmd.arg("report").arg("--store").arg(store).arg("--json").arg(dockerfile);
    let out = run(&mut cmd, Duration::from_secs(60));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("report --json of {} printed no JSON ({e}): {}{}", dockerfile.display(), text(&out.stdout), text(&out.stderr))
    })
}

/// One line per instruction whose result is not what `case`'s builder must have done.
fn mismatches(gen: &Generated, case: &Case, rebuilt: bool, report: &Value) -> String {
    let empty = Vec::new();
    let instructions = report["instructions"].as_array().unwrap_or(&empty);
    let mut out = String::new();
    for (line, want) in expected(gen, case.engine, rebuilt) {
        let found = instructions.iter().find(|i| i["line"].as_u64() == Some(line as u64));
        let got = found.map(|i| i["last"]["status"].as_str());
        let got_text = match got {
            None => "no such instruction in the report".to_string(),
            Some(None) => "no result".to_string(),
            Some(Some(s)) => s.to_string(),
        };
        if got.is_none() || !want.accepts(got.flatten()) {
            let _ = writeln!(out, "  line {line} `{}`: expected {want:?}, got {got_text}", gen.line_text(line));
        }
    }
    out
}

/// Copies a wrong case's (with `BUILDLENS_GEN_KEEP` set: every case's) Dockerfiles, log and reports to `test-artifacts/generated/seed-S/<test>-<n>/`.
fn keep(test: &str, n: usize, case: &Case, dir: &Path, log: &Option<PathBuf>, reports: &[Value]) -> PathBuf {
    let to = support::repo_root().join("test-artifacts/generated").join(format!("seed-{}", seed())).join(format!("{test}-{n}"));
    let _ = std::fs::create_dir_all(&to);
    for (k, report) in reports.iter().enumerate() {
        let sub = case.sub(k);
        let _ = std::fs::copy(dir.join(&sub).join("Dockerfile"), to.join(format!("{sub}.Dockerfile")));
        let _ = std::fs::write(to.join(format!("{sub}.report.json")), serde_json::to_string_pretty(report).unwrap_or_default());
    }
    if let Some(log) = log {
        let _ = std::fs::copy(log, to.join("build.log"));
    }
    to
}

/// At most `BUILDLENS_GEN_JOBS` (default 3) cases build at once, across all tests of the binary.
struct Slot;

static BUSY: Mutex<usize> = Mutex::new(0);
static PODMAN: Mutex<()> = Mutex::new(());
static FREED: Condvar = Condvar::new();

impl Slot {
    fn take() -> Slot {
        let jobs = std::env::var("BUILDLENS_GEN_JOBS").ok().and_then(|j| j.parse().ok()).unwrap_or(3usize).max(1);
        let mut busy = BUSY.lock().unwrap_or_else(|e| e.into_inner());
        while *busy >= jobs {
            busy = FREED.wait(busy).unwrap_or_else(|e| e.into_inner());
        }
        *busy += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *BUSY.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        FREED.notify_one();
    }
}

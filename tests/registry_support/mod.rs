//! What the registry tests share: the registries `scripts/registry.sh start` runs (addresses from its
//! `BUILDLENS_REGISTRY_*` variables), stores with generated records, the CLI.
//!
//! The tests are `#[ignore = "needs the registries started by scripts/test.sh"]`: `scripts/test.sh` runs
//! them with `--include-ignored` and `BUILDLENS_REGISTRY_TESTS=1`. Once run, a test never passes without
//! its registry: a missing variable is a failure that says how to start them.

#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use buildlens::store::{Record, RecordMeta, Source, Store};

pub const IGNORE: &str = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)";

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: run the registry tests with scripts/test.sh, or start the registries with \
             `eval \"$(scripts/registry.sh start)\"` first"
        ),
    }
}

/// The plain-http, anonymous registry (`127.0.0.1:PORT`).
pub fn plain() -> String {
    var("BUILDLENS_REGISTRY_PLAIN")
}

/// The TLS + htpasswd registry (`127.0.0.1:PORT`), its CA file, user and password.
pub fn tls() -> (String, PathBuf, String, String) {
    (var("BUILDLENS_REGISTRY_TLS"), var("BUILDLENS_REGISTRY_CA").into(), var("BUILDLENS_REGISTRY_USER"), var("BUILDLENS_REGISTRY_PASSWORD"))
}

/// A repository name no other test (or run) uses.
pub fn unique_repo(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("t{}-{nanos}/{name}", std::process::id())
}

/// A Docker config folder whose `auths` has `user:password` for `registry`.
pub fn docker_config(dir: &Path, registry: &str, user: &str, password: &str) -> PathBuf {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let folder = dir.join("docker-config");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("config.json"), format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#)).unwrap();
    folder
}

/// A BuildKit plain log of one build, with bytes that must survive byte-exact (CR, NUL, invalid UTF-8).
pub fn log_bytes(seed: u64, extra: usize) -> Vec<u8> {
    let mut log = format!(
        "#1 [internal] load build definition from Dockerfile\r\n#1 DONE 0.0s\n\n#2 [1/2] FROM docker.io/library/alpine:3.20\n#2 DONE 0.1s\n\n\
         #3 [2/2] RUN echo build {seed}\n#3 0.2 build {seed}\n#3 DONE 0.{}s\n",
        seed % 10
    )
    .into_bytes();
    log.extend_from_slice(b"#3 0.3 \xff\xfe\x00 raw bytes \x1b[31m\n");
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    log.extend((0..extra).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    }));
    log
}

/// A store at `<dir>/ws/.buildlens` (a workspace with `.git`) and its workspace.
pub fn workspace(dir: &Path) -> (PathBuf, Store) {
    let ws = dir.join("ws");
    std::fs::create_dir_all(ws.join(".git")).unwrap();
    std::fs::write(ws.join("Dockerfile"), "FROM alpine:3.20\nRUN echo build\n").unwrap();
    let store = Store::at(ws.join(".buildlens"));
    (ws, store)
}

/// Adds a finished record of `dockerfile` (workspace-relative) started `seconds` after a fixed time.
pub fn add_record(store: &Store, dockerfile: &str, seconds: i64, log: &[u8]) -> Record {
    let started = chrono::DateTime::from_timestamp(1_765_000_000 + seconds, 0).unwrap();
    let record = store.create_record(started).unwrap();
    std::fs::write(record.log_path(), log).unwrap();
    let mut meta = RecordMeta::new(record.id.clone(), Source::Record, started.to_rfc3339());
    meta.finished = Some(started.to_rfc3339());
    meta.exit_code = Some(0);
    meta.dockerfile = Some(dockerfile.into());
    meta.command = vec!["docker".into(), "build".into(), ".".into()];
    record.write_meta(&meta).unwrap();
    record
}

/// `buildlens ARGS` in `cwd` with `env`; DOCKER_CONFIG points nowhere unless `env` sets it.
pub fn buildlens(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buildlens"));
    cmd.current_dir(cwd).args(args).env("DOCKER_CONFIG", cwd.join("no-docker-config")).env_remove("BUILDLENS_REMOTE");
    cmd.env_remove("BUILDLENS_STORE").env_remove("CI").env_remove("GITHUB_ACTIONS").env_remove("GITLAB_CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Library options for a test: no Docker config of the machine's, short timeouts.
pub fn options(docker_config: Option<PathBuf>) -> buildlens::remote::Options {
    buildlens::remote::Options {
        docker_config: Some(docker_config.unwrap_or_else(|| PathBuf::from("/nonexistent-buildlens-docker-config"))),
        read_timeout: std::time::Duration::from_secs(20),
        ..buildlens::remote::Options::default()
    }
}

/// The pulled records of a store (`remote/`).
pub fn pulled(store: &Store) -> Vec<Record> {
    store.records().into_iter().filter(|r| buildlens::store::remote::parse_id(&r.id).is_some()).collect()
}

/// Every path under `dir` (files and folders), relative.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            if e.file_type().unwrap().is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

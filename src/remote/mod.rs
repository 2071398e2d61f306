//! Records shared through an OCI registry (issue 17): `push` turns a store record into one OCI artifact
//! under a tag that names its Dockerfile and time, `pull` lists a Dockerfile's newest tags (one request)
//! and fetches the records it lacks into the store's read-only `remote/` area (`store::remote`).
//!
//! - `target.rs`: `REGISTRY/REPO` as typed, which scheme (https; http only for loopback or `--insecure`)
//! - `artifact.rs` (pure): the manifest, its layers and annotations, the tag scheme, and the checks of
//!   everything a registry sends back (sizes, media types, paths, ids) before a byte is downloaded
//! - `auth.rs`: credentials as Docker reads them (`config.json` `auths`, `credsStore`, `credHelpers`)
//! - `client.rs`: the `oci-client` wrapper: timeouts, TLS roots, one clear `RemoteError` per failure
//! - `push.rs`, `pull.rs`: the two operations; `sink.rs`: a blob written under its claimed size
//!
//! The registry is untrusted: nothing it sends becomes a path, and a record is written into the store
//! only whole (temporary folder, then rename).

pub mod artifact;
pub mod auth;
pub mod client;
pub mod pull;
pub mod push;
mod sink;
pub mod target;

use std::time::Duration;

pub use client::RemoteError;
pub use pull::{pull, PullOptions, PullReport};
pub use push::{push, PushOutcome};
pub use target::Target;

/// Environment variable naming the default `REGISTRY/REPO` for `push` and `pull`.
pub const REMOTE_ENV: &str = "BUILDLENS_REMOTE";

/// How to reach a registry: credentials, extra TLS roots, timeouts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Docker client config folder (`$DOCKER_CONFIG`, else `~/.docker`).
    pub docker_config: Option<std::path::PathBuf>,
    /// A PEM file of extra CA certificates (`--ca-cert`, `$BUILDLENS_REMOTE_CA`).
    pub ca_cert: Option<std::path::PathBuf>,
    /// Plain http for the registry named (`--insecure`); loopback registries without a scheme get it anyway.
    pub insecure: bool,
    /// Connecting (TCP and TLS).
    pub connect_timeout: Duration,
    /// Waiting for any read of an answer (a registry that accepts and never answers).
    pub read_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            docker_config: None,
            ca_cert: None,
            insecure: false,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
        }
    }
}

impl Options {
    /// Defaults with what the environment says: `$DOCKER_CONFIG`, `$BUILDLENS_REMOTE_CA`,
    /// `$BUILDLENS_REMOTE_TIMEOUT` (seconds, for reads).
    pub fn from_env() -> Options {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let mut options = Options {
            docker_config: var("DOCKER_CONFIG").map(Into::into),
            ca_cert: var("BUILDLENS_REMOTE_CA").map(Into::into),
            ..Options::default()
        };
        if let Some(secs) = var("BUILDLENS_REMOTE_TIMEOUT").and_then(|v| v.to_str()?.parse::<u64>().ok()).filter(|s| *s > 0) {
            options.read_timeout = Duration::from_secs(secs);
            options.connect_timeout = options.connect_timeout.min(options.read_timeout);
        }
        options
    }
}

/// A Dockerfile as the registry names it: relative to the workspace (repository) root, the store's
/// parent, `/`-separated (as `push` names it).
pub fn repo_relative(store: &crate::store::Store, dockerfile: &std::path::Path) -> String {
    let root = store.root().parent().unwrap_or(store.root());
    let canonical = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let relative =
        canonical(dockerfile).strip_prefix(canonical(root)).map(std::path::Path::to_path_buf).unwrap_or_else(|_| dockerfile.to_path_buf());
    relative.to_string_lossy().trim_start_matches("./").replace('\\', "/")
}

/// A runtime for the blocking entry points (`push`, `pull`): one thread, the caller's.
fn runtime() -> Result<tokio::runtime::Runtime, RemoteError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RemoteError::Local(format!("cannot start the network runtime: {e}")))
}

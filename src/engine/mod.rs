//! The Docker engine adapter: the only module that knows bollard. It asks an engine for an image's
//! history and hands back our own [`ImageHistory`]; the mapping onto the Dockerfile is pure
//! (`analysis::layers`).
//!
//! Every query is bounded (connect and each request, [`Config::timeout`]) and fails with a small
//! [`EngineError`] the caller branches on to degrade quietly: no daemon, a refused connection, a slow
//! daemon, an image that is gone or an engine with an older API mean "no sizes", never an error for the
//! user's command. The API version is always negotiated first: bollard 0.21's default version is newer
//! than what a 20.10 engine (API 1.41) accepts once bollard sends it (../shared/docs/dependencies.md).

pub mod cache;
pub mod images;

use std::time::Duration;

use bollard::Docker;

use crate::analysis::layers::{ImageHistory, Layer, IMAGE_SCHEMA};

pub use cache::Cache;

/// Where and how long to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `unix:///path/docker.sock` or `tcp://host:port` (the `buildlens.docker.host` setting); `None`:
    /// `$DOCKER_HOST`, else the default socket.
    pub host: Option<String>,
    /// Bound for connecting and for each request.
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config { host: None, timeout: Duration::from_secs(2) }
    }
}

impl Config {
    /// The host to use: the setting, else `$DOCKER_HOST`, else the default socket.
    pub fn resolved_host(&self) -> String {
        self.host
            .clone()
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
    }
}

/// Why the engine gave no answer. Callers show no sizes and log one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// No daemon, a refused connection, an unsupported host scheme (TLS, ssh), an API too old to negotiate.
    #[error("the Docker engine is not available ({0})")]
    Unavailable(String),
    /// The engine answered, but has no such image (removed since the build).
    #[error("the Docker engine has no image {0}")]
    NotFound(String),
    #[error("the Docker engine did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the Docker engine failed: {0}")]
    Other(String),
}

/// Asks the engine for the history of `image` (an id or a tag).
pub async fn history(config: &Config, image: &str) -> Result<ImageHistory, EngineError> {
    let docker = bounded(config.timeout, connect(config)).await?;
    let inspect = bounded(config.timeout, async { docker.inspect_image(image).await.map_err(|e| classify(e, image)) }).await?;
    let rows = bounded(config.timeout, async { docker.image_history(image).await.map_err(|e| classify(e, image)) }).await?;
    Ok(ImageHistory {
        schema: IMAGE_SCHEMA,
        image: image.to_string(),
        id: inspect.id,
        taken: chrono::Utc::now().to_rfc3339(),
        layers: rows.into_iter().map(layer_of).collect(),
    })
}

/// [`history`] for callers outside a runtime (the CLI): a current-thread runtime for this one query.
pub fn history_blocking(config: &Config, image: &str) -> Result<ImageHistory, EngineError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::Other(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(history(config, image))
}

/// Connects to the configured host and negotiates the API version (the engine's, when older than ours).
/// `unix://` sockets and plain-HTTP `tcp://`/`http://` hosts; TLS (`https://`, `DOCKER_TLS_VERIFY`) and
/// `ssh://` hosts are not supported (they would need bollard's `ssl`/`ssh` features and their crates).
async fn connect(config: &Config) -> Result<Docker, EngineError> {
    let host = config.resolved_host();
    let secs = config.timeout.as_secs().max(1);
    let docker = if let Some(socket) = host.strip_prefix("unix://") {
        Docker::connect_with_unix(socket, secs, bollard::API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(&host, secs, bollard::API_DEFAULT_VERSION)
    } else {
        return Err(EngineError::Unavailable(format!("{host}: only unix:// and tcp:// (plain HTTP) hosts are supported")));
    };
    let docker = docker.map_err(|e| EngineError::Unavailable(format!("{host}: {e}")))?.with_timeout(config.timeout);
    docker.negotiate_version().await.map_err(|e| match classify(e, "") {
        EngineError::Other(msg) | EngineError::NotFound(msg) => EngineError::Unavailable(format!("{host}: {msg}")),
        other => other,
    })
}

/// Runs `fut` for at most `limit` (bollard's own timeout is in whole seconds and covers requests only).
async fn bounded<T>(limit: Duration, fut: impl std::future::Future<Output = Result<T, EngineError>>) -> Result<T, EngineError> {
    tokio::time::timeout(limit, fut).await.unwrap_or(Err(EngineError::Timeout(limit)))
}

/// Sorts bollard's errors into what callers branch on.
fn classify(e: bollard::errors::Error, image: &str) -> EngineError {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError { status_code: 404, .. } => EngineError::NotFound(image.to_string()),
        E::RequestTimeoutError => EngineError::Timeout(Duration::ZERO),
        E::SocketNotFoundError(path) => EngineError::Unavailable(format!("no socket at {path}")),
        E::IOError { err } => EngineError::Unavailable(err.to_string()),
        E::HyperLegacyError { err } if err.is_connect() => EngineError::Unavailable(err.to_string()),
        E::DockerResponseServerError { status_code: 400, message } => EngineError::Unavailable(message),
        other => EngineError::Other(other.to_string()),
    }
}

/// bollard's row in our terms: `<missing>` ids become `None`, negative sizes 0.
fn layer_of(row: bollard::models::ImageHistoryResponseItem) -> Layer {
    Layer {
        id: Some(row.id).filter(|id| !id.is_empty() && id != "<missing>"),
        created: Some(row.created).filter(|&t| t > 0),
        created_by: row.created_by,
        size: u64::try_from(row.size).unwrap_or(0),
        comment: row.comment,
        tags: row.tags,
    }
}

/// The image a build made, best first: the id from the log (`writing image sha256:…`, `Successfully
/// built <id>`: it cannot have moved since), then the record's `-t` tags, then the tags the log names.
pub fn image_of(build: &crate::log::Build, record_tags: &[String]) -> Option<String> {
    let logged = build.image.as_ref();
    logged
        .and_then(|i| i.id.clone())
        .or_else(|| record_tags.first().cloned())
        .or_else(|| logged.and_then(|i| i.tags.first().cloned()))
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;

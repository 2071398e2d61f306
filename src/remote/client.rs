//! The registry connection on `oci-client` (rustls on ring): bounded connect and read timeouts, each call
//! under a deadline too, extra CA roots, Docker's credentials; every failure becomes one `RemoteError`
//! whose message says what happened and what to do (never a token: credentials are not in any message).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::{Client, Reference, RegistryOperation};

use super::{auth, Options, Target};

/// Why a push or pull failed: one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{registry} refused the credentials for {target}: run `docker login {registry}` (buildlens reads $DOCKER_CONFIG/config.json, else ~/.docker/config.json) or check this user's rights on the repository")]
    Unauthorized { registry: String, target: String },
    #[error("repository {target} does not exist (or this user cannot see it): check the name, or push a record there first (`buildlens push --to {target}`)")]
    NotFound { target: String },
    #[error("{registry} failed with HTTP {code} ({what}): the registry itself has a problem; try again later or tell its operator")]
    Server { registry: String, code: u16, what: String },
    #[error("{registry} did not answer within {secs} s ({what}): the registry is slow or stuck; try again later, or allow more with BUILDLENS_REMOTE_TIMEOUT=<seconds>")]
    Timeout { registry: String, secs: u64, what: String },
    #[error("cannot connect to {registry}: {why}: is the registry running, and is the address right?")]
    Connect { registry: String, why: String },
    #[error("TLS with {registry} failed ({why}): give its CA with --ca-cert FILE (or BUILDLENS_REMOTE_CA), or name a loopback registry with http://")]
    Tls { registry: String, why: String },
    #[error("the connection to {registry} broke ({what}): the registry went away in the middle; try again")]
    Broken { registry: String, what: String },
    #[error("credentials for {registry}: {why}")]
    Credentials { registry: String, why: String },
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Local(String),
    #[error("{registry}: {what}: {why}")]
    Protocol { registry: String, what: String, why: String },
}

/// One registry repository, authenticated.
pub struct Connection {
    client: Client,
    pub target: Target,
    auth: oci_client::secrets::RegistryAuth,
    deadline: Duration,
    read_timeout: Duration,
    /// Registry requests made through this connection (not counting the auth handshake).
    requests: AtomicUsize,
}

impl Connection {
    /// Connects (one `GET /v2/` to learn the auth scheme) for pulling, or pushing when `push`.
    pub async fn open(target: &Target, options: &Options, push: bool) -> Result<Connection, RemoteError> {
        // ring, not aws-lc-rs (cmake, twice the compile time); deprecated in 0.23.48 only for lacking
        // post-quantum key exchange, which no registry requires.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = ClientConfig {
            protocol: if target.plain_http { ClientProtocol::Http } else { ClientProtocol::Https },
            connect_timeout: Some(options.connect_timeout),
            read_timeout: Some(options.read_timeout),
            platform_resolver: None,
            ..ClientConfig::default()
        };
        config.user_agent = concat!("buildlens/", env!("CARGO_PKG_VERSION"));
        for path in ca_files(target, options) {
            let data = std::fs::read(&path).map_err(|e| RemoteError::Local(format!("cannot read CA file {}: {e}", path.display())))?;
            config.extra_root_certificates.push(Certificate { encoding: CertificateEncoding::Pem, data });
        }
        let client = Client::try_from(config).map_err(|e| RemoteError::Local(format!("cannot set up the registry client: {e}")))?;
        let creds = auth::credentials(options.docker_config.as_deref(), &target.registry)
            .map_err(|why| RemoteError::Credentials { registry: target.registry.clone(), why })?;
        let connection = Connection {
            client,
            target: target.clone(),
            auth: creds.to_oci(),
            deadline: options.read_timeout + options.connect_timeout,
            read_timeout: options.read_timeout,
            requests: AtomicUsize::new(0),
        };
        let op = if push { RegistryOperation::Push } else { RegistryOperation::Pull };
        let reference = connection.reference("latest");
        connection.bounded("connecting", connection.client.auth(&reference, &connection.auth, op)).await?;
        Ok(connection)
    }

    /// Requests made so far (tags, manifests, blobs).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn reference(&self, tag: &str) -> Reference {
        Reference::with_tag(self.target.registry.clone(), self.target.repository.clone(), tag.to_string())
    }

    fn digest_reference(&self, digest: &str) -> Reference {
        Reference::with_digest(self.target.registry.clone(), self.target.repository.clone(), digest.to_string())
    }

    /// Tags in lexical order after `last`, at most `n` (the registry may ignore either).
    pub async fn list_tags(&self, n: Option<usize>, last: Option<&str>) -> Result<Vec<String>, RemoteError> {
        let reference = self.reference("latest");
        let list = self.bounded("listing tags", self.client.list_tags(&reference, &self.auth, n, last)).await?;
        Ok(list.tags)
    }

    /// Whether the tag names a manifest.
    pub async fn tag_exists(&self, tag: &str) -> Result<bool, RemoteError> {
        match self.bounded("looking up a tag", self.client.fetch_manifest_digest(&self.reference(tag), &self.auth)).await {
            Ok(_) => Ok(true),
            Err(RemoteError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The manifest under `tag`, raw.
    pub async fn pull_manifest(&self, tag: &str) -> Result<Vec<u8>, RemoteError> {
        let types = [super::artifact::MANIFEST_MEDIA_TYPE];
        let reference = self.reference(tag);
        let pulled = self.client.pull_manifest_raw(&reference, &self.auth, &types);
        let (bytes, _digest) = self.bounded("reading a manifest", pulled).await?;
        Ok(bytes.to_vec())
    }

    pub async fn blob_exists(&self, digest: &str) -> Result<bool, RemoteError> {
        self.bounded("looking up a blob", self.client.blob_exists(&self.reference("latest"), digest)).await
    }

    /// Uploads a blob (bounded by the read timeout between answers, not by a total: a big log takes time).
    pub async fn push_blob(&self, bytes: Vec<u8>, digest: &str) -> Result<(), RemoteError> {
        self.count();
        let pushed = self.client.push_blob(&self.reference("latest"), bytes, digest).await;
        pushed.map(|_| ()).map_err(|e| self.error(e, "uploading a blob"))
    }

    pub async fn push_manifest(&self, tag: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
        let content_type = http_value(super::artifact::MANIFEST_MEDIA_TYPE);
        let reference = self.reference(tag);
        let pushed = self.client.push_manifest_raw(&reference, bytes, content_type);
        self.bounded("writing a manifest", pushed).await.map(|_| ())
    }

    /// Downloads a blob into `out` (its digest checked by the client; its size by `out`).
    pub async fn pull_blob(&self, descriptor: &super::artifact::Descriptor, out: impl tokio::io::AsyncWrite) -> Result<(), RemoteError> {
        self.count();
        let layer = oci_client::manifest::OciDescriptor {
            media_type: descriptor.media_type.clone(),
            digest: descriptor.digest.clone(),
            size: i64::try_from(descriptor.size).unwrap_or(i64::MAX),
            ..Default::default()
        };
        let pulled = self.client.pull_blob(&self.digest_reference(&descriptor.digest), &layer, out).await;
        pulled.map_err(|e| match e {
            // What the registry sent is not what the manifest claims: the artifact is refused.
            OciDistributionError::DigestError(e) => RemoteError::Refused(clip(&e.to_string())),
            OciDistributionError::IoError(e) if e.kind() == std::io::ErrorKind::InvalidData => RemoteError::Refused(clip(&e.to_string())),
            e => self.error(e, "downloading a blob"),
        })
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// One call under the connection's deadline, its error mapped.
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = Result<T, OciDistributionError>>,
    ) -> Result<T, RemoteError> {
        self.count();
        match tokio::time::timeout(self.deadline, call).await {
            Ok(result) => result.map_err(|e| self.error(e, what)),
            Err(_) => Err(self.timeout(what)),
        }
    }

    fn timeout(&self, what: &str) -> RemoteError {
        RemoteError::Timeout { registry: self.target.registry.clone(), secs: self.read_timeout.as_secs(), what: what.to_string() }
    }

    /// The one message for a client error.
    fn error(&self, e: OciDistributionError, what: &str) -> RemoteError {
        let registry = self.target.registry.clone();
        let target = self.target.to_string();
        let status = |code: u16| match code {
            401 | 403 => RemoteError::Unauthorized { registry: registry.clone(), target: target.clone() },
            404 => RemoteError::NotFound { target: target.clone() },
            code => RemoteError::Server { registry: registry.clone(), code, what: what.to_string() },
        };
        match e {
            OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => status(401),
            OciDistributionError::ServerError { code, .. } => status(code),
            OciDistributionError::ImageManifestNotFoundError(_) => status(404),
            OciDistributionError::RegistryError { envelope, .. } => {
                let code = envelope.errors.first().map(|e| &e.code);
                match code {
                    Some(OciErrorCode::Unauthorized | OciErrorCode::Denied) => status(401),
                    Some(
                        OciErrorCode::NameUnknown | OciErrorCode::ManifestUnknown | OciErrorCode::NotFound | OciErrorCode::BlobUnknown,
                    ) => status(404),
                    _ => RemoteError::Protocol { registry, what: what.to_string(), why: clip(&envelope.to_string()) },
                }
            }
            OciDistributionError::RequestError(e) => self.request_error(&e, what),
            other => RemoteError::Protocol { registry, what: what.to_string(), why: clip(&other.to_string()) },
        }
    }

    fn request_error(&self, e: &reqwest::Error, what: &str) -> RemoteError {
        let registry = self.target.registry.clone();
        if e.is_timeout() {
            return self.timeout(what);
        }
        let chain = error_chain(e);
        let refused = chain_has_io(e, std::io::ErrorKind::ConnectionRefused);
        let lower = chain.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") || lower.contains("invalid http version") {
            return RemoteError::Tls { registry, why: clip(&chain) };
        }
        if refused {
            return RemoteError::Connect { registry, why: "connection refused".to_string() };
        }
        if e.is_connect() {
            return RemoteError::Connect { registry, why: clip(&chain) };
        }
        if e.is_body() || e.is_decode() || e.is_request() {
            return RemoteError::Broken { registry, what: what.to_string() };
        }
        RemoteError::Protocol { registry, what: what.to_string(), why: clip(&chain) }
    }
}

/// Extra CA files: `--ca-cert`, and Docker's `/etc/docker/certs.d/<registry>/ca.crt` where there is one.
fn ca_files(target: &Target, options: &Options) -> Vec<std::path::PathBuf> {
    let docker = std::path::Path::new("/etc/docker/certs.d").join(&target.registry).join("ca.crt");
    options.ca_cert.iter().cloned().chain(docker.is_file().then_some(docker)).collect()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn chain_has_io(e: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == kind) {
            return true;
        }
        source = s.source();
    }
    false
}

fn http_value(text: &'static str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_static(text)
}

/// Registry text in a message: one line, at most 200 characters.
fn clip(text: &str) -> String {
    crate::present::inline(&text.chars().take(200).collect::<String>()).into_owned()
}

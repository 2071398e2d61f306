//! Registry credentials as the Docker CLI keeps them: `$DOCKER_CONFIG/config.json` (else
//! `~/.docker/config.json`): `credHelpers[registry]`, else `credsStore`, runs
//! `docker-credential-<name> get` (the only program buildlens runs here, named by the user's own config,
//! its name letters, digits, `.`, `-`, `_` only, bounded by a timeout), else `auths[registry].auth`
//! (base64 `user:password`); anonymous when none has the registry. A secret never reaches a message:
//! `Credentials` prints as `user:***`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

/// How long a credential helper may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest config.json or helper answer read.
const CAP: u64 = 1 << 20;

/// What to authenticate with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic { user: String, password: String },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => write!(f, "anonymous"),
            Credentials::Basic { user, .. } => write!(f, "{user}:***"),
        }
    }
}

impl Credentials {
    pub(crate) fn to_oci(&self) -> oci_client::secrets::RegistryAuth {
        match self {
            Credentials::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
            Credentials::Basic { user, password } => oci_client::secrets::RegistryAuth::Basic(user.clone(), password.clone()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The Docker config folder: `config_dir`, else `~/.docker`.
pub fn config_dir(config_dir: Option<&Path>) -> Option<PathBuf> {
    config_dir.map(Path::to_path_buf).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
}

/// The credentials for `registry` (`host[:port]`); `Err` says why the ones configured cannot be used.
pub fn credentials(config_dir: Option<&Path>, registry: &str) -> Result<Credentials, String> {
    let Some(path) = self::config_dir(config_dir).map(|d| d.join("config.json")) else { return Ok(Credentials::Anonymous) };
    let config: DockerConfig = match crate::store::safe_fs::read_capped(&path, CAP) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a Docker config: {e}", path.display()))?,
        Err(e) if e.is_not_found() => return Ok(Credentials::Anonymous),
        Err(e) => return Err(e.to_string()),
    };
    let helper = config.cred_helpers.iter().find(|(k, _)| same_registry(k, registry)).map(|(_, v)| v).or(config.creds_store.as_ref());
    if let Some(helper) = helper.filter(|h| !h.is_empty()) {
        if let Some(found) = from_helper(helper, registry)? {
            return Ok(found);
        }
    }
    let entry = config.auths.iter().find(|(k, _)| same_registry(k, registry)).map(|(_, v)| v);
    Ok(entry.and_then(from_entry).unwrap_or(Credentials::Anonymous))
}

fn from_entry(entry: &AuthEntry) -> Option<Credentials> {
    if let (Some(user), Some(password)) = (&entry.username, &entry.password) {
        return Some(Credentials::Basic { user: user.clone(), password: password.clone() });
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(entry.auth.as_deref()?.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(Credentials::Basic { user: user.to_string(), password: password.to_string() })
}

/// `auths`/`credHelpers` keys name a registry as `host`, `https://host`, `https://host/v1/`.
fn same_registry(key: &str, registry: &str) -> bool {
    let host = |s: &str| {
        let s = s.split_once("://").map_or(s, |(_, rest)| rest);
        s.split('/').next().unwrap_or_default().to_ascii_lowercase()
    };
    let hub = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    let (a, b) = (host(key), host(registry));
    a == b || (hub.contains(&a.as_str()) && hub.contains(&b.as_str()))
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<helper> get` with the registry on stdin; `None` when it has no credentials.
fn from_helper(helper: &str, registry: &str) -> Result<Option<Credentials>, String> {
    if !helper.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) || helper.starts_with('.') {
        return Err(format!("credential helper name `{}` in the Docker config is not a plain name", crate::present::inline(helper)));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {program} (named by the Docker config's credsStore/credHelpers): {e}"))?;
    let server = if same_registry("docker.io", registry) { "https://index.docker.io/v1/".to_string() } else { registry.to_string() };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(CAP).read_to_end(&mut out);
        let _ = tx.send(out);
    });
    let Ok(out) = rx.recv_timeout(HELPER_TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{program} get did not answer within {} s", HELPER_TIMEOUT.as_secs()));
    };
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Ok(None); // "credentials not found": the helper knows nothing of this registry
    }
    let answer: HelperAnswer = serde_json::from_slice(&out).map_err(|_| format!("{program} get did not answer with credentials"))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials::Basic { user: answer.username, password: answer.secret }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, json: &str) {
        std::fs::write(dir.join("config.json"), json).unwrap();
    }

    #[test]
    fn auths_are_decoded_and_matched_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret-token");
        config(dir.path(), &format!(r#"{{"auths":{{"https://registry.example.com/v1/":{{"auth":"{auth}"}}}}}}"#));
        let found = credentials(Some(dir.path()), "registry.example.com").unwrap();
        assert_eq!(found, Credentials::Basic { user: "ci".into(), password: "s3cret-token".into() });
        assert_eq!(format!("{found:?}"), "ci:***", "the secret never prints");
        assert_eq!(credentials(Some(dir.path()), "other.example.com").unwrap(), Credentials::Anonymous);
    }

    #[test]
    fn no_config_is_anonymous_and_a_bad_one_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(credentials(Some(dir.path()), "r.example").unwrap(), Credentials::Anonymous);
        config(dir.path(), r#"{"auths": 5}"#);
        assert!(credentials(Some(dir.path()), "r.example").unwrap_err().contains("not a Docker config"));
    }

    #[test]
    fn a_helper_name_with_a_path_is_never_run() {
        let dir = tempfile::tempdir().unwrap();
        config(dir.path(), r#"{"credHelpers":{"r.example":"../../bin/sh"}}"#);
        assert!(credentials(Some(dir.path()), "r.example").unwrap_err().contains("not a plain name"));
    }

    #[test]
    fn a_missing_helper_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        config(dir.path(), r#"{"credsStore":"buildlens-test-no-such-helper"}"#);
        let err = credentials(Some(dir.path()), "r.example").unwrap_err();
        assert!(err.contains("docker-credential-buildlens-test-no-such-helper"), "{err}");
    }
}

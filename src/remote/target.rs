//! `REGISTRY/REPO` as the user typed it (`ghcr.io/team/app`, `127.0.0.1:5000/builds`,
//! `https://127.0.0.1:5443/builds`): the registry, the repository, and whether plain http is allowed.
//!
//! Plain http only for a registry named with `http://` or `--insecure`, and only when it is loopback
//! or `--insecure` was given; a loopback registry named without a scheme is http (as Docker treats
//! `localhost`), `https://` forces TLS.

use std::fmt;

/// Where records go and come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]`, as the registry is addressed.
    pub registry: String,
    /// The repository path (`team/app/buildlens`).
    pub repository: String,
    /// Plain http instead of TLS.
    pub plain_http: bool,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

impl Target {
    /// Parses `[http://|https://]REGISTRY/REPO`. `insecure`: `--insecure` for this registry.
    pub fn parse(text: &str, insecure: bool) -> Result<Target, String> {
        let text = text.trim();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, text),
        };
        let rest = rest.trim_end_matches('/');
        let Some((registry, repository)) = rest.split_once('/') else {
            return Err(format!("`{text}` is not REGISTRY/REPO (e.g. ghcr.io/team/app-builds or 127.0.0.1:5000/builds)"));
        };
        check_registry(registry).map_err(|why| format!("registry `{registry}`: {why}"))?;
        check_repository(repository).map_err(|why| format!("repository `{repository}`: {why}"))?;
        let loopback = is_loopback(registry);
        let plain_http = match scheme.as_deref() {
            Some("https") => false,
            Some("http") if loopback || insecure => true,
            Some("http") => {
                return Err(format!("plain http to `{registry}` is refused: it is not a loopback address; add --insecure to allow it"))
            }
            Some(other) => return Err(format!("unknown scheme `{other}://` (use https://, or http:// with --insecure)")),
            None => loopback || insecure,
        };
        Ok(Target { registry: registry.to_ascii_lowercase(), repository: repository.to_string(), plain_http })
    }

    /// The store folder name of this target's records (`remote/<key>/`): letters, digits, `.`, `-`, `_`.
    pub fn key(&self) -> String {
        let raw = format!("{}_{}", self.registry, self.repository);
        let mut key: String =
            raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c.to_ascii_lowercase() } else { '_' }).collect();
        if key.len() > 80 {
            let digest = super::artifact::sha256_hex(raw.as_bytes());
            key.truncate(60);
            key.push('_');
            key.push_str(digest.get(..16).unwrap_or_default());
        }
        key.trim_start_matches('.').to_string()
    }
}

/// `127.0.0.1`, `localhost`, `[::1]`, with or without a port.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => registry.rsplit_once(':').map_or(registry, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_registry(registry: &str) -> Result<(), &'static str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
    if registry.is_empty() || registry.len() > 253 || !registry.chars().all(ok) {
        return Err("not a host[:port]");
    }
    Ok(())
}

/// The distribution spec's repository name: lowercase components of `[a-z0-9]` joined by `.`, `_`, `__`,
/// `-`, separated by `/`.
fn check_repository(repository: &str) -> Result<(), &'static str> {
    if repository.is_empty() || repository.len() > 255 {
        return Err("empty or too long");
    }
    for part in repository.split('/') {
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        let edges = part.starts_with(|c: char| c.is_ascii_alphanumeric()) && part.ends_with(|c: char| c.is_ascii_alphanumeric());
        if part.is_empty() || !part.chars().all(ok) || !edges {
            return Err("use lowercase letters, digits and . _ - between slashes");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_plain_http_unless_https_is_named() {
        let t = Target::parse("127.0.0.1:5000/builds", false).unwrap();
        assert!(t.plain_http);
        assert_eq!(t.registry, "127.0.0.1:5000");
        assert!(!Target::parse("https://127.0.0.1:5000/builds", false).unwrap().plain_http);
        assert!(Target::parse("localhost:5000/a/b", false).unwrap().plain_http);
        assert!(!Target::parse("ghcr.io/team/app", false).unwrap().plain_http);
        assert!(Target::parse("ghcr.io/team/app", true).unwrap().plain_http);
    }

    #[test]
    fn plain_http_to_a_remote_host_needs_insecure() {
        let err = Target::parse("http://registry.example.com/app", false).unwrap_err();
        assert!(err.contains("--insecure"), "{err}");
        assert!(Target::parse("http://registry.example.com/app", true).unwrap().plain_http);
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["ghcr.io", "ghcr.io/Team", "ghcr.io/../x", "ghcr.io/a//b", "gh cr.io/a", "ftp://x/a", "x/a/"] {
            if bad == "x/a/" {
                continue; // a trailing slash is trimmed
            }
            assert!(Target::parse(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_is_a_safe_folder_name() {
        let key = Target::parse("127.0.0.1:5000/team/app", false).unwrap().key();
        assert_eq!(key, "127.0.0.1_5000_team_app");
        let long = Target::parse(&format!("ghcr.io/{}", "a".repeat(200)), false).unwrap().key();
        assert!(long.len() <= 80 && long.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
    }
}

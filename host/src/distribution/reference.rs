//! Where a policy module comes from: a path, an `https://` URL pinned by
//! its sha256, or an OCI registry reference.

use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PolicyRef {
    File(PathBuf),
    /// `https://host/policy.wasm#sha256=<hex>`: the digest travels in the
    /// fragment (never sent to the server), as pip's hash-pinned URLs do.
    Https {
        url: String,
        sha256: String,
    },
    Oci(OciRef),
}

/// `oci://registry[:port]/repository[:tag|@sha256:<hex>]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OciRef {
    pub registry: String,
    pub repository: String,
    /// A tag, or a manifest digest (`sha256:<hex>`).
    pub reference: String,
}

impl OciRef {
    pub fn is_digest(&self) -> bool {
        self.reference.starts_with("sha256:")
    }

    /// Registries on this machine are spoken to over plain HTTP (a test or
    /// development registry); all others over HTTPS.
    pub fn base_url(&self) -> String {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, _)| h);
        let scheme = if matches!(host, "localhost" | "127.0.0.1" | "[::1]") { "http" } else { "https" };
        format!("{scheme}://{}/v2/{}", self.registry, self.repository)
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = if self.is_digest() { '@' } else { ':' };
        write!(f, "oci://{}/{}{separator}{}", self.registry, self.repository, self.reference)
    }
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyRef::File(path) => write!(f, "{}", path.display()),
            PolicyRef::Https { url, sha256 } => write!(f, "{url}#sha256={sha256}"),
            PolicyRef::Oci(oci) => write!(f, "{oci}"),
        }
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

impl std::str::FromStr for PolicyRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("oci://") {
            return parse_oci(rest).map(PolicyRef::Oci).map_err(|problem| format!("{text}: {problem}"));
        }
        if text.starts_with("http://") {
            return Err(format!("{text}: policies are downloaded over https:// only"));
        }
        if text.starts_with("https://") {
            let (url, fragment) = text.split_once('#').unwrap_or((text, ""));
            let sha256 = fragment.strip_prefix("sha256=").unwrap_or_default().to_ascii_lowercase();
            if !is_sha256_hex(&sha256) {
                return Err(format!(
                    "{text}: an https:// policy must be pinned by its digest, as {url}#sha256=<64 hex digits>"
                ));
            }
            return Ok(PolicyRef::Https { url: url.to_string(), sha256 });
        }
        if text.contains("://") {
            return Err(format!("{text}: not a path, an https:// URL or an oci:// reference"));
        }
        Ok(PolicyRef::File(PathBuf::from(text)))
    }
}

fn parse_oci(rest: &str) -> Result<OciRef, String> {
    let (registry, path) = rest.split_once('/').ok_or("no repository after the registry")?;
    let (repository, reference) = match path.split_once('@') {
        Some((repository, digest)) => {
            let hex = digest.strip_prefix("sha256:").ok_or("a digest must be sha256:<hex>")?;
            if !is_sha256_hex(hex) {
                return Err("a digest must be sha256:<64 hex digits>".into());
            }
            (repository, digest.to_ascii_lowercase())
        }
        None => match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, tag.to_string()),
            _ => (path, "latest".to_string()),
        },
    };
    let valid_repository = !repository.is_empty()
        && repository.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
    if registry.is_empty() || !valid_repository {
        return Err("expected oci://registry/repository[:tag|@sha256:<hex>] with a lowercase repository".into());
    }
    // A host and an optional port, nothing else: the registry names where
    // requests and credentials go, so `user@host` or a path cannot hide
    // another host behind it.
    let (host, port) = registry.rsplit_once(':').map_or((registry, None), |(h, p)| (h, Some(p)));
    let ipv6 = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let host_ok = ipv6.is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'))
        || !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
            });
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if !host_ok || !port_ok {
        return Err(format!("the registry {registry:?} is not a host name with an optional port"));
    }
    Ok(OciRef { registry: registry.to_string(), repository: repository.to_string(), reference })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_is_a_host_and_a_port_only() {
        for bad in [
            "oci://registry.example:5000@evil.example/x:1",
            "oci://a_b.example/x:1",
            "oci://host:port/x:1",
            "oci://:5000/x",
        ] {
            assert!(parse(bad).unwrap_err().contains("not a host name"), "{bad}");
        }
        assert!(parse("oci://127.0.0.1:5000/policies/web:1").is_ok());
        assert!(parse("oci://[::1]:5000/policies/web:1").is_ok());
    }

    fn parse(text: &str) -> Result<PolicyRef, String> {
        text.parse()
    }

    #[test]
    fn references_of_each_kind_parse_and_print_back() {
        let digest = "a".repeat(64);
        for text in [
            "target/policy.wasm".to_string(),
            format!("https://example.com/p.wasm#sha256={digest}"),
            "oci://127.0.0.1:5000/policies/deployment:v1".to_string(),
            format!("oci://ghcr.io/acme/policy@sha256:{digest}"),
        ] {
            assert_eq!(parse(&text).unwrap().to_string(), text);
        }
        let PolicyRef::Oci(oci) = parse("oci://localhost:5000/p").unwrap() else { panic!() };
        assert_eq!(oci.reference, "latest");
        assert_eq!(oci.base_url(), "http://localhost:5000/v2/p");
        let PolicyRef::Oci(oci) = parse("oci://ghcr.io/acme/p:1").unwrap() else { panic!() };
        assert_eq!(oci.base_url(), "https://ghcr.io/v2/acme/p");
    }

    #[test]
    fn unpinned_or_unsupported_references_are_refused_with_the_fix() {
        let err = parse("https://example.com/p.wasm").unwrap_err();
        assert!(err.contains("#sha256=<64 hex digits>"), "{err}");
        assert!(parse("https://example.com/p.wasm#sha256=abc").is_err());
        assert!(parse("http://example.com/p.wasm").unwrap_err().contains("https:// only"));
        assert!(parse("ftp://x/p").unwrap_err().contains("not a path"));
        assert!(parse("oci://registry-only").unwrap_err().contains("no repository"));
        assert!(parse("oci://r/Upper:1").unwrap_err().contains("lowercase"));
        assert!(parse("oci://r/p@md5:00").unwrap_err().contains("sha256"));
    }
}

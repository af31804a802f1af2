//! What the controller's HTTP clients follow and what of an answer they
//! repeat. The servers are named by RolloutPolicies' authors, and whatever
//! a download reports reaches them (PolicyReady, decision findings).
//!
//! - A redirect is followed only to the origin (scheme, host and port) the
//!   request went to, a few times: a server cannot send the controller to
//!   another host (its own loopback, a metadata service) or from https to
//!   plain http. The operator may name more hosts a download may be sent
//!   to over https (`REWIND_REDIRECT_HOSTS`: a registry serving its blobs
//!   from a CDN); the digest still decides what is used, and reqwest drops
//!   the credentials on a redirect to another host.
//! - A refused request is told by its status code and class only; the body
//!   (which may be any page the controller can reach) goes to the
//!   operator's log at debug level, never to a tenant.

use reqwest::redirect::{Attempt, Policy};
use reqwest::{Response, Url};

/// Enough for a registry that moves a path; a longer chain is a loop.
pub const MAX_REDIRECTS: usize = 5;

/// The environment variable naming the hosts (`host` for port 443, or
/// `host:port`, comma-separated) a download may also be redirected to,
/// over https.
pub const REDIRECT_HOSTS_VARIABLE: &str = "REWIND_REDIRECT_HOSTS";

/// The hosts [`REDIRECT_HOSTS_VARIABLE`] names.
pub fn redirect_hosts_from_env() -> Vec<String> {
    let listed = std::env::var(REDIRECT_HOSTS_VARIABLE).unwrap_or_default();
    listed.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_string).collect()
}

/// Redirects within the first request's origin, or over https to one of
/// `extra_hosts`, at most [`MAX_REDIRECTS`].
pub fn same_origin_redirects(extra_hosts: Vec<String>) -> Policy {
    Policy::custom(move |attempt: Attempt| {
        let previous = attempt.previous();
        // `previous` starts with the URL first asked for.
        if previous.len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match previous.first() {
            Some(first) if redirect_allowed(first, attempt.url(), &extra_hosts) => attempt.follow(),
            _ => {
                let refused = format!("a redirect to {} is not followed", origin(attempt.url()));
                attempt.error(format!(
                    "{refused} (only to the same scheme, host and port, or over https to a host \
                     {REDIRECT_HOSTS_VARIABLE} names)"
                ))
            }
        }
    })
}

/// Whether a request first sent to `from` may be redirected to `to`.
pub fn redirect_allowed(from: &Url, to: &Url, extra_hosts: &[String]) -> bool {
    if same_origin(from, to) {
        return true;
    }
    let Some(host) = to.host_str() else { return false };
    let named = match to.port_or_known_default() {
        Some(443) => host.to_string(),
        Some(port) => format!("{host}:{port}"),
        None => return false,
    };
    to.scheme() == "https" && extra_hosts.iter().any(|h| h.eq_ignore_ascii_case(&named))
}

/// The same scheme, host and port: `https://a` and `https://a:443` are
/// one origin, `https://a` and `http://a` are not.
pub fn same_origin(from: &Url, to: &Url) -> bool {
    from.scheme() == to.scheme()
        && from.host() == to.host()
        && from.port_or_known_default() == to.port_or_known_default()
}

/// `scheme://host[:port]`, without the path a server chose.
fn origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// `HTTP 404 (client error)`: all a tenant is told of a refused request.
pub fn status_line(status: u16) -> String {
    let class = match status {
        100..=199 => "informational",
        200..=299 => "success",
        300..=399 => "redirection",
        400..=499 => "client error",
        500..=599 => "server error",
        _ => "unknown class",
    };
    format!("HTTP {status} ({class})")
}

/// The most of an error body read for the operator's log.
const LOGGED_BODY_BYTES: usize = 64 << 10;

/// Reads (at most [`LOGGED_BODY_BYTES`] of) a refused request's body into
/// the operator's log, and says the status as [`status_line`] does.
pub async fn refused(response: Response, what: &str) -> String {
    let status = response.status();
    let body = match super::read_capped(response, LOGGED_BODY_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).chars().take(2000).collect(),
        Err(_) => format!("(not read: over {LOGGED_BODY_BYTES} bytes or interrupted)"),
    };
    tracing::debug!(%what, status = status.as_u16(), %body, "the server refused the request");
    status_line(status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn only_the_same_scheme_host_and_port_is_one_origin() {
        let from = url("https://registry.example/v2/p/manifests/1");
        assert!(same_origin(&from, &url("https://registry.example/v2/p/blobs/x?sig=1")));
        assert!(same_origin(&from, &url("https://registry.example:443/elsewhere")));
        for other in [
            "http://registry.example/v2/p/manifests/1",
            "https://cdn.example/v2/p/manifests/1",
            "https://registry.example:8443/v2/p",
            "https://169.254.169.254/latest/meta-data/",
            "https://127.0.0.1/",
        ] {
            assert!(!same_origin(&from, &url(other)), "{other}");
        }
        assert!(!same_origin(&url("http://127.0.0.1:5000/v2/"), &url("http://localhost:5000/v2/")));
    }

    #[test]
    fn another_host_is_followed_only_over_https_and_only_where_the_operator_named_it() {
        let from = url("https://registry.example/v2/p/blobs/sha256:0");
        let cdn = vec!["cdn.example".to_string(), "mirror.example:8443".to_string()];
        assert!(redirect_allowed(&from, &url("https://cdn.example/blob?sig=1"), &cdn));
        assert!(redirect_allowed(&from, &url("https://CDN.example:443/blob"), &cdn));
        assert!(redirect_allowed(&from, &url("https://mirror.example:8443/blob"), &cdn));
        for refused in ["http://cdn.example/blob", "https://cdn.example:8443/blob", "https://other.example/blob"] {
            assert!(!redirect_allowed(&from, &url(refused), &cdn), "{refused}");
        }
        assert!(!redirect_allowed(&from, &url("https://cdn.example/blob"), &[]));
    }

    #[test]
    fn a_status_is_told_by_its_code_and_class() {
        assert_eq!(status_line(404), "HTTP 404 (client error)");
        assert_eq!(status_line(502), "HTTP 502 (server error)");
        assert_eq!(status_line(302), "HTTP 302 (redirection)");
        assert_eq!(status_line(799), "HTTP 799 (unknown class)");
    }
}

//! Downloading policy modules (https, OCI registries) into a cache keyed by
//! their sha256, and pushing them to a registry.
//!
//! Invariant: a module is written to the cache only after its bytes hashed
//! to the digest that names it, so a cached file is always what was asked
//! for. The precompile cache is keyed by the same digest, so a module pulled
//! again compiles no more than once per machine.

use super::credentials::Credentials;
use super::reference::{OciRef, PolicyRef};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media types of the CNCF Wasm OCI artifact layout.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER: &str = "application/wasm";
/// Manifest annotations rewind writes on push.
pub const ANNOTATION_WIT: &str = "dev.rewind.policy.wit";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{reference}: {message}")]
    Failed { reference: String, message: String },
    #[error("{reference}: the download has sha256 {found}, not {expected}; it was not used")]
    WrongDigest { reference: String, expected: String, found: String },
    #[error("cannot write the module cache {path}: {source}")]
    Cache { path: PathBuf, source: std::io::Error },
}

/// A module available on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub path: PathBuf,
    /// The manifest digest an OCI reference resolved to.
    pub manifest_digest: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone)]
pub struct Fetcher {
    modules: PathBuf,
    client: reqwest::Client,
    credentials: Credentials,
}

// How a module is named everywhere (pins, the download cache, the
// precompile cache, reports): the Wasm adapter's digest.
pub use crate::runtime::cache::sha256_hex;

impl Fetcher {
    /// Modules are kept in `<cache_root>/modules/sha256-<hex>.wasm`.
    pub fn new(cache_root: &Path) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("rewind/", env!("CARGO_PKG_VERSION")))
            // A server that stalls cannot hold a load forever.
            .connect_timeout(std::time::Duration::from_secs(10))
            .read_timeout(std::time::Duration::from_secs(30))
            .timeout(std::time::Duration::from_secs(300))
            // Never to another host the operator did not name, or from
            // https to plain http.
            .redirect(super::http::same_origin_redirects(super::http::redirect_hosts_from_env()))
            .build()
            .expect("the TLS configuration builds");
        Fetcher { modules: cache_root.join("modules"), client, credentials: Credentials::default() }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// This fetcher, sending `credentials` to the registries they name.
    pub fn with_credentials(&self, credentials: Credentials) -> Fetcher {
        Fetcher { credentials, ..self.clone() }
    }

    /// The local file for `reference`, downloading and verifying it first
    /// unless the cache already holds its digest.
    pub async fn fetch(&self, reference: &PolicyRef) -> Result<Fetched, FetchError> {
        match reference {
            PolicyRef::File(path) => {
                Ok(Fetched { path: path.clone(), manifest_digest: None, annotations: BTreeMap::new() })
            }
            PolicyRef::Https { url, sha256 } => {
                let path = match self.cached(sha256) {
                    Some(path) => path,
                    None => {
                        let response = self.send(self.client.get(url), None, &reference.to_string()).await?;
                        let bytes = body(response, &reference.to_string(), MAX_BLOB_BYTES).await?;
                        self.store(&reference.to_string(), sha256, &bytes)?
                    }
                };
                Ok(Fetched { path, manifest_digest: None, annotations: BTreeMap::new() })
            }
            PolicyRef::Oci(oci) => self.pull(oci).await,
        }
    }

    /// The cached module of `sha256`, hashed again on every use: a file
    /// changed in the cache since it was stored is removed and fetched anew.
    fn cached(&self, sha256: &str) -> Option<PathBuf> {
        let path = self.modules.join(format!("sha256-{sha256}.wasm"));
        let metadata = std::fs::symlink_metadata(&path).ok()?;
        let bytes = metadata.is_file().then(|| std::fs::read(&path).ok()).flatten();
        if bytes.is_some_and(|bytes| sha256_hex(&bytes) == sha256) {
            return Some(path);
        }
        let _ = std::fs::remove_file(&path);
        None
    }

    fn store(&self, reference: &str, expected: &str, bytes: &[u8]) -> Result<PathBuf, FetchError> {
        let found = sha256_hex(bytes);
        if found != expected {
            return Err(FetchError::WrongDigest { reference: reference.into(), expected: expected.into(), found });
        }
        let path = self.modules.join(format!("sha256-{expected}.wasm"));
        let cache_error = |source| FetchError::Cache { path: path.clone(), source };
        std::fs::create_dir_all(&self.modules).map_err(cache_error)?;
        crate::runtime::cache::write_atomically(&path, &[bytes]).map_err(cache_error)?;
        Ok(path)
    }

    /// The manifest `oci` names now, and its digest.
    pub async fn resolve(&self, oci: &OciRef) -> Result<(String, Value), FetchError> {
        let fail = |message: String| FetchError::Failed { reference: oci.to_string(), message };
        let url = format!("{}/manifests/{}", oci.base_url(), oci.reference);
        let request = self.client.get(url).header(ACCEPT, OCI_MANIFEST);
        let response = self.send(request, Some(oci), &oci.to_string()).await?;
        let bytes = body(response, &oci.to_string(), MAX_MANIFEST_BYTES).await?;
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        if oci.is_digest() && digest != oci.reference {
            return Err(FetchError::WrongDigest {
                reference: oci.to_string(),
                expected: oci.reference.clone(),
                found: digest,
            });
        }
        let manifest: Value =
            serde_json::from_slice(&bytes).map_err(|e| fail(format!("the manifest is not JSON: {e}")))?;
        Ok((digest, manifest))
    }

    async fn pull(&self, oci: &OciRef) -> Result<Fetched, FetchError> {
        let fail = |message: String| FetchError::Failed { reference: oci.to_string(), message };
        let (manifest_digest, manifest) = self.resolve(oci).await?;
        let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
        let layer = match layers.iter().find(|l| l["mediaType"] == WASM_LAYER) {
            Some(layer) => layer,
            None if layers.len() == 1 => &layers[0],
            None => return Err(fail(format!("the artifact has no {WASM_LAYER} layer ({} layers)", layers.len()))),
        };
        let sha256 = layer["digest"]
            .as_str()
            .and_then(|d| d.strip_prefix("sha256:"))
            .ok_or_else(|| fail("the layer has no sha256 digest".into()))?
            .to_string();
        let path = match self.cached(&sha256) {
            Some(path) => path,
            None => {
                let url = format!("{}/blobs/sha256:{sha256}", oci.base_url());
                // No more than the manifest declares, and never more than the limit.
                let declared = layer["size"].as_u64().unwrap_or(MAX_BLOB_BYTES as u64);
                if declared > MAX_BLOB_BYTES as u64 {
                    return Err(fail(format!("the layer declares {declared} bytes, more than {MAX_BLOB_BYTES}")));
                }
                let response = self.send(self.client.get(url), Some(oci), &oci.to_string()).await?;
                let bytes = body(response, &oci.to_string(), declared as usize).await?;
                self.store(&oci.to_string(), &sha256, &bytes)?
            }
        };
        let annotations = manifest["annotations"]
            .as_object()
            .map(|a| a.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        Ok(Fetched { path, manifest_digest: Some(manifest_digest), annotations })
    }

    /// Pushes `module` as a Wasm OCI artifact tagged by `oci`'s reference,
    /// with `annotations` on the manifest. Returns the manifest digest.
    pub async fn push(
        &self,
        oci: &OciRef,
        module: &[u8],
        annotations: &BTreeMap<String, String>,
    ) -> Result<String, FetchError> {
        let layer_digest = format!("sha256:{}", sha256_hex(module));
        let config = serde_json::to_vec(&json!({
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [layer_digest],
        }))
        .expect("JSON serializes");
        let config_digest = format!("sha256:{}", sha256_hex(&config));
        self.upload_blob(oci, &config_digest, config.clone()).await?;
        self.upload_blob(oci, &layer_digest, module.to_vec()).await?;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": WASM_CONFIG, "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": WASM_LAYER, "digest": layer_digest, "size": module.len()}],
            "annotations": annotations,
        }))
        .expect("JSON serializes");
        let url = format!("{}/manifests/{}", oci.base_url(), oci.reference);
        let request = self.client.put(url).header(CONTENT_TYPE, OCI_MANIFEST).body(manifest.clone());
        self.send(request, Some(oci), &oci.to_string()).await?;
        Ok(format!("sha256:{}", sha256_hex(&manifest)))
    }

    async fn upload_blob(&self, oci: &OciRef, digest: &str, bytes: Vec<u8>) -> Result<(), FetchError> {
        let reference = oci.to_string();
        let exists = self.client.head(format!("{}/blobs/{digest}", oci.base_url()));
        if self.send(exists, Some(oci), &reference).await.is_ok() {
            return Ok(());
        }
        let start = self.client.post(format!("{}/blobs/uploads/", oci.base_url()));
        let started = self.send(start, Some(oci), &reference).await?;
        let location = upload_location(started.headers(), oci)
            .ok_or_else(|| FetchError::Failed { reference: reference.clone(), message: "no upload location".into() })?;
        let separator = if location.contains('?') { '&' } else { '?' };
        let finish = self
            .client
            .put(format!("{location}{separator}digest={digest}"))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        self.send(finish, Some(oci), &reference).await?;
        Ok(())
    }

    /// Sends a request; a registry that answers 401 with a Bearer challenge
    /// gets one token request (anonymous, or with `REWIND_REGISTRY_USER` /
    /// `REWIND_REGISTRY_PASSWORD`) and the request again with the token.
    async fn send(
        &self,
        request: RequestBuilder,
        oci: Option<&OciRef>,
        reference: &str,
    ) -> Result<Response, FetchError> {
        let fail = |message: String| FetchError::Failed { reference: reference.to_string(), message };
        let retry = request.try_clone();
        let request = self.with_basic_auth(request, oci);
        let response = request.send().await.map_err(|e| fail(describe(&e)))?;
        let response = match (response.status(), oci, retry) {
            (StatusCode::UNAUTHORIZED, Some(_), Some(retry)) => {
                let token = self.bearer_token(response.headers(), oci.expect("matched Some")).await.map_err(fail)?;
                retry.bearer_auth(token).send().await.map_err(|e| fail(describe(&e)))?
            }
            _ => response,
        };
        if response.status().is_success() {
            return Ok(response);
        }
        // The body is not quoted: it could be any page the controller
        // reaches (its own loopback too), and this message reaches PolicyReady.
        Err(fail(format!("the server answered {}", super::http::refused(response, reference).await)))
    }

    /// Credentials go to the registry they are for and nowhere else: not to
    /// https module hosts, not to another registry.
    fn with_basic_auth(&self, request: RequestBuilder, oci: Option<&OciRef>) -> RequestBuilder {
        match oci.and_then(|oci| self.credentials.for_registry(&oci.registry)) {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    async fn bearer_token(&self, headers: &HeaderMap, oci: &OciRef) -> Result<String, String> {
        let challenge =
            headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let Some(challenge) = challenge else {
            return Err(match self.credentials.for_registry(&oci.registry) {
                Some(_) => format!("the registry refused the credentials given for {}", oci.registry),
                None => format!(
                    "the registry wants credentials for {} (a Docker config at REWIND_REGISTRY_AUTH_FILE, a \
                     RolloutPolicy's spec.policy.pullSecret, or REWIND_REGISTRY_USER, REWIND_REGISTRY_PASSWORD and \
                     REWIND_REGISTRY_HOST)",
                    oci.registry
                ),
            });
        };
        let fields: BTreeMap<&str, &str> = challenge
            .split(',')
            .filter_map(|part| part.trim().split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        let realm = fields.get("realm").ok_or("the registry's challenge names no realm")?;
        // The token (and the credentials sent for it) stay with the registry:
        // a realm on another host, or over plain HTTP to a remote registry, is
        // refused.
        let realm_url = reqwest::Url::parse(realm).map_err(|e| format!("the realm {realm:?} is not a URL: {e}"))?;
        let registry_host = oci.registry.rsplit_once(':').map_or(oci.registry.as_str(), |(h, _)| h);
        let plain_ok = oci.base_url().starts_with("http://");
        if realm_url.host_str() != Some(registry_host) || (realm_url.scheme() != "https" && !plain_ok) {
            return Err(format!("the registry names a token realm {realm} that is not https on {registry_host}"));
        }
        let query: Vec<(&str, &str)> =
            ["service", "scope"].iter().filter_map(|k| Some((*k, *fields.get(k)?))).collect();
        let request = self.with_basic_auth(self.client.request(Method::GET, realm_url).query(&query), Some(oci));
        let response = request.send().await.map_err(|e| describe(&e))?;
        if !response.status().is_success() {
            return Err(format!("the registry refused a token: {}", super::http::refused(response, realm).await));
        }
        let text = response.text().await.map_err(|e| describe(&e))?;
        let answer: Value = serde_json::from_str(&text).map_err(|e| format!("the registry's token answer: {e}"))?;
        answer["token"]
            .as_str()
            .or_else(|| answer["access_token"].as_str())
            .map(str::to_string)
            .ok_or_else(|| "the registry's token answer holds no token".into())
    }
}

/// Registries answer with an absolute URL or a path on the same host.
fn upload_location(headers: &HeaderMap, oci: &OciRef) -> Option<String> {
    let location = headers.get(LOCATION)?.to_str().ok()?;
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_string());
    }
    let base = oci.base_url();
    let origin = base.split("/v2/").next()?;
    Some(format!("{origin}{location}"))
}

/// A manifest is at most 4 MiB, as OCI clients take it; a module download
/// at most 64 MiB (the runtime's module limit applies after).
const MAX_MANIFEST_BYTES: usize = 4 << 20;
const MAX_BLOB_BYTES: usize = 64 << 20;

/// The response's body, refused once it passes `limit` bytes.
async fn body(response: Response, reference: &str, limit: usize) -> Result<Vec<u8>, FetchError> {
    let fail = |message: String| FetchError::Failed { reference: reference.to_string(), message };
    read_capped(response, limit).await.map_err(|e| match e {
        CappedRead::TooLarge => fail(format!("the download is larger than {limit} bytes")),
        CappedRead::Interrupted(e) => fail(format!("download interrupted: {}", describe(&e))),
    })
}

pub(crate) enum CappedRead {
    TooLarge,
    Interrupted(reqwest::Error),
}

/// A response's body, streamed and given up as soon as it would pass
/// `limit` bytes (or says it will).
pub(crate) async fn read_capped(mut response: Response, limit: usize) -> Result<Vec<u8>, CappedRead> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(CappedRead::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(CappedRead::Interrupted)? {
        if bytes.len() + chunk.len() > limit {
            return Err(CappedRead::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// reqwest's message plus its causes (the TLS or connection problem).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

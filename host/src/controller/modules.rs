//! The modules RolloutPolicies name, kept loaded and swapped when their
//! source changes: a new reference or settings, a file changed on disk, or a
//! tag that now names another digest.
//!
//! Invariants: a module replaces the serving one only after it was fetched,
//! verified, compiled and accepted its settings; while a new module loads
//! (in the background, off the async threads) the serving one goes on
//! deciding; a failed load leaves the serving module in place and says why
//! in the PolicyReady condition, and is retried after [`RETRY_FAILED`] or
//! when the source changes again.

use super::crd::{RolloutPolicy, StatusCondition};
use crate::distribution::{Credentials, Fetcher, OciRef, PolicyRef};
use crate::runtime::{LoadedPolicy, PolicyError, PolicyRuntime};
use kube::ResourceExt;
use rewind_core::actions::{Grant, Grants};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// How long a tag's digest is trusted before the registry is asked again.
pub const TAG_RECHECK: Duration = Duration::from_secs(30);

/// The PolicyReady reason while a module loads.
const LOADING: &str = "Loading";

/// What serves a RolloutPolicy now, and its PolicyReady condition.
#[derive(Clone)]
pub struct Served {
    /// The module deciding, if any.
    pub policy: Option<LoadedPolicy>,
    pub ready: StatusCondition,
    /// A load is under way: the reconciler looks again soon.
    pub loading: bool,
}

impl Served {
    fn settled(policy: Option<LoadedPolicy>, ready: StatusCondition) -> Served {
        Served { policy, ready, loading: false }
    }
}

/// How long a failed load of one source is reported before it is tried
/// again (a registry may have been down).
pub const RETRY_FAILED: Duration = Duration::from_secs(30);

/// The longest a load (download, compile, checks) may take, and the
/// longest a reconcile waits to learn what a tag names: one slow or
/// stalled source never holds the workers that serve other policies.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(300);
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(20);

/// What a module was loaded from. Any difference loads it again.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Source {
    reference: String,
    /// Names the bytes behind the reference now (file size and time, pinned
    /// digest, or the digest a tag resolved to).
    version: String,
    expected_sha256: Option<String>,
    settings: String,
    pull_secret: Option<String>,
}

struct Loaded {
    source: Source,
    policy: LoadedPolicy,
}

/// The latest load of a source that is not serving (yet).
enum Attempt {
    InFlight,
    Failed { problem: String, at: Instant },
}

pub struct Modules {
    runtime: Arc<PolicyRuntime>,
    /// With the controller's own registry credentials.
    fetcher: Option<Fetcher>,
    /// Reads RolloutPolicies' pull Secrets.
    client: Option<kube::Client>,
    loaded: Mutex<HashMap<String, Loaded>>,
    attempts: Mutex<HashMap<String, (Source, Attempt)>>,
    tags: Mutex<HashMap<OciRef, (String, Instant)>>,
    tag_recheck: Duration,
}

fn ready(ok: bool, reason: &str, message: String) -> StatusCondition {
    StatusCondition::new("PolicyReady", ok, reason, message)
}

/// Loaded, naming the module, and any grant it declares that is not
/// `granted` (its actions that need one are refused).
fn loaded_condition(policy: &LoadedPolicy, granted: &[Grant]) -> StatusCondition {
    let sha = policy.sha256.get(..12).unwrap_or(&policy.sha256);
    let grants = Grants { declared: policy.declared.clone(), granted: granted.to_vec() };
    let missing: Vec<String> = grants.missing().iter().map(ToString::to_string).collect();
    let note = match missing.as_slice() {
        [] => String::new(),
        missing => format!("; it declares grants spec.grants does not give: {}", missing.join(", ")),
    };
    ready(true, "Loaded", format!("{} ({}, sha256 {sha}…){note}", policy.name, policy.wit))
}

/// The module file at `path`, opened only if it is a regular file (never
/// blocking on a FIFO or a device); any failure is one message, whatever
/// the path is or whether it exists.
fn open_module_file(path: &std::path::Path) -> Result<(std::fs::File, std::fs::Metadata), String> {
    crate::runtime::module_file::open_regular(path)
        .map_err(|source| told_to_tenant(&PolicyError::Read { path: path.to_path_buf(), source }))
}

/// What a RolloutPolicy's author reads of `error` (in PolicyReady): its own
/// message. Its causes (what a path on the controller is, whether it
/// exists) go to the operator's log only.
fn told_to_tenant(error: &PolicyError) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if !causes.is_empty() {
        tracing::debug!(%error, causes = %causes.join(": "), "policy module not usable");
    }
    error.to_string()
}

impl Modules {
    /// Downloads are cached below `cache_root`; without one, only modules
    /// on the controller's file system can be used. A tag's digest is
    /// looked up again once `tag_recheck` has passed ([`TAG_RECHECK`] in the
    /// controller).
    pub fn new(runtime: Arc<PolicyRuntime>, cache_root: Option<PathBuf>, tag_recheck: Duration) -> Self {
        Modules {
            runtime,
            fetcher: cache_root.map(|root| Fetcher::new(&root)),
            client: None,
            loaded: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
            tags: Mutex::new(HashMap::new()),
            tag_recheck,
        }
    }

    /// Sends `credentials` to the registries they name, and reads
    /// RolloutPolicies' `spec.policy.pullSecret` with `client`.
    pub fn with_registry_access(mut self, client: kube::Client, credentials: Credentials) -> Self {
        self.fetcher = self.fetcher.map(|f| f.with_credentials(credentials));
        self.client = Some(client);
        self
    }

    /// The fetcher for `rp`'s module: the controller's credentials, and
    /// over them its pull Secret's, each only for the registry it names.
    async fn fetcher_for(&self, rp: &RolloutPolicy) -> Result<Fetcher, String> {
        let fetcher = self.fetcher.clone().ok_or("no cache directory for downloaded modules (set REWIND_CACHE_DIR)")?;
        let Some(secret) = &rp.spec.policy.pull_secret else { return Ok(fetcher) };
        let namespace = rp.namespace().unwrap_or_default();
        let what = format!("spec.policy.pullSecret: Secret {namespace}/{}", secret.name);
        let client = self.client.clone().ok_or_else(|| format!("{what}: this controller reads no Secrets"))?;
        let api: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(client, &namespace);
        let found = api.get(&secret.name).await.map_err(|e| format!("{what}: {e}"))?;
        let config = found.data.as_ref().and_then(|data| data.get(".dockerconfigjson")).ok_or_else(|| {
            format!("{what} has no .dockerconfigjson (make it with kubectl create secret docker-registry)")
        })?;
        let text = std::str::from_utf8(&config.0).map_err(|_| format!("{what}: .dockerconfigjson is not UTF-8"))?;
        let own = Credentials::from_docker_config(text, &what)?;
        Ok(fetcher.with_credentials(fetcher.credentials().clone().overlaid(own)))
    }

    /// The module serving `rp` and its PolicyReady condition. While the
    /// source is unchanged, the loaded module. When it changed, a load
    /// starts in the background and the serving module goes on deciding
    /// until the new one is ready (a later reconcile swaps it in); with no
    /// module serving yet, the load is awaited.
    pub async fn policy_for(self: &Arc<Self>, rp: &RolloutPolicy) -> Served {
        let id = format!("{}/{}", rp.namespace().unwrap_or_default(), rp.name_any());
        let serving = self.loaded.lock().expect("lock").get(&id).map(|l| (l.source.clone(), l.policy.clone()));
        let serving_policy = serving.as_ref().map(|(_, p)| p.clone());
        let keep_serving = |problem: String| {
            let note = if serving.is_some() { "; the previous module keeps serving" } else { "" };
            Served::settled(serving_policy.clone(), ready(false, "LoadFailed", format!("{problem}{note}")))
        };
        if let Some(problem) = rp.spec.subject_problem() {
            return Served::settled(None, ready(false, "InvalidTarget", problem));
        }
        for (api_version, kind) in rp.spec.kinds() {
            if let Err(problem) = crate::workloads::targetable(&api_version, &kind) {
                return Served::settled(None, ready(false, "TargetNotAllowed", format!("spec.target: {problem}")));
            }
        }
        let granted = match Grant::parse_all(&rp.spec.grants) {
            Ok(granted) => granted,
            Err(problem) => {
                return Served::settled(None, ready(false, "InvalidGrants", format!("spec.grants: {problem}")));
            }
        };
        let reference: PolicyRef = match rp.spec.policy.module.parse() {
            Ok(reference) => reference,
            Err(problem) => return keep_serving(format!("spec.policy.module: {problem}")),
        };
        let version = match tokio::time::timeout(RESOLVE_TIMEOUT, self.version(&reference, rp)).await {
            Ok(Ok(version)) => version,
            Ok(Err(problem)) => return keep_serving(problem),
            Err(_) => {
                return keep_serving(format!("{reference}: not resolved within {} s", RESOLVE_TIMEOUT.as_secs()));
            }
        };
        let source = Source {
            reference: reference.to_string(),
            version,
            expected_sha256: rp.spec.policy.sha256.clone(),
            settings: rp.spec.settings.clone().unwrap_or(json!({})).to_string(),
            pull_secret: rp.spec.policy.pull_secret.as_ref().map(|s| s.name.clone()),
        };
        if let Some((loaded_source, policy)) = &serving
            && *loaded_source == source
        {
            if rp.spec.application.is_some() && !policy.contract.encoding().has_application() {
                let problem = crate::evaluate::application_needs(policy);
                return Served::settled(None, ready(false, "ContractTooOld", format!("spec.application: {problem}")));
            }
            return Served::settled(Some(policy.clone()), loaded_condition(policy, &granted));
        }
        let new_reference = source.reference.clone();
        // Loads run in the background, never on the reconcile that asks:
        // the serving module (if any) decides meanwhile, and a later
        // reconcile swaps the new one in.
        let loading = || {
            let (policy, ready) = match &serving_policy {
                Some(serving) => {
                    let message = format!("{} serves while {new_reference} loads", serving.name);
                    (Some(serving.clone()), ready(true, LOADING, message))
                }
                None => (None, ready(false, LOADING, format!("{new_reference} is loading"))),
            };
            Served { policy, ready, loading: true }
        };
        match self.attempts.lock().expect("lock").get(&id) {
            Some((attempted, Attempt::InFlight)) if *attempted == source => return loading(),
            Some((attempted, Attempt::Failed { problem, at }))
                if *attempted == source && at.elapsed() < RETRY_FAILED =>
            {
                return keep_serving(problem.clone());
            }
            _ => {}
        }
        self.attempts.lock().expect("lock").insert(id.clone(), (source.clone(), Attempt::InFlight));
        let this = self.clone();
        let rp = rp.clone();
        tokio::spawn(async move { this.load_and_record(&id, reference, source, &rp).await });
        loading()
    }

    /// Loads `source` for policy `id`; on success it serves from now on,
    /// on failure the problem is kept for the condition.
    async fn load_and_record(
        &self,
        id: &str,
        reference: PolicyRef,
        source: Source,
        rp: &RolloutPolicy,
    ) -> Result<LoadedPolicy, String> {
        let result = match tokio::time::timeout(LOAD_TIMEOUT, self.load(&reference, &source, rp)).await {
            Ok(result) => result,
            Err(_) => Err(format!("{} did not load within {} s", source.reference, LOAD_TIMEOUT.as_secs())),
        };
        let mut attempts = self.attempts.lock().expect("lock");
        match &result {
            Ok(policy) => {
                tracing::info!(policy = %id, module = %source.reference, sha256 = %policy.sha256, "module loaded");
                attempts.remove(id);
                self.loaded.lock().expect("lock").insert(id.to_string(), Loaded { source, policy: policy.clone() });
            }
            Err(problem) => {
                tracing::warn!(policy = %id, module = %source.reference, %problem, "module not loaded");
                let failed = Attempt::Failed { problem: problem.clone(), at: Instant::now() };
                attempts.insert(id.to_string(), (source, failed));
            }
        }
        result
    }

    /// What names the bytes behind `reference` now; only a tag due for a
    /// recheck asks the registry (and reads `rp`'s pull Secret).
    async fn version(&self, reference: &PolicyRef, rp: &RolloutPolicy) -> Result<String, String> {
        match reference {
            PolicyRef::File(path) => {
                let (_, metadata) = open_module_file(path)?;
                let modified = metadata.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
                Ok(format!("{} bytes, modified {:?}", metadata.len(), modified.unwrap_or_default()))
            }
            PolicyRef::Https { sha256, .. } => Ok(sha256.clone()),
            PolicyRef::Oci(oci) if oci.is_digest() => Ok(oci.reference.clone()),
            PolicyRef::Oci(oci) => {
                let fresh = self.tags.lock().expect("lock").get(oci).cloned();
                if let Some((digest, checked)) = fresh
                    && checked.elapsed() < self.tag_recheck
                {
                    return Ok(digest);
                }
                let (digest, _) = self.fetcher_for(rp).await?.resolve(oci).await.map_err(|e| e.to_string())?;
                self.tags.lock().expect("lock").insert(oci.clone(), (digest.clone(), Instant::now()));
                Ok(digest)
            }
        }
    }

    /// Fetches, compiles and checks the module off the async threads, so
    /// other policies' reconciles go on meanwhile.
    async fn load(&self, reference: &PolicyRef, source: &Source, rp: &RolloutPolicy) -> Result<LoadedPolicy, String> {
        let path = match reference {
            PolicyRef::File(path) => path.clone(),
            other => self.fetcher_for(rp).await?.fetch(other).await.map_err(|e| e.to_string())?.path,
        };
        let runtime = self.runtime.clone();
        let (settings, expected) = (source.settings.clone(), source.expected_sha256.clone());
        tokio::task::spawn_blocking(move || {
            let policy = runtime.load(&path, &settings).map_err(|e| told_to_tenant(&e))?;
            match expected {
                Some(sha) if !sha.eq_ignore_ascii_case(&policy.sha256) => {
                    Err(format!("{} has sha256 {}, not the expected {sha}", policy.name, policy.sha256))
                }
                _ => Ok(policy),
            }
        })
        .await
        .unwrap_or_else(|e| Err(format!("loading panicked: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn policy_naming(module: &Path) -> RolloutPolicy {
        serde_json::from_value(json!({
            "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "policy": {"module": module.to_str().unwrap()}}
        }))
        .unwrap()
    }

    fn mkfifo(path: &Path) {
        let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `name` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    }

    /// What PolicyReady says of a module path is one message whether the
    /// path is missing, a directory, a FIFO (directly or through a symlink)
    /// or a device: nothing of the controller's file system is told, and
    /// nothing blocks (`module: /dev/stderr`, a pipe under a container
    /// runtime as the FIFO here, once stalled a worker for good).
    #[tokio::test]
    async fn every_path_that_is_not_a_regular_file_is_refused_at_once_with_one_message() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.wasm");
        mkfifo(&fifo);
        let link = dir.path().join("link.wasm");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let runtime = Arc::new(PolicyRuntime::new(Default::default(), None).unwrap());
        let modules = Arc::new(Modules::new(runtime, None, Duration::ZERO));
        let missing = dir.path().join("missing.wasm");
        for path in [missing.as_path(), dir.path(), &fifo, &link, Path::new("/dev/null")] {
            let started = Instant::now();
            let Served { policy, ready: condition, .. } = modules.policy_for(&policy_naming(path)).await;
            assert!(started.elapsed() < Duration::from_secs(2), "{path:?}: {:?}", started.elapsed());
            assert!(policy.is_none());
            assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "LoadFailed"));
            let shown = condition.message.replace(path.to_str().unwrap(), "<path>");
            assert_eq!(shown, "cannot read policy <path> as a regular file", "{path:?}");
        }
    }

    /// A module whose server never answers loads in the background: the
    /// reconcile that asks learns at once that it is loading, and asking
    /// again starts no second load.
    #[tokio::test]
    async fn a_load_that_never_ends_holds_no_reconcile() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}/p.wasm#sha256={}", silent.local_addr().unwrap(), "0".repeat(64));
        let cache = tempfile::tempdir().unwrap();
        let runtime = Arc::new(PolicyRuntime::new(Default::default(), None).unwrap());
        let modules = Arc::new(Modules::new(runtime, Some(cache.path().to_path_buf()), Duration::ZERO));
        let rp: RolloutPolicy = serde_json::from_value(json!({
            "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "policy": {"module": url}}
        }))
        .unwrap();
        for _ in 0..2 {
            let started = Instant::now();
            let Served { policy, ready: condition, loading } = modules.policy_for(&rp).await;
            assert!(loading);
            assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
            assert!(policy.is_none());
            assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", LOADING), "{condition:?}");
        }
    }
}

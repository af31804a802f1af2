//! The cluster operator's bound on what the RolloutPolicies of a namespace
//! may make the controller do. Whoever may write a RolloutPolicy in a
//! namespace chooses its module, grants, target, Prometheus and Secrets; the
//! controller acts with its own, cluster-wide rights. A RolloutPolicyBound
//! (cluster-scoped, written by the cluster's operator) says, for the
//! namespaces it selects, which of those choices the controller honours.
//! Bounds add up, as RBAC roles do; a namespace no bound selects gets
//! [`BoundSpec::default`]: the bundled policies and what a rollback needs,
//! nothing else. A RolloutPolicy outside its bound is not served.
//!
//! The check is pure: the controller gives it the bounds and the
//! namespace's labels from its watches.

use super::crd::RolloutPolicySpec;
use crate::actions::Grant;
use crate::distribution::PolicyRef;
use crate::objects;
use crate::workloads;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

/// What the RolloutPolicies of the namespaces a bound selects may use.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "rewind.dev",
    version = "v1alpha1",
    kind = "RolloutPolicyBound",
    shortname = "rpb",
    doc = "What the RolloutPolicies of the namespaces it selects may use: module sources, grants, target kinds, Prometheus addresses and Secrets. Cluster-scoped; written by cluster administrators."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BoundSpec {
    /// The namespaces it applies to, by their labels (matchLabels,
    /// matchExpressions); absent, every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "selector_schema")]
    pub namespace_selector: Option<Value>,
    #[serde(default)]
    pub modules: ModuleSources,
    /// Grants a RolloutPolicy may give (`spec.grants`): each given grant
    /// must be one of these or narrower (a longer path of a patch grant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
    /// Kinds a RolloutPolicy may target beyond the workload kinds rewind
    /// rolls back itself (Deployment, StatefulSet, DaemonSet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_kinds: Vec<KindName>,
    /// Prometheus base URLs a RolloutPolicy may query, exactly as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prometheus_addresses: Vec<String>,
    /// Secrets of the RolloutPolicy's own namespace the controller may read
    /// for it (a bearer token's key, a pull secret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretKeys>,
}

fn selector_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// Where modules may come from.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleSources {
    /// The policies bundled with the controller: files directly in its
    /// policies directory (`--policies-dir`, `/policies` in the image).
    #[serde(default = "yes")]
    pub bundled: bool,
    /// Files below `custom/` of the policies directory (the chart's
    /// `policies.volume`).
    #[serde(default)]
    pub custom: bool,
    /// `oci://` modules whose `<registry>/<repository>` starts with one of
    /// these (end one with `/` to stop at a path segment).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oci_prefixes: Vec<String>,
    /// `https://` modules from these hosts (`host` for port 443, or
    /// `host:port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub https_hosts: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for ModuleSources {
    fn default() -> Self {
        ModuleSources { bundled: true, custom: false, oci_prefixes: Vec::new(), https_hosts: Vec::new() }
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindName {
    /// The API group (`e6data.io`); empty for the core group.
    #[serde(default)]
    pub group: String,
    /// The kind's name (`MetadataService`).
    pub kind: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeys {
    /// The Secret's name.
    pub name: String,
    /// The keys a bearer token may be read from; a pull secret needs none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// The bounds that apply to one namespace.
pub struct NamespaceBounds<'b> {
    pub namespace: &'b str,
    /// The names of the bounds selecting it, for messages.
    pub names: Vec<String>,
    /// Their specs; [`BoundSpec::default`] alone when none selects it.
    pub specs: Vec<&'b BoundSpec>,
}

/// The bounds among `bounds` that select a namespace with `labels`.
pub fn selecting<'b>(
    bounds: impl IntoIterator<Item = (&'b str, &'b BoundSpec)>,
    namespace: &'b str,
    labels: &Value,
    fallback: &'b BoundSpec,
) -> Result<NamespaceBounds<'b>, String> {
    let mut names = Vec::new();
    let mut specs = Vec::new();
    for (name, spec) in bounds {
        let selects = match &spec.namespace_selector {
            None => true,
            Some(selector) => workloads::selects(selector, Some(labels))
                .map_err(|problem| format!("RolloutPolicyBound {name}: spec.namespaceSelector: {problem}"))?,
        };
        if selects {
            names.push(name.to_string());
            specs.push(spec);
        }
    }
    if specs.is_empty() {
        specs.push(fallback);
    }
    Ok(NamespaceBounds { namespace, names, specs })
}

/// Why a RolloutPolicy is outside its bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} is outside the bound of namespace {namespace} ({by}); a cluster administrator can widen it")]
pub struct OutsideBound {
    pub what: String,
    pub namespace: String,
    pub by: String,
}

impl NamespaceBounds<'_> {
    /// Checks everything a RolloutPolicy chooses that the controller acts
    /// on with its own rights. Messages name the field, never a file's or
    /// a server's content.
    pub fn check(&self, spec: &RolloutPolicySpec, policies_dir: &Path) -> Result<(), OutsideBound> {
        self.module(&spec.policy.module, policies_dir)?;
        for (i, text) in spec.grants.iter().enumerate() {
            // A malformed grant serves nothing either; PolicyReady says so
            // (InvalidGrants) once the policy is within its bound otherwise.
            let Ok(given) = Grant::parse(text) else { continue };
            let allowed = self.specs.iter().flat_map(|b| &b.grants).filter_map(|g| Grant::parse(g).ok());
            if !allowed.clone().any(|bound| bound.includes(&given)) {
                return Err(self.outside(format!("spec.grants[{i}] {given}")));
            }
        }
        for (api_version, kind) in spec.kinds() {
            let group = objects::group_of(&api_version);
            let built_in = workloads::all().any(|w| w.kind() == kind && w.groups().contains(&group));
            let listed = self.specs.iter().flat_map(|b| &b.target_kinds).any(|k| k.group == group && k.kind == kind);
            if !built_in && !listed {
                return Err(self.outside(format!("spec.target kind {kind} of group {group:?}")));
            }
        }
        if let Some(prometheus) = spec.metrics.as_ref().and_then(|m| m.prometheus.as_ref()) {
            let address = prometheus.address.trim_end_matches('/');
            let allowed = self.specs.iter().flat_map(|b| &b.prometheus_addresses);
            if !allowed.map(|a| a.trim_end_matches('/')).any(|a| a == address) {
                return Err(self.outside(format!("spec.metrics.prometheus.address {address}")));
            }
            if let Some(secret) = &prometheus.bearer_token_secret {
                self.secret(&secret.name, Some(&secret.key), "spec.metrics.prometheus.bearerTokenSecret")?;
            }
        }
        if let Some(secret) = &spec.policy.pull_secret {
            self.secret(&secret.name, None, "spec.policy.pullSecret")?;
        }
        Ok(())
    }

    fn module(&self, module: &str, policies_dir: &Path) -> Result<(), OutsideBound> {
        let sources = || self.specs.iter().map(|b| &b.modules);
        let reference: PolicyRef =
            module.parse().map_err(|_| self.outside("spec.policy.module (not a module reference)".into()))?;
        let allowed = match &reference {
            PolicyRef::File(path) => match placed(path, policies_dir) {
                Some(Placed::Bundled) => sources().any(|m| m.bundled),
                Some(Placed::Custom) => sources().any(|m| m.custom),
                None => {
                    let dir = policies_dir.display();
                    return Err(
                        self.outside(format!("spec.policy.module: a path outside the policies directory {dir}"))
                    );
                }
            },
            PolicyRef::Oci(oci) => {
                let named = format!("{}/{}", oci.registry, oci.repository);
                sources().flat_map(|m| &m.oci_prefixes).any(|prefix| named.starts_with(prefix.as_str()))
            }
            PolicyRef::Https { url, .. } => {
                let host = https_host(url);
                sources().flat_map(|m| &m.https_hosts).any(|allowed| Some(allowed.as_str()) == host.as_deref())
            }
        };
        if allowed { Ok(()) } else { Err(self.outside(format!("spec.policy.module {reference}"))) }
    }

    fn secret(&self, name: &str, key: Option<&str>, field: &str) -> Result<(), OutsideBound> {
        let listed = self.specs.iter().flat_map(|b| &b.secrets).filter(|s| s.name == name);
        let allowed = match key {
            Some(key) => listed.clone().any(|s| s.keys.iter().any(|k| k == key)),
            None => listed.clone().next().is_some(),
        };
        if allowed {
            return Ok(());
        }
        let key = key.map(|k| format!(" (key {k})")).unwrap_or_default();
        Err(self.outside(format!("{field}: Secret {name}{key}")))
    }

    fn outside(&self, what: String) -> OutsideBound {
        let by = match self.names.as_slice() {
            [] => "no RolloutPolicyBound selects it, so only the bundled policies and what a rollback needs are \
                   allowed"
                .to_string(),
            names => format!("RolloutPolicyBound {}", names.join(", ")),
        };
        OutsideBound { what, namespace: self.namespace.to_string(), by }
    }
}

/// Where in the policies directory a module path is.
#[derive(Debug, PartialEq, Eq)]
enum Placed {
    Bundled,
    Custom,
}

/// Whether `path` names a file directly in `dir` (bundled) or below
/// `dir/custom` (custom). A path with `..` or `.` segments, or one whose
/// resolved form leaves the directory through a symlink, is in neither.
fn placed(path: &Path, dir: &Path) -> Option<Placed> {
    if path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
        return None;
    }
    let place = |path: &Path, dir: &Path| -> Option<Placed> {
        let rest = path.strip_prefix(dir).ok()?;
        let parts: Vec<_> = rest.components().collect();
        match parts.as_slice() {
            [Component::Normal(_)] => Some(Placed::Bundled),
            [Component::Normal(custom), _, ..] if *custom == "custom" => Some(Placed::Custom),
            _ => None,
        }
    };
    let lexical = place(path, dir)?;
    // A symlink placed in the directory must not lead out of it.
    match (std::fs::canonicalize(path), std::fs::canonicalize(dir)) {
        (Ok(resolved), Ok(resolved_dir)) => {
            let resolved_place = place(&resolved, &resolved_dir);
            (resolved_place.is_some()).then_some(lexical)
        }
        // A path that does not resolve loads nothing either: the load says
        // so in its one message for every unreadable path.
        _ => Some(lexical),
    }
}

/// `host` or `host:port` of an https URL, as a bound lists it (port 443 left
/// out).
fn https_host(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) if port != 443 => format!("{host}:{port}"),
        _ => host.to_string(),
    })
}

/// The default policies directory: where the image keeps the bundled ones.
pub fn default_policies_dir() -> PathBuf {
    PathBuf::from("/policies")
}

#[cfg(test)]
mod tests;

/// What the controller checks RolloutPolicies against: the bounds and the
/// namespaces' labels, kept current by its watches.
pub struct Bounds {
    pub bounds: kube::runtime::reflector::Store<RolloutPolicyBound>,
    pub namespaces: kube::runtime::reflector::Store<k8s_openapi::api::core::v1::Namespace>,
    pub policies_dir: PathBuf,
}

impl Bounds {
    /// Whether `rp` is within the bound of its namespace, or why not.
    pub fn check(&self, rp: &super::crd::RolloutPolicy) -> Result<(), String> {
        use kube::ResourceExt;
        let namespace = rp.namespace().unwrap_or_default();
        let labels = self
            .namespaces
            .get(&kube::runtime::reflector::ObjectRef::new(&namespace))
            .map(|ns| serde_json::to_value(ns.labels()).expect("labels serialize"))
            .unwrap_or_else(|| serde_json::json!({}));
        // Read in place: this runs on every reconcile of every workload.
        let bounds = self.bounds.state();
        let named = bounds.iter().map(|b| (b.metadata.name.as_deref().unwrap_or_default(), &b.spec));
        let fallback = BoundSpec::default();
        let selected = selecting(named, &namespace, &labels, &fallback)?;
        selected.check(&rp.spec, &self.policies_dir).map_err(|outside| outside.to_string())
    }
}

//! The RolloutPolicy custom resource (`rewind.dev/v1alpha1`): which
//! workloads a policy module covers, how, and what it last decided.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "rewind.dev",
    version = "v1alpha1",
    kind = "RolloutPolicy",
    namespaced,
    status = "RolloutPolicyStatus",
    shortname = "rp",
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.mode"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"PolicyReady\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPolicySpec {
    /// The workloads this policy covers, in the RolloutPolicy's namespace.
    pub target: WorkloadSelector,
    /// The policy component.
    pub policy: PolicySource,
    /// Settings handed to the policy; checked by its validate-settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_json")]
    pub settings: Option<Value>,
    #[serde(default)]
    pub mode: Mode,
    /// Re-evaluation interval: time-based rules need it without any change.
    #[serde(default = "default_resync_seconds")]
    pub resync_seconds: u64,
    #[serde(default)]
    pub flap_guard: FlapGuard,
}

fn default_resync_seconds() -> u64 {
    30
}

fn free_json(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// An explicit workload (`name`), or every workload of the kind matching
/// `matchLabels`.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicySource {
    /// The module: a path on the controller's file system, an https:// URL
    /// pinned by `#sha256=<hex>`, or an oci:// reference (a tag is followed:
    /// when it moves, the new module is loaded).
    pub module: String,
    /// When set, the module must have this sha256 or it is not loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Enforce,
    DryRun,
}

/// At most `maxRollbacks` automatic rollbacks per workload per window.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FlapGuard {
    pub max_rollbacks: u32,
    pub window_seconds: u64,
}

impl Default for FlapGuard {
    fn default() -> Self {
        FlapGuard { max_rollbacks: 3, window_seconds: 3600 }
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPolicyStatus {
    #[serde(default)]
    pub conditions: Vec<StatusCondition>,
    /// The sha256 of the module serving now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_sha256: Option<String>,
    #[serde(default)]
    pub workloads: Vec<WorkloadStatus>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusCondition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub reason: String,
    /// Left out when empty: the API server stores an empty string of a
    /// merge patch as null, which the schema would refuse.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    pub last_transition_time: String,
}

/// The last decision for one covered workload.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    pub name: String,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Actions executed (Enforce) or planned (DryRun), as `rewind eval` reports them.
    #[serde(default)]
    #[schemars(schema_with = "free_json_list")]
    pub actions: Vec<Value>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub errors: Vec<String>,
    /// Times of the automatic rollbacks inside the flap-guard window.
    #[serde(default)]
    pub rollbacks: Vec<String>,
    #[serde(default)]
    pub flap_guard_tripped: bool,
}

fn free_json_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

/// The CRD as YAML, for `rewind crd`.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    serde_yaml::to_string(&RolloutPolicy::crd()).expect("the CRD serializes")
}

#[cfg(test)]
mod manifest_tests {
    /// `kubectl apply -f deploy/` installs this CRD; it must be the one the
    /// controller is built with (`rewind crd > deploy/crd.yaml` renews it).
    #[test]
    fn the_install_manifest_holds_the_current_crd() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/crd.yaml");
        let manifest = std::fs::read_to_string(path).expect("deploy/crd.yaml");
        assert!(
            manifest == super::crd_yaml(),
            "deploy/crd.yaml differs from `rewind crd`: run `rewind crd > deploy/crd.yaml`"
        );
    }
}

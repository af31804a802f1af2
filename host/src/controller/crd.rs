//! The custom resources (`rewind.dev/v1alpha1`): a RolloutPolicy says which
//! workloads a policy module covers and how; a RolloutDecision per covered
//! workload records what the policy last decided about it.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "rewind.dev",
    version = "v1alpha1",
    kind = "RolloutPolicy",
    doc = "Which workloads of its namespace a policy module covers, how it is configured, and whether the controller acts on its decisions.",
    namespaced,
    status = "RolloutPolicyStatus",
    shortname = "rp",
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.mode"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"PolicyReady\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPolicySpec {
    /// The workloads this policy covers, in the RolloutPolicy's namespace,
    /// each evaluated alone; give this or `application`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<WorkloadSelector>,
    /// An application of the RolloutPolicy's namespace, its workloads
    /// evaluated together in one decision; give this or `target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<ApplicationSelector>,
    /// The policy component.
    pub policy: PolicySource,
    /// Settings handed to the policy; checked by its validate-settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_json")]
    pub settings: Option<Value>,
    /// `DryRun` (the default) records each decision and the actions it
    /// would take, and changes nothing; `Enforce` carries the actions out.
    #[serde(default)]
    pub mode: Mode,
    /// Seconds between re-evaluations of a covered workload that did not
    /// change: time-based rules (a grace period, a metric window) need them.
    #[serde(default = "default_resync_seconds")]
    pub resync_seconds: u64,
    /// How many rollbacks per workload in a time window the controller
    /// carries out before it holds a workload back.
    #[serde(default)]
    pub flap_guard: FlapGuard,
    /// Metric queries run before each evaluation of a covered workload;
    /// the policy reads their results in its snapshot's metrics section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<crate::queries::MetricsSpec>,
    /// What the policy may do beyond a rollback, each `patch:<Kind>:<JSON
    /// pointer>` or `delete:<Kind>`; only grants the policy also declares
    /// take effect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
}

/// An application: the Deployments, StatefulSets and DaemonSets labelled
/// `app.kubernetes.io/part-of` with its name, or those it lists.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSelector {
    /// The application's name (the `app.kubernetes.io/part-of` value).
    pub name: String,
    /// The members instead of the label, member 0 first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<ApplicationMember>,
}

/// One listed member of an application.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
pub struct ApplicationMember {
    /// `Deployment`, `StatefulSet` or `DaemonSet` (of `apps/v1`).
    pub kind: String,
    /// The workload's name, in the RolloutPolicy's namespace.
    pub name: String,
}

/// The workload kinds an application's members may be.
pub const APPLICATION_KINDS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

impl RolloutPolicySpec {
    /// The API version and kind of each workload kind the policy may cover.
    pub fn kinds(&self) -> Vec<(String, String)> {
        match (&self.target, &self.application) {
            (Some(target), _) => vec![(target.api_version.clone(), target.kind.clone())],
            (None, Some(_)) => APPLICATION_KINDS.iter().map(|k| ("apps/v1".to_string(), k.to_string())).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// Why the spec names neither a target nor an application, or both.
    pub fn subject_problem(&self) -> Option<String> {
        match (&self.target, &self.application) {
            (Some(_), Some(_)) => Some("give spec.target or spec.application, not both".into()),
            (None, None) => Some("give spec.target (workloads evaluated alone) or spec.application".into()),
            (None, Some(app)) => {
                app.members.iter().enumerate().find(|(_, m)| !APPLICATION_KINDS.contains(&m.kind.as_str())).map(
                    |(i, m)| format!("spec.application.members[{i}]: {} is not one of {APPLICATION_KINDS:?}", m.kind),
                )
            }
            (Some(_), None) => None,
        }
    }
}

fn default_resync_seconds() -> u64 {
    30
}

fn free_json(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// Which workloads of the RolloutPolicy's namespace it covers: an explicit workload (`name`), or every workload of the kind matching
/// `matchLabels`.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// The workload kind's API version (`apps/v1`, or a custom kind's
    /// `group/version`).
    pub api_version: String,
    /// The workload kind (`Deployment`, `StatefulSet`, `DaemonSet`, or a
    /// custom kind the namespace's bound allows).
    pub kind: String,
    /// One workload by name; give this or `matchLabels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Every workload of the kind whose labels include all of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,
}

/// Where the policy module comes from.
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
    /// A `kubernetes.io/dockerconfigjson` Secret in the RolloutPolicy's
    /// namespace whose credentials the controller sends to the registries
    /// it names (and only to them) when it pulls an oci:// module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<SecretName>,
}

/// A Secret of the RolloutPolicy's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq)]
pub struct SecretName {
    /// The Secret's name.
    pub name: String,
}

/// Whether the controller carries out a policy's actions. A policy left
/// without a mode only records what it would do.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq, Default)]
pub enum Mode {
    Enforce,
    #[default]
    DryRun,
}

/// At most `maxRollbacks` rollbacks per workload per window, whichever
/// stage returned them (manual requests too).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FlapGuard {
    /// Rollbacks allowed per workload within the window (default 3).
    pub max_rollbacks: u32,
    /// The window's length in seconds (default 3600).
    pub window_seconds: u64,
}

impl Default for FlapGuard {
    fn default() -> Self {
        FlapGuard { max_rollbacks: 3, window_seconds: 3600 }
    }
}

/// Conditions and counts only: its size does not grow with the number of
/// workloads (each has its RolloutDecision).
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPolicyStatus {
    /// PolicyReady, Overlap and FlapGuard.
    #[serde(default)]
    pub conditions: Vec<StatusCondition>,
    /// The sha256 of the module serving now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_sha256: Option<String>,
    /// Covered workloads by the state last decided.
    #[serde(default)]
    pub counts: DecisionCounts,
}

/// How many covered workloads were last decided to be in each state.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, JsonSchema, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DecisionCounts {
    /// Covered workloads.
    pub workloads: u32,
    /// Workloads last decided healthy.
    pub healthy: u32,
    /// Workloads last decided to be progressing.
    pub progressing: u32,
    /// Workloads last decided to have failed.
    pub failed: u32,
    /// Workloads whose last evaluation ended in an error.
    pub errors: u32,
    /// Workloads the flap guard holds back.
    pub flap_guard_tripped: u32,
}

/// The last decision about one workload, owned by the RolloutPolicy that
/// made it (it goes when the policy goes).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "rewind.dev",
    version = "v1alpha1",
    kind = "RolloutDecision",
    doc = "What the policy last decided about one covered workload; written by the controller.",
    namespaced,
    shortname = "rdec",
    printcolumn = r#"{"name":"Kind","type":"string","jsonPath":".spec.workload.kind"}"#,
    printcolumn = r#"{"name":"Workload","type":"string","jsonPath":".spec.workload.name"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".spec.state"}"#,
    printcolumn = r#"{"name":"Release","type":"string","jsonPath":".spec.release"}"#,
    printcolumn = r#"{"name":"Findings","type":"string","jsonPath":".spec.findings"}"#,
    printcolumn = r#"{"name":"Policy","type":"string","jsonPath":".spec.policy"}"#,
    printcolumn = r#"{"name":"Decided","type":"date","jsonPath":".spec.time"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RolloutDecisionSpec {
    /// The RolloutPolicy that decided.
    pub policy: String,
    /// The workload decided about.
    pub workload: WorkloadRef,
    #[serde(flatten)]
    pub decision: WorkloadStatus,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRef {
    /// The workload's API version.
    pub api_version: String,
    /// The workload's kind.
    pub kind: String,
    /// The workload's name.
    pub name: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusCondition {
    /// The condition's name.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True` or `False`.
    pub status: String,
    /// Why, in one CamelCase word (see the troubleshooting page).
    pub reason: String,
    /// Why, for a person.
    // Left out when empty: the API server stores an empty string of a
    // merge patch as null, which the schema would refuse.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// When the status last changed, RFC 3339.
    pub last_transition_time: String,
}

impl StatusCondition {
    /// A condition of `kind` that holds (`ok`) or not, as of now.
    pub fn new(kind: &str, ok: bool, reason: &str, message: String) -> StatusCondition {
        StatusCondition {
            kind: kind.into(),
            status: if ok { "True" } else { "False" }.into(),
            reason: reason.into(),
            message,
            last_transition_time: crate::time::format(jiff::Timestamp::now().as_second()),
        }
    }
}

/// The last decision for one covered workload.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    /// The workload's name (an application's, for an application).
    pub name: String,
    /// An application's members as `Kind/name`, member 0 first; empty for
    /// a workload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// When this decision was first made (a decision that holds is not
    /// written again).
    pub time: String,
    /// `healthy`, `progressing` or `failed`; absent when the evaluation
    /// ended in an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The findings' reasons (`ImagePullBackOff`, `MetricFailed`, …).
    #[serde(default)]
    pub findings: Vec<String>,
    /// What the findings say, in their order (at most 8, each cut at 1,000
    /// characters): the pod and container, or the metric, value and threshold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finding_messages: Vec<String>,
    /// Whether the policy found the workload may roll back; absent when
    /// it was not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible: Option<bool>,
    /// Why the policy found the workload may or may not roll back (cut at
    /// 1,000 characters): what stands in the way, and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligibility_reason: Option<String>,
    /// The release the policy selected to return to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Actions executed (Enforce) or planned (DryRun), as `rewind eval` reports them.
    #[serde(default)]
    #[schemars(schema_with = "free_json_list")]
    pub actions: Vec<Value>,
    /// The actions were planned only (mode DryRun).
    #[serde(default)]
    pub dry_run: bool,
    /// What went wrong in the evaluation or in carrying out its actions.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Times of the rollbacks inside the flap-guard window.
    #[serde(default)]
    pub rollbacks: Vec<String>,
    /// The flap guard held a rollback back.
    #[serde(default)]
    pub flap_guard_tripped: bool,
}

fn free_json_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

#[cfg(test)]
mod tests {
    /// However many workloads a policy covers, its status stays small.
    #[test]
    fn the_policy_status_has_no_per_workload_part() {
        let status = super::RolloutPolicyStatus::default();
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json.as_object().unwrap().keys().collect::<Vec<_>>(), ["conditions", "counts"]);
    }
}

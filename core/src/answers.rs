//! What a policy answers, in the host's own types. Every contract version's
//! bindings convert into these at the runtime's edge, so the pipeline, the
//! validator, the reports and the controller never depend on one WIT
//! version.

use crate::objects::ObjectKey;
pub use rewind_snapshot::ConditionStatus;

/// An Event's type, as a policy asks for one and as a validated
/// `emit-event` action carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EventType {
    Normal,
    Warning,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Healthy,
    Progressing,
    Failed,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Progressing => "progressing",
            Health::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// A short machine-readable cause such as `ImagePullBackOff`.
    pub reason: String,
    pub message: String,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub since: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FailureReport {
    pub state: Health,
    pub findings: Vec<Finding>,
    /// Someone asked for a rollback: the next questions are asked even if
    /// the workload is healthy.
    pub manual_request: bool,
    /// Seconds after which the answer could change on its own (a grace
    /// period ending). Contract 0.4.0 on; none from older policies.
    pub recheck_after: Option<u32>,
    pub actions: Vec<PolicyAction>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Eligibility {
    pub eligible: bool,
    pub reason: String,
    pub actions: Vec<PolicyAction>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    /// The release to return to, by its id; none means stay.
    pub release: Option<String>,
    pub reason: String,
    /// A problem reported without failing the evaluation.
    pub error: Option<String>,
    pub actions: Vec<PolicyAction>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subresource {
    Main,
    Status,
}

/// An action as the policy asked for it, before validation.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyAction {
    /// The target takes the pod template of its release with this revision.
    /// `deployment_only` is set for contract 0.3.0's `rollback-deployment`,
    /// which is refused on any other kind.
    Rollback {
        revision: u64,
        deployment_only: bool,
    },
    MergePatch {
        object: ObjectKey,
        subresource: Subresource,
        patch: String,
    },
    DeleteObject(ObjectKey),
    SetAnnotation {
        key: String,
        value: String,
    },
    RemoveAnnotation(String),
    SetCondition {
        kind: String,
        status: ConditionStatus,
        reason: String,
        message: String,
    },
    EmitEvent {
        event_type: EventType,
        reason: String,
        message: String,
    },
    /// Writes back the ConfigMaps recorded for the release with this
    /// revision (contract 0.5.0 on).
    RestoreConfiguration {
        revision: u64,
    },
    /// `action` on member `member` of the application the snapshot holds
    /// (contract 0.5.0 on); never nested.
    ForMember {
        member: u32,
        action: Box<PolicyAction>,
    },
}

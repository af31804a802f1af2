//! Actions a policy asks for: their host-side form, validation against the
//! target's scope, and the pure transformations executors share.

pub mod grants;
mod merge_patch;
pub mod needs;
mod validate;

// Defined in `answers` (what a policy answers); the host and the Wasm
// adapter name it `actions::EventType`.
pub use crate::answers::EventType;
pub use grants::{Grant, Grants};
pub use merge_patch::{apply_merge_patch, json_depth};
pub use validate::{ActionLimits, Scope, ValidationError, is_hidden_control, validate_actions};

/// The reasons of the Events the controller records about its own work
/// (a policy error, the flap guard, a dry run, each action carried out or
/// failed). A policy may not use them: the audit trail names who acted.
pub mod controller_events {
    pub const POLICY_ERROR: &str = "PolicyError";
    pub const FLAP_GUARD: &str = "FlapGuard";
    pub const WOULD_ROLLBACK: &str = "WouldRollback";
    pub const ACTION: &str = "RewindAction";
    pub const ACTION_FAILED: &str = "RewindActionFailed";
    pub const ALL: [&str; 5] = [POLICY_ERROR, FLAP_GUARD, WOULD_ROLLBACK, ACTION, ACTION_FAILED];
}

use crate::answers::ConditionStatus;
use crate::objects::ObjectKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A validated action, as reported in `rewind eval --output json` and
/// executed by an [`crate::executor::Executor`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum Action {
    /// `rollback-deployment` is the name contract 0.3.0 gave it.
    #[serde(alias = "rollback-deployment")]
    Rollback {
        revision: u64,
    },
    MergePatch {
        object: ObjectKey,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subresource: Option<String>,
        patch: Value,
    },
    DeleteObject {
        object: ObjectKey,
    },
    SetAnnotation {
        key: String,
        value: String,
    },
    RemoveAnnotation {
        key: String,
    },
    SetCondition {
        condition: ConditionSpec,
    },
    EmitEvent {
        event_type: EventType,
        reason: String,
        message: String,
    },
    RestoreConfiguration {
        revision: u64,
    },
    /// `action` on a member of the application evaluated, validated against
    /// that member's scope; it runs with the member as its target.
    Member {
        member: ObjectKey,
        action: Box<Action>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

impl Action {
    /// The action's kebab-case name, as in the JSON `type` field.
    pub fn type_name(&self) -> &'static str {
        match self {
            Action::Rollback { .. } => "rollback",
            Action::MergePatch { .. } => "merge-patch",
            Action::DeleteObject { .. } => "delete-object",
            Action::SetAnnotation { .. } => "set-annotation",
            Action::RemoveAnnotation { .. } => "remove-annotation",
            Action::SetCondition { .. } => "set-condition",
            Action::EmitEvent { .. } => "emit-event",
            Action::RestoreConfiguration { .. } => "restore-configuration",
            // Named as the action it carries: a member's rollback is a rollback.
            Action::Member { action, .. } => action.type_name(),
        }
    }

    /// The member the action is on (none: the evaluation's target) and the
    /// action itself.
    pub fn on_member(&self) -> (Option<&ObjectKey>, &Action) {
        match self {
            Action::Member { member, action } => (Some(member), action),
            action => (None, action),
        }
    }
}

pub fn condition_status_text(status: ConditionStatus) -> &'static str {
    match status {
        ConditionStatus::True => "True",
        ConditionStatus::False => "False",
        ConditionStatus::Unknown => "Unknown",
    }
}

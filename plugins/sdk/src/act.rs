//! Building actions.

use crate::{
    Action, ConditionStatus, ConditionUpdate, Event, EventType, MergePatch, ObjectInfo, ObjectKey, Snapshot,
    Subresource,
};
use serde_json::Value;

pub fn event(event_type: EventType, reason: &str, message: impl Into<String>) -> Action {
    Action::EmitEvent(Event { event_type, reason: reason.to_string(), message: message.into() })
}

pub fn warning(reason: &str, message: impl Into<String>) -> Action {
    event(EventType::Warning, reason, message)
}

pub fn normal(reason: &str, message: impl Into<String>) -> Action {
    event(EventType::Normal, reason, message)
}

pub fn remove_annotation(key: &str) -> Action {
    Action::RemoveAnnotation(key.to_string())
}

pub fn set_annotation(key: &str, value: &str) -> Action {
    Action::SetAnnotation((key.to_string(), value.to_string()))
}

/// `kubectl rollout undo --to-revision=<revision>`, for any workload kind
/// the host rolls back.
pub fn rollback(revision: u64) -> Action {
    Action::Rollback(revision)
}

/// Writes back the ConfigMaps of the release with `revision` as the host
/// recorded them ([`Snapshot::configuration`]). Put it before a rollback to
/// the same revision, so the pods the rollback starts find it; alone, it
/// restores the configuration of the release the workload runs. Needs the
/// grant `patch:ConfigMap:/data`.
pub fn restore_configuration(revision: u64) -> Action {
    Action::RestoreConfiguration(revision)
}

pub fn set_condition(kind: &str, status: ConditionStatus, reason: &str, message: impl Into<String>) -> Action {
    Action::SetCondition(ConditionUpdate {
        kind: kind.to_string(),
        status: status.into(),
        reason: reason.to_string(),
        message: message.into(),
    })
}

/// The key of the snapshot's target.
pub fn target_key(snapshot: &Snapshot) -> ObjectKey {
    let t = &snapshot.target;
    ObjectKey {
        api_version: t.api_version.to_string(),
        kind: t.kind.to_string(),
        namespace: Some(t.namespace.to_string()),
        name: t.name.to_string(),
    }
}

/// The key of a tree object (tree objects share the target's namespace).
pub fn object_key(snapshot: &Snapshot, object: &ObjectInfo) -> ObjectKey {
    ObjectKey {
        api_version: object.api_version.to_string(),
        kind: object.kind.to_string(),
        namespace: Some(snapshot.target.namespace.to_string()),
        name: object.name.to_string(),
    }
}

pub fn merge_patch(object: ObjectKey, patch: &Value) -> Action {
    Action::MergePatch(MergePatch { object, subresource: Subresource::Main, patch: patch.to_string() })
}

pub fn status_patch(object: ObjectKey, status: &Value) -> Action {
    Action::MergePatch(MergePatch {
        object,
        subresource: Subresource::Status,
        patch: serde_json::json!({ "status": status }).to_string(),
    })
}

pub fn delete(object: ObjectKey) -> Action {
    Action::DeleteObject(object)
}

/// `action` on member `member` of the snapshot's application (its index in
/// [`Snapshot::application`]), checked against that member's ownership tree
/// as on a workload evaluated alone. None for a member action: they do not
/// nest.
pub fn on_member(member: u32, action: Action) -> Option<Action> {
    use crate::wit::MemberActionKind as K;
    let action = match action {
        Action::Rollback(revision) => K::Rollback(revision),
        Action::MergePatch(patch) => K::MergePatch(patch),
        Action::DeleteObject(object) => K::DeleteObject(object),
        Action::SetAnnotation(pair) => K::SetAnnotation(pair),
        Action::RemoveAnnotation(key) => K::RemoveAnnotation(key),
        Action::SetCondition(condition) => K::SetCondition(condition),
        Action::EmitEvent(event) => K::EmitEvent(event),
        Action::RestoreConfiguration(revision) => K::RestoreConfiguration(revision),
        Action::Member(_) => return None,
    };
    Some(Action::Member(crate::wit::MemberAction { member, action }))
}

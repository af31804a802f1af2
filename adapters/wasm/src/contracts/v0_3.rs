//! `rewind:policy@0.3.0`: Deployments only (`rollback-deployment`), no
//! `recheck-after`, no metrics section in the snapshot. Frozen: it changes
//! only if the core's types do.
//!
//! Its bindings and host interface come from [`super::version_bindings`];
//! the conversion of its answers into the core's types is here, its own:
//! its report has no `recheck-after` and its action no `rollback`.

use rewind_core::actions::EventType;
use rewind_core::answers::{self, ConditionStatus, PolicyAction, Subresource};
use rewind_core::objects::ObjectKey;
use rewind_snapshot::Encoding;

super::version_bindings!("../../wit/0.3.0", Encoding::V0_3);

impl From<types::FailureReport> for answers::FailureReport {
    fn from(report: types::FailureReport) -> Self {
        answers::FailureReport {
            state: report.state.into(),
            // 0.3.0 has no way to ask for a recheck.
            recheck_after: None,
            findings: report.findings.into_iter().map(Into::into).collect(),
            manual_request: report.manual_request,
            actions: actions(report.actions),
        }
    }
}

impl From<types::Eligibility> for answers::Eligibility {
    fn from(e: types::Eligibility) -> Self {
        answers::Eligibility { eligible: e.eligible, reason: e.reason, actions: actions(e.actions) }
    }
}

impl From<types::Selection> for answers::Selection {
    fn from(s: types::Selection) -> Self {
        answers::Selection { release: s.release, reason: s.reason, error: s.error, actions: actions(s.actions) }
    }
}

impl From<types::Health> for answers::Health {
    fn from(health: types::Health) -> Self {
        match health {
            types::Health::Healthy => answers::Health::Healthy,
            types::Health::Progressing => answers::Health::Progressing,
            types::Health::Failed => answers::Health::Failed,
        }
    }
}

impl From<types::Finding> for answers::Finding {
    fn from(f: types::Finding) -> Self {
        answers::Finding { reason: f.reason, message: f.message, pod: f.pod, container: f.container, since: f.since }
    }
}

fn actions(actions: Vec<types::Action>) -> Vec<PolicyAction> {
    actions.into_iter().map(Into::into).collect()
}

impl From<types::Action> for PolicyAction {
    fn from(action: types::Action) -> Self {
        use types::Action as A;
        match action {
            A::RollbackDeployment(revision) => PolicyAction::Rollback { revision, deployment_only: true },
            A::MergePatch(patch) => PolicyAction::MergePatch {
                object: patch.object.into(),
                subresource: patch.subresource.into(),
                patch: patch.patch,
            },
            A::DeleteObject(object) => PolicyAction::DeleteObject(object.into()),
            A::SetAnnotation((key, value)) => PolicyAction::SetAnnotation { key, value },
            A::RemoveAnnotation(key) => PolicyAction::RemoveAnnotation(key),
            A::SetCondition(c) => PolicyAction::SetCondition {
                kind: c.kind,
                status: c.status.into(),
                reason: c.reason,
                message: c.message,
            },
            A::EmitEvent(e) => {
                PolicyAction::EmitEvent { event_type: e.event_type.into(), reason: e.reason, message: e.message }
            }
        }
    }
}

impl From<types::ObjectKey> for ObjectKey {
    fn from(key: types::ObjectKey) -> Self {
        ObjectKey { api_version: key.api_version, kind: key.kind, namespace: key.namespace, name: key.name }
    }
}

impl From<types::Subresource> for Subresource {
    fn from(subresource: types::Subresource) -> Self {
        match subresource {
            types::Subresource::Main => Subresource::Main,
            types::Subresource::Status => Subresource::Status,
        }
    }
}

impl From<types::ConditionStatus> for ConditionStatus {
    fn from(status: types::ConditionStatus) -> Self {
        match status {
            types::ConditionStatus::True => ConditionStatus::True,
            types::ConditionStatus::False => ConditionStatus::False,
            types::ConditionStatus::Unknown => ConditionStatus::Unknown,
        }
    }
}

impl From<types::EventType> for EventType {
    fn from(event_type: types::EventType) -> Self {
        match event_type {
            types::EventType::Normal => EventType::Normal,
            types::EventType::Warning => EventType::Warning,
        }
    }
}

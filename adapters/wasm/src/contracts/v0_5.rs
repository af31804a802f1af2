//! `rewind:policy@0.5.0`: 0.4.0's types, and the snapshot's GitOps section
//! (which is in the snapshot's bytes, not in these types).
//!
//! Everything of the version is here: its bindings, its host interface and
//! the conversion of its answers into the core's types. `v0_4.rs` has the
//! same shape with its own types; the likeness is kept as plain code rather
//! than shared, so that a version whose types differ touches only its file.

use crate::exports::Answers;
use crate::sandbox::Sandbox;
use rewind::policy::{host, types};
use rewind_core::actions::EventType;
use rewind_core::answers::{self, ConditionStatus, PolicyAction, Subresource};
use rewind_core::objects::ObjectKey;
use rewind_snapshot::Encoding;
use wasmtime::component::{HasSelf, Linker};

wasmtime::component::bindgen!({
    path: "../../wit/0.5.0",
    world: "rollback-policy",
    imports: { "rewind:policy/host.log": trappable },
});

pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    RollbackPolicy::add_to_linker::<_, HasSelf<_>>(linker, |sandbox| sandbox)
}

pub struct Version;

impl Answers for Version {
    const ENCODING: Encoding = Encoding::V0_5;
    type Report = types::FailureReport;
    type Eligibility = types::Eligibility;
    type Selection = types::Selection;
}

impl types::Host for Sandbox {}

impl host::Host for Sandbox {
    fn get_object(&mut self, object: u32) -> Option<String> {
        Sandbox::get_object(self, object)
    }

    fn snapshot_json(&mut self) -> String {
        Sandbox::snapshot_json(self)
    }

    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            types::LogLevel::Debug => "debug",
            types::LogLevel::Info => "info",
            types::LogLevel::Warn => "warn",
            types::LogLevel::Error => "error",
        };
        Sandbox::log(self, level, message)
    }
}

impl From<types::FailureReport> for answers::FailureReport {
    fn from(report: types::FailureReport) -> Self {
        answers::FailureReport {
            state: report.state.into(),
            recheck_after: report.recheck_after,
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
            A::Rollback(revision) => PolicyAction::Rollback { revision, deployment_only: false },
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

//! Pods and their containers in the snapshot's typed form. Known reasons and
//! phases become enum cases so the common case carries no strings.

use crate::contract::{
    Condition, ConditionStatus, Container, ContainerRole, ContainerState, Pod, PodPhase, RunningState, TerminatedState,
    WaitingReason, WaitingState,
};
use crate::time::from_jiff;
use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

/// Builds the snapshot view of one pod; `object` is its position in the
/// snapshot's object list. A pod that does not match the Pod schema is an
/// error naming the field serde rejected.
pub fn pod_view(value: &Value, object: u32) -> Result<Pod, String> {
    let pod: core::Pod = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let status = pod.status.unwrap_or_default();
    let spec = pod.spec.unwrap_or_default();

    let init_statuses = status.init_container_statuses.unwrap_or_default();
    let app_statuses = status.container_statuses.unwrap_or_default();
    let mut containers = Vec::new();
    for c in spec.init_containers.unwrap_or_default() {
        let role =
            if c.restart_policy.as_deref() == Some("Always") { ContainerRole::Sidecar } else { ContainerRole::Init };
        containers.push(container_view(&c, role, &init_statuses));
    }
    for c in spec.containers {
        containers.push(container_view(&c, ContainerRole::App, &app_statuses));
    }

    Ok(Pod {
        object,
        phase: phase(status.phase.as_deref()),
        reason: status.reason,
        message: status.message,
        conditions: conditions(value.pointer("/status/conditions")),
        created: pod.metadata.creation_timestamp.as_ref().map(|t| from_jiff(&t.0)),
        started: status.start_time.as_ref().map(|t| from_jiff(&t.0)),
        deleting: pod.metadata.deletion_timestamp.is_some(),
        containers,
    })
}

fn container_view(spec: &core::Container, role: ContainerRole, statuses: &[core::ContainerStatus]) -> Container {
    let status = statuses.iter().find(|s| s.name == spec.name);
    Container {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        role,
        ready: status.is_some_and(|s| s.ready),
        started: status.and_then(|s| s.started),
        restart_count: status.map_or(0, |s| s.restart_count.max(0) as u32),
        state: status.and_then(|s| s.state.as_ref()).map_or(ContainerState::Unknown, state_view),
        last_terminated: status
            .and_then(|s| s.last_state.as_ref())
            .and_then(|s| s.terminated.as_ref())
            .map(terminated_view),
    }
}

fn state_view(state: &core::ContainerState) -> ContainerState {
    if let Some(w) = &state.waiting {
        ContainerState::Waiting(WaitingState {
            reason: waiting_reason(w.reason.as_deref()),
            message: w.message.clone(),
        })
    } else if let Some(t) = &state.terminated {
        ContainerState::Terminated(terminated_view(t))
    } else if let Some(r) = &state.running {
        ContainerState::Running(RunningState { started_at: r.started_at.as_ref().map(|t| from_jiff(&t.0)) })
    } else {
        ContainerState::Unknown
    }
}

fn terminated_view(t: &core::ContainerStateTerminated) -> TerminatedState {
    TerminatedState {
        reason: t.reason.clone(),
        message: t.message.clone(),
        exit_code: t.exit_code,
        started_at: t.started_at.as_ref().map(|t| from_jiff(&t.0)),
        finished_at: t.finished_at.as_ref().map(|t| from_jiff(&t.0)),
    }
}

pub fn waiting_reason(reason: Option<&str>) -> WaitingReason {
    match reason.unwrap_or("") {
        "ContainerCreating" => WaitingReason::ContainerCreating,
        "PodInitializing" => WaitingReason::PodInitializing,
        "ImagePullBackOff" => WaitingReason::ImagePullBackOff,
        "ErrImagePull" => WaitingReason::ErrImagePull,
        "CrashLoopBackOff" => WaitingReason::CrashLoopBackOff,
        "CreateContainerError" => WaitingReason::CreateContainerError,
        "CreateContainerConfigError" => WaitingReason::CreateContainerConfigError,
        "RunContainerError" => WaitingReason::RunContainerError,
        "InvalidImageName" => WaitingReason::InvalidImageName,
        other => WaitingReason::Other(other.to_string()),
    }
}

fn phase(phase: Option<&str>) -> PodPhase {
    match phase {
        Some("Pending") => PodPhase::Pending,
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        _ => PodPhase::Unknown,
    }
}

/// Reads a `status.conditions` array of any kind of object. Entries without
/// a `type` are skipped; unparseable times become none rather than failing
/// the whole snapshot.
pub fn conditions(array: Option<&Value>) -> Vec<Condition> {
    let Some(items) = array.and_then(Value::as_array) else {
        return Vec::new();
    };
    let text = |c: &Value, field: &str| c.get(field).and_then(Value::as_str).map(str::to_string);
    items
        .iter()
        .filter_map(|c| {
            Some(Condition {
                kind: text(c, "type")?,
                status: match c.get("status").and_then(Value::as_str) {
                    Some("True") => ConditionStatus::True,
                    Some("False") => ConditionStatus::False,
                    _ => ConditionStatus::Unknown,
                },
                reason: text(c, "reason"),
                message: text(c, "message"),
                last_transition: c
                    .get("lastTransitionTime")
                    .and_then(Value::as_str)
                    .and_then(|t| crate::time::parse(t).ok()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn init_containers_and_sidecars_come_first_with_their_states() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "creationTimestamp": "2024-11-06T14:30:00Z"},
            "spec": {
                "initContainers": [
                    {"name": "migrate", "image": "m:1"},
                    {"name": "proxy", "image": "p:1", "restartPolicy": "Always"}
                ],
                "containers": [{"name": "app", "image": "a:2"}]
            },
            "status": {
                "phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": "2024-11-06T14:30:05Z"}],
                "initContainerStatuses": [
                    {"name": "migrate", "image": "m:1", "imageID": "", "ready": false, "restartCount": 3,
                     "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                     "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}
                ],
                "containerStatuses": [
                    {"name": "app", "image": "a:2", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"waiting": {"reason": "SomethingNew"}}}
                ]
            }
        });
        let view = pod_view(&pod, 7).unwrap();
        assert_eq!(view.object, 7);
        assert!(matches!(view.phase, PodPhase::Pending));
        let roles: Vec<_> = view.containers.iter().map(|c| c.role).collect();
        assert_eq!(roles, [ContainerRole::Init, ContainerRole::Sidecar, ContainerRole::App]);
        let migrate = &view.containers[0];
        assert_eq!(migrate.restart_count, 3);
        assert!(
            matches!(&migrate.state, ContainerState::Waiting(w) if matches!(w.reason, WaitingReason::CrashLoopBackOff))
        );
        assert_eq!(migrate.last_terminated.as_ref().unwrap().exit_code, 1);
        assert!(matches!(view.containers[1].state, ContainerState::Unknown));
        assert!(
            matches!(&view.containers[2].state, ContainerState::Waiting(w) if matches!(&w.reason, WaitingReason::Other(r) if r == "SomethingNew"))
        );
        assert_eq!(view.conditions[0].last_transition, Some(crate::time::parse("2024-11-06T14:30:05Z").unwrap()));
    }

    #[test]
    fn a_pod_without_status_is_a_pod_with_unknown_phase() {
        let view = pod_view(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}}), 0).unwrap();
        assert!(matches!(view.phase, PodPhase::Unknown));
        assert!(matches!(view.containers[0].state, ContainerState::Unknown));
    }

    #[test]
    fn a_malformed_pod_is_an_error_naming_the_field() {
        let err =
            pod_view(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": 3}}), 0)
                .unwrap_err();
        assert!(err.contains("string"), "{err}");
    }
}

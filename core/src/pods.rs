//! Pods and their containers, and any object's `status.conditions`, in the
//! snapshot's typed form, read from JSON. Known reasons and phases become
//! enum cases so the common case carries no strings. The snapshot builder
//! and the workload kinds (which count Ready pods) both read them.

use crate::objects::at;
use rewind_snapshot::{
    Condition, ConditionStatus, Container, ContainerRole, ContainerState, Pod, PodPhase, RunningState, TerminatedState,
    Text, WaitingReason, WaitingState,
};
use serde_json::Value;

/// Reads a pod straight from its JSON (no typed copy: this runs for every
/// pod of every evaluation). A field of the wrong type is an error naming
/// it; a missing one takes the Kubernetes default.
struct Fields<'a>(&'a Value);

/// `["status", "phase"]` as `/status/phase`, for error messages.
fn shown(path: &[&str]) -> String {
    path.iter().map(|k| format!("/{k}")).collect()
}

impl<'a> Fields<'a> {
    fn text(&self, path: &[&str]) -> Result<Option<&'a str>, String> {
        match at(self.0, path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{} is {other}, not a string", shown(path))),
        }
    }

    fn time(&self, path: &[&str]) -> Result<Option<i64>, String> {
        self.text(path)?.map(|t| crate::time::parse(t).map_err(|e| format!("{}: {e}", shown(path)))).transpose()
    }

    fn flag(&self, path: &[&str]) -> Result<Option<bool>, String> {
        match at(self.0, path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!("{} is {other}, not a boolean", shown(path))),
        }
    }

    fn list(&self, path: &[&str]) -> Result<&'a [Value], String> {
        match at(self.0, path) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(format!("{} is {other}, not a list", shown(path))),
        }
    }

    fn at(&self, path: &[&str]) -> Fields<'a> {
        Fields(at(self.0, path).unwrap_or(&Value::Null))
    }
}

/// Builds the snapshot view of one pod; `object` is its position in the
/// snapshot's object list. A field of the wrong type is an error naming it.
pub fn pod_view(value: &Value, object: u32) -> Result<Pod<'static>, String> {
    let pod = Fields(value);
    let init_statuses = pod.list(&["status", "initContainerStatuses"])?;
    let app_statuses = pod.list(&["status", "containerStatuses"])?;
    let mut containers = Vec::new();
    for (i, spec) in pod.list(&["spec", "initContainers"])?.iter().enumerate() {
        let spec = Fields(spec);
        let role = match spec.text(&["restartPolicy"])? {
            Some("Always") => ContainerRole::Sidecar,
            _ => ContainerRole::Init,
        };
        let at = format!("/spec/initContainers/{i}");
        containers.push(container_view(&spec, role, init_statuses).map_err(|e| format!("{at}{e}"))?);
    }
    for (i, spec) in pod.list(&["spec", "containers"])?.iter().enumerate() {
        let at = format!("/spec/containers/{i}");
        containers
            .push(container_view(&Fields(spec), ContainerRole::App, app_statuses).map_err(|e| format!("{at}{e}"))?);
    }
    Ok(Pod {
        object,
        phase: phase(pod.text(&["status", "phase"])?),
        reason: pod.text(&["status", "reason"])?.map(Text::copied),
        message: pod.text(&["status", "message"])?.map(Text::copied),
        conditions: conditions(at(value, &["status", "conditions"])),
        created: pod.time(&["metadata", "creationTimestamp"])?,
        started: pod.time(&["status", "startTime"])?,
        deleting: pod.text(&["metadata", "deletionTimestamp"])?.is_some(),
        containers,
    })
}

fn container_view(spec: &Fields, role: ContainerRole, statuses: &[Value]) -> Result<Container<'static>, String> {
    let name = spec.text(&["name"])?.unwrap_or_default();
    let status = statuses.iter().find(|s| s.get("name").and_then(Value::as_str) == Some(name)).map(Fields);
    let (ready, started, restart_count, state, last_terminated) = match &status {
        None => (false, None, 0, ContainerState::Unknown, None),
        Some(status) => (
            status.flag(&["ready"])?.unwrap_or(false),
            status.flag(&["started"])?,
            crate::objects::count(status.0.get("restartCount")),
            state_view(&status.at(&["state"]))?,
            match at(status.0, &["lastState", "terminated"]) {
                Some(t) if t.is_object() => Some(terminated_view(&Fields(t))?),
                _ => None,
            },
        ),
    };
    Ok(Container {
        name: Text::copied(name),
        image: Text::copied(spec.text(&["image"])?.unwrap_or_default()),
        role,
        ready,
        started,
        restart_count,
        state,
        last_terminated,
    })
}

fn state_view(state: &Fields) -> Result<ContainerState<'static>, String> {
    let has = |key: &str| state.0.get(key).is_some_and(Value::is_object);
    Ok(if has("waiting") {
        ContainerState::Waiting(WaitingState {
            reason: waiting_reason(state.text(&["waiting", "reason"])?),
            message: state.text(&["waiting", "message"])?.map(Text::copied),
        })
    } else if has("terminated") {
        ContainerState::Terminated(terminated_view(&state.at(&["terminated"]))?)
    } else if has("running") {
        ContainerState::Running(RunningState { started_at: state.time(&["running", "startedAt"])? })
    } else {
        ContainerState::Unknown
    })
}

fn terminated_view(t: &Fields) -> Result<TerminatedState<'static>, String> {
    Ok(TerminatedState {
        reason: t.text(&["reason"])?.map(Text::copied),
        message: t.text(&["message"])?.map(Text::copied),
        exit_code: t.0.get("exitCode").and_then(Value::as_i64).unwrap_or(0).clamp(i32::MIN as i64, i32::MAX as i64)
            as i32,
        started_at: t.time(&["startedAt"])?,
        finished_at: t.time(&["finishedAt"])?,
    })
}

pub fn waiting_reason(reason: Option<&str>) -> WaitingReason<'static> {
    WaitingReason::parse(reason.unwrap_or("")).into_owned()
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
pub fn conditions(array: Option<&Value>) -> Vec<Condition<'static>> {
    let Some(items) = array.and_then(Value::as_array) else {
        return Vec::new();
    };
    let text = |c: &Value, field: &str| c.get(field).and_then(Value::as_str).map(Text::copied);
    items
        .iter()
        .filter_map(|c| {
            Some(Condition {
                kind: text(c, "type")?,
                // A hand-written dump may leave `status: True` unquoted,
                // which YAML reads as a boolean.
                status: match c.get("status") {
                    Some(Value::String(s)) if s == "True" => ConditionStatus::True,
                    Some(Value::String(s)) if s == "False" => ConditionStatus::False,
                    Some(Value::Bool(true)) => ConditionStatus::True,
                    Some(Value::Bool(false)) => ConditionStatus::False,
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
        assert_eq!(err, "/status/phase is 3, not a string");
    }
}

//! The failure table: which pod and container states count as a failing
//! rollout, and since when. Policies apply their own grace period with
//! [`Problem::age`].
//!
//! | state                                                     | reason reported            |
//! |-----------------------------------------------------------|----------------------------|
//! | container waiting: ImagePullBackOff, ErrImagePull,        | the waiting reason         |
//! | CrashLoopBackOff, CreateContainerError,                   |                            |
//! | CreateContainerConfigError, RunContainerError,            |                            |
//! | InvalidImageName (init containers and sidecars included)  |                            |
//! | pod phase Failed                                          | `status.reason` or PodFailed |
//! | pod Pending (not scheduled or not started)                | Unschedulable or Pending   |
//! | pod Running but not Ready                                 | NotReady                   |

use crate::view::condition;
use crate::{ConditionStatus, Container, ContainerState, Pod, PodPhase, Snapshot, WaitingReason};

/// One reason a pod is not serving, and since when it has been so.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub reason: String,
    pub message: String,
    pub container: Option<String>,
    /// Epoch seconds; none when the pod reports no usable time.
    pub since: Option<i64>,
}

impl Problem {
    /// Seconds the problem has lasted at `now` (0 when its start is unknown,
    /// so an undated problem is never taken as old).
    pub fn age(&self, now: i64) -> i64 {
        self.since.map_or(0, |since| (now - since).max(0))
    }

    pub fn finding(&self, pod: &str) -> crate::Finding {
        crate::Finding {
            reason: self.reason.clone(),
            message: self.message.clone(),
            pod: Some(pod.to_string()),
            container: self.container.clone(),
            since: self.since,
        }
    }
}

/// Waiting reasons that mean the container will not start by itself.
pub fn is_failing_wait(reason: &WaitingReason) -> bool {
    matches!(
        reason,
        WaitingReason::ImagePullBackOff
            | WaitingReason::ErrImagePull
            | WaitingReason::CrashLoopBackOff
            | WaitingReason::CreateContainerError
            | WaitingReason::CreateContainerConfigError
            | WaitingReason::RunContainerError
            | WaitingReason::InvalidImageName
    )
}

/// Since when the pod has not been Ready: the Ready condition's last
/// transition when it is False, else the pod's start, else its creation.
pub fn not_ready_since(pod: &Pod) -> Option<i64> {
    condition(&pod.conditions, "Ready")
        .filter(|c| c.status != ConditionStatus::True)
        .and_then(|c| c.last_transition)
        .or(pod.started)
        .or(pod.created)
}

fn container_problem(pod: &Pod, container: &Container) -> Option<Problem> {
    let ContainerState::Waiting(waiting) = &container.state else {
        return None;
    };
    if !is_failing_wait(&waiting.reason) {
        return None;
    }
    let reason = waiting.reason.as_str().to_string();
    let mut message = format!("container {} ({}) is waiting: {reason}", container.name, container.image);
    if let Some(detail) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
        message = format!("{message}: {detail}");
    }
    Some(Problem { reason, message, container: Some(container.name.to_string()), since: not_ready_since(pod) })
}

/// Everything wrong with one pod, most specific first: failing containers;
/// else a failed, pending or not-ready pod. A pod being deleted has none.
pub fn pod_problems(pod: &Pod) -> Vec<Problem> {
    if pod.deleting {
        return Vec::new();
    }
    if pod.phase == PodPhase::Failed {
        let reason = pod.reason.as_deref().unwrap_or("PodFailed").to_string();
        let message = pod.message.as_deref().unwrap_or("the pod failed").to_string();
        return vec![Problem { reason, message, container: None, since: not_ready_since(pod) }];
    }
    let containers: Vec<Problem> = pod.containers.iter().filter_map(|c| container_problem(pod, c)).collect();
    if !containers.is_empty() {
        return containers;
    }
    match pod.phase {
        PodPhase::Pending => {
            let scheduled = condition(&pod.conditions, "PodScheduled");
            let unschedulable = scheduled.filter(|c| c.status == ConditionStatus::False);
            let (reason, message, since) = match unschedulable {
                Some(c) => (
                    c.reason.as_deref().unwrap_or("Unschedulable").to_string(),
                    c.message.as_deref().unwrap_or("the pod cannot be scheduled").to_string(),
                    c.last_transition.or(pod.created),
                ),
                None => ("Pending".to_string(), "the pod has not started".to_string(), pod.created),
            };
            vec![Problem { reason, message, container: None, since }]
        }
        PodPhase::Running => {
            let ready = condition(&pod.conditions, "Ready");
            if ready.is_some_and(|c| c.status == ConditionStatus::True) || ready.is_none() && all_ready(pod) {
                return Vec::new();
            }
            let not_ready: Vec<&str> = pod
                .containers
                .iter()
                .filter(|c| c.role != crate::ContainerRole::Init && !c.ready)
                .map(|c| c.name.as_str())
                .collect();
            vec![Problem {
                reason: "NotReady".into(),
                message: if not_ready.is_empty() {
                    "the pod is running but not Ready".into()
                } else {
                    format!("the pod is running but not Ready (containers not ready: {})", not_ready.join(", "))
                },
                container: (not_ready.len() == 1).then(|| not_ready[0].to_string()),
                since: not_ready_since(pod),
            }]
        }
        _ => Vec::new(),
    }
}

fn all_ready(pod: &Pod) -> bool {
    pod.containers.iter().filter(|c| c.role != crate::ContainerRole::Init).all(|c| c.ready)
}

/// Problems of the given pods split by a grace period: those that have
/// lasted at least `grace_seconds` are failures, the rest still settling.
pub struct Verdict {
    pub failing: Vec<crate::Finding>,
    pub settling: Vec<crate::Finding>,
}

pub fn judge<'s, 'a: 's>(snapshot: &Snapshot, pods: impl Iterator<Item = &'s Pod<'a>>, grace_seconds: i64) -> Verdict {
    let mut verdict = Verdict { failing: Vec::new(), settling: Vec::new() };
    for pod in pods {
        let name = snapshot.pod_name(pod);
        for problem in pod_problems(pod) {
            let age = problem.age(snapshot.now);
            let mut finding = problem.finding(name);
            if age >= grace_seconds {
                verdict.failing.push(finding);
            } else {
                finding.message =
                    format!("{} (for {age} s, within the {grace_seconds} s grace period)", finding.message);
                verdict.settling.push(finding);
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Condition, ContainerRole, WaitingState};

    fn container(
        name: &'static str,
        role: ContainerRole,
        state: ContainerState<'static>,
        ready: bool,
    ) -> Container<'static> {
        Container {
            name: name.into(),
            image: format!("{name}:1").into(),
            role,
            ready,
            started: None,
            restart_count: 0,
            state,
            last_terminated: None,
        }
    }

    fn waiting(reason: WaitingReason<'static>) -> ContainerState<'static> {
        ContainerState::Waiting(WaitingState { reason, message: None })
    }

    fn pod(phase: PodPhase, containers: Vec<Container<'static>>, ready_since: Option<i64>) -> Pod<'static> {
        Pod {
            object: 1,
            phase,
            reason: None,
            message: None,
            conditions: ready_since
                .map(|t| Condition {
                    kind: "Ready".into(),
                    status: ConditionStatus::False,
                    reason: None,
                    message: None,
                    last_transition: Some(t),
                })
                .into_iter()
                .collect(),
            created: Some(0),
            started: Some(5),
            deleting: false,
            containers,
        }
    }

    #[test]
    fn failing_init_containers_and_sidecars_count() {
        let p = pod(
            PodPhase::Pending,
            vec![
                container("migrate", ContainerRole::Init, waiting(WaitingReason::CrashLoopBackOff), false),
                container("proxy", ContainerRole::Sidecar, waiting(WaitingReason::ImagePullBackOff), false),
                container("app", ContainerRole::App, waiting(WaitingReason::PodInitializing), false),
            ],
            Some(10),
        );
        let problems = pod_problems(&p);
        let reasons: Vec<_> = problems.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(reasons, ["CrashLoopBackOff", "ImagePullBackOff"]);
        assert_eq!(problems[0].since, Some(10));
        assert_eq!(problems[0].age(130), 120);
    }

    #[test]
    fn pending_running_not_ready_and_failed_pods() {
        let pending = pod(PodPhase::Pending, vec![], None);
        assert_eq!(pod_problems(&pending)[0].reason, "Pending");
        assert_eq!(pod_problems(&pending)[0].since, Some(0));

        let not_ready = pod(
            PodPhase::Running,
            vec![container("app", ContainerRole::App, ContainerState::Unknown, false)],
            Some(20),
        );
        let problem = &pod_problems(&not_ready)[0];
        assert_eq!((problem.reason.as_str(), problem.since), ("NotReady", Some(20)));

        let mut failed = pod(PodPhase::Failed, vec![], None);
        failed.reason = Some("Evicted".into());
        assert_eq!(pod_problems(&failed)[0].reason, "Evicted");

        let mut deleting = failed.clone();
        deleting.deleting = true;
        assert!(pod_problems(&deleting).is_empty());
    }

    #[test]
    fn healthy_running_pods_have_no_problems() {
        let healthy =
            pod(PodPhase::Running, vec![container("app", ContainerRole::App, ContainerState::Unknown, true)], None);
        assert!(pod_problems(&healthy).is_empty());
    }
}

//! The failure table: which pod and container states count as a failing
//! rollout, and since when. Policies apply their own limits with
//! [`judge_with`] (or [`judge`] for a grace period alone).
//!
//! | state                                                     | reason reported              | limit     |
//! |-----------------------------------------------------------|------------------------------|-----------|
//! | container waiting: ImagePullBackOff, ErrImagePull,        | the waiting reason           | grace     |
//! | ErrImageNeverPull, ImageInspectError, RegistryUnavailable,|                              |           |
//! | InvalidImageName, CrashLoopBackOff, CreateContainerError, |                              |           |
//! | CreateContainerConfigError, RunContainerError,            |                              |           |
//! | PreStartHookError, PostStartHookError (init containers    |                              |           |
//! | and sidecars included)                                    |                              |           |
//! | container terminated, or running again but not ready     | the termination reason:      | grace     |
//! | after a termination in this not-Ready spell               | OOMKilled, Error, StartError, ...|       |
//! | pod phase Failed (or `status.reason` Evicted)             | `status.reason`, else the    | grace     |
//! |                                                           | first container's termination|           |
//! | pod Pending, not scheduled                                | Unschedulable or Pending     | grace     |
//! | pod Pending, scheduled, containers being created          | ContainerCreating or         | creating  |
//! |                                                           | PodInitializing              |           |
//! | pod Running but not Ready                                 | NotReady                     | grace     |
//!
//! Messages name the container, its image, exit code and restart count
//! where the pod reports them.

mod containers;

use crate::view::condition;
use crate::{ConditionStatus, Pod, PodPhase, Snapshot};
pub use containers::{describe_termination, is_failing_wait};

/// How long a pod that is still being set up (image pulls, volumes, init
/// containers) may stay so before it counts as failed, unless the policy
/// says otherwise: pulling a large image takes longer than a crash takes
/// to show.
pub const DEFAULT_CONTAINER_CREATING_SECONDS: i64 = 600;

/// Which of the policy's limits a problem is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// The grace period: the state is a failure once it has lasted this long.
    Grace,
    /// The longer limit for a pod whose containers are still being created.
    Creating,
}

/// One reason a pod is not serving, and since when it has been so.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub reason: String,
    pub message: String,
    pub container: Option<String>,
    /// Epoch seconds; none when the pod reports no usable time.
    pub since: Option<i64>,
    pub patience: Patience,
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

    fn pod_level(reason: &str, message: String, since: Option<i64>, patience: Patience) -> Problem {
        Problem { reason: reason.to_string(), message, container: None, since, patience }
    }
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

/// Everything wrong with one pod, most specific first: a failed pod;
/// failing containers; else a pending or not-ready pod. A pod being
/// deleted has none.
pub fn pod_problems(pod: &Pod) -> Vec<Problem> {
    if pod.deleting {
        return Vec::new();
    }
    if let Some(failed) = failed_pod(pod) {
        return vec![failed];
    }
    let containers = containers::problems(pod);
    if !containers.is_empty() {
        return containers;
    }
    match pod.phase {
        PodPhase::Pending => vec![pending_problem(pod)],
        PodPhase::Running => not_ready_problem(pod).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Whether the pod will not run again: phase Failed, or evicted (some
/// dumps show the eviction only in `status.reason`).
pub fn is_terminal_failure(pod: &Pod) -> bool {
    pod.phase == PodPhase::Failed || pod.reason.as_deref() == Some("Evicted")
}

/// A pod that will not run again. The reason is the pod's own (Evicted,
/// DeadlineExceeded, ...) or else why its first container ended.
fn failed_pod(pod: &Pod) -> Option<Problem> {
    if !is_terminal_failure(pod) {
        return None;
    }
    let since = not_ready_since(pod);
    let detail = pod.message.as_deref().filter(|m| !m.is_empty());
    if let Some(reason) = pod.reason.as_deref().filter(|r| !r.is_empty()) {
        let message = detail.map_or_else(|| format!("the pod failed: {reason}"), str::to_string);
        return Some(Problem::pod_level(reason, message, since, Patience::Grace));
    }
    if let Some((container, terminated)) = containers::first_failed_termination(pod) {
        let message = format!("the pod failed: {}", describe_termination(container, terminated));
        return Some(Problem {
            reason: containers::termination_reason(terminated).to_string(),
            message,
            container: Some(container.name.to_string()),
            since: terminated.finished_at.or(since),
            patience: Patience::Grace,
        });
    }
    let message = detail.map_or_else(|| "the pod failed".to_string(), str::to_string);
    Some(Problem::pod_level("PodFailed", message, since, Patience::Grace))
}

/// A pending pod: not scheduled (held to the grace period), or scheduled
/// and still creating its containers (held to the creating limit).
fn pending_problem(pod: &Pod) -> Problem {
    let scheduled = condition(&pod.conditions, "PodScheduled");
    if let Some(c) = scheduled.filter(|c| c.status == ConditionStatus::False) {
        return Problem::pod_level(
            c.reason.as_deref().unwrap_or("Unschedulable"),
            c.message.as_deref().unwrap_or("the pod cannot be scheduled").to_string(),
            c.last_transition.or(pod.created),
            Patience::Grace,
        );
    }
    // A kubelet creating containers is proof enough that the pod was bound,
    // for dumps that lost the PodScheduled condition.
    let scheduled = scheduled.filter(|c| c.status == ConditionStatus::True);
    if scheduled.is_none() && !containers::being_created(pod) {
        return Problem::pod_level("Pending", "the pod has not started".into(), pod.created, Patience::Grace);
    }
    let (reason, waiting) = containers::still_creating(pod);
    let message = match waiting.as_slice() {
        [] => "the pod is scheduled but its containers have not started".to_string(),
        names => format!("the pod is scheduled; containers still being set up: {}", names.join(", ")),
    };
    let since = scheduled.and_then(|c| c.last_transition).or(pod.started).or(pod.created);
    Problem::pod_level(reason, message, since, Patience::Creating)
}

/// Whether the pod is Ready: its Ready condition says so, or, for a dump
/// that lost its conditions, every regular container is ready.
pub fn is_ready(pod: &Pod) -> bool {
    match condition(&pod.conditions, "Ready") {
        Some(ready) => ready.status == ConditionStatus::True,
        None => containers::all_ready(pod),
    }
}

fn not_ready_problem(pod: &Pod) -> Option<Problem> {
    if is_ready(pod) {
        return None;
    }
    // The kubelet's reason (`ContainersNotReady`, `ReadinessGatesNotReady`)
    // is what `kubectl get pod -o yaml` shows people; findings carry it.
    let ready = condition(&pod.conditions, "Ready");
    let reason = ready.and_then(|c| c.reason.as_deref()).filter(|r| is_reason(r)).unwrap_or("NotReady");
    let not_ready = containers::not_ready_names(pod);
    Some(Problem {
        reason: reason.into(),
        message: {
            let named = (reason != "NotReady").then(|| reason.to_string());
            let containers = (!not_ready.is_empty()).then(|| format!("containers not ready: {}", not_ready.join(", ")));
            match [named, containers].into_iter().flatten().collect::<Vec<_>>().join("; ") {
                details if details.is_empty() => "the pod is running but not Ready".into(),
                details => format!("the pod is running but not Ready ({details})"),
            }
        },
        container: (not_ready.len() == 1).then(|| not_ready[0].to_string()),
        since: not_ready_since(pod),
        patience: Patience::Grace,
    })
}

/// Whether `text` has the shape of a Kubernetes reason (a short CamelCase
/// word), so whatever else an object's author wrote there is not passed on
/// as one.
pub fn is_reason(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The limits a policy holds problems to, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub grace_seconds: i64,
    pub container_creating_seconds: i64,
}

impl Limits {
    /// A grace period, with the default creating limit (never shorter than
    /// the grace period).
    pub fn grace(grace_seconds: i64) -> Limits {
        Limits { grace_seconds, container_creating_seconds: DEFAULT_CONTAINER_CREATING_SECONDS.max(grace_seconds) }
    }

    fn of(&self, patience: Patience) -> i64 {
        match patience {
            Patience::Grace => self.grace_seconds,
            Patience::Creating => self.container_creating_seconds,
        }
    }
}

/// Problems of the given pods split by the policy's limits: those that have
/// lasted at least their limit are failures, the rest still settling.
pub struct Verdict {
    pub failing: Vec<crate::Finding>,
    pub settling: Vec<crate::Finding>,
    /// Seconds until the first settling problem of known age reaches its
    /// limit: when the verdict could change with nothing else changing.
    pub recheck_after: Option<u32>,
}

/// [`judge_with`] a grace period and the default creating limit.
pub fn judge<'s, 'a: 's>(snapshot: &Snapshot, pods: impl Iterator<Item = &'s Pod<'a>>, grace_seconds: i64) -> Verdict {
    judge_with(snapshot, pods, Limits::grace(grace_seconds))
}

pub fn judge_with<'s, 'a: 's>(snapshot: &Snapshot, pods: impl Iterator<Item = &'s Pod<'a>>, limits: Limits) -> Verdict {
    let mut verdict = Verdict { failing: Vec::new(), settling: Vec::new(), recheck_after: None };
    for pod in pods {
        let name = snapshot.pod_name(pod);
        for problem in pod_problems(pod) {
            let age = problem.age(snapshot.now);
            let limit = limits.of(problem.patience);
            let mut finding = problem.finding(name);
            if age >= limit {
                verdict.failing.push(finding);
            } else {
                let what = match problem.patience {
                    Patience::Grace => "grace period",
                    Patience::Creating => "container-creating limit",
                };
                finding.message = match problem.since {
                    Some(_) => format!("{} (for {age} s, within the {limit} s {what})", finding.message),
                    None => format!("{} (since when is unknown: the pod reports no time)", finding.message),
                };
                verdict.settling.push(finding);
                if problem.since.is_some() {
                    let left = u32::try_from(limit - age).unwrap_or(u32::MAX);
                    verdict.recheck_after = Some(verdict.recheck_after.map_or(left, |r| r.min(left)));
                }
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests;

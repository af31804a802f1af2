//! What each container of a pod says: failing waits, terminations, and
//! containers still being set up.

use super::{Patience, Problem, not_ready_since};
use crate::{Container, ContainerRole, ContainerState, Pod, TerminatedState, WaitingReason};

/// Waiting reasons without a case of their own in the snapshot (contract
/// 0.3.0 fixed the cases) that also mean the container will not start by
/// itself: the image cannot be had, or a lifecycle hook failed.
const FAILING_WAITS_BY_NAME: [&str; 5] =
    ["ErrImageNeverPull", "ImageInspectError", "RegistryUnavailable", "PreStartHookError", "PostStartHookError"];

/// Waiting reasons that mean the container will not start by itself.
pub fn is_failing_wait(reason: &WaitingReason) -> bool {
    match reason {
        WaitingReason::ImagePullBackOff
        | WaitingReason::ErrImagePull
        | WaitingReason::CrashLoopBackOff
        | WaitingReason::CreateContainerError
        | WaitingReason::CreateContainerConfigError
        | WaitingReason::RunContainerError
        | WaitingReason::InvalidImageName => true,
        WaitingReason::Other(text) => FAILING_WAITS_BY_NAME.contains(&text.as_str()),
        WaitingReason::ContainerCreating | WaitingReason::PodInitializing => false,
    }
}

/// Why a container ended, as Kubernetes names it: its reason, or `Error`
/// for a non-zero exit without one.
pub fn termination_reason<'t>(terminated: &'t TerminatedState) -> &'t str {
    match terminated.reason.as_deref().filter(|r| !r.is_empty()) {
        Some(reason) => reason,
        None if terminated.exit_code != 0 => "Error",
        None => "Completed",
    }
}

/// "container app (web:2) terminated: OOMKilled, exit code 137, restarted 4 times".
pub fn describe_termination(container: &Container, terminated: &TerminatedState) -> String {
    let mut text = format!(
        "container {} ({}) terminated: {}, exit code {}",
        container.name,
        container.image,
        termination_reason(terminated),
        terminated.exit_code
    );
    if let Some(detail) = terminated.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        text = format!("{text} ({})", crate::view::shorten(detail, 200));
    }
    restarts(&mut text, container);
    text
}

fn restarts(text: &mut String, container: &Container) {
    match container.restart_count {
        0 => {}
        1 => text.push_str(", restarted once"),
        n => text.push_str(&format!(", restarted {n} times")),
    }
}

/// Whether a termination reason says more than that the container exited
/// (`Error`, `Completed`): `OOMKilled`, `StartError`, `ContainerCannotRun` ...
fn is_specific(terminated: &TerminatedState) -> bool {
    !matches!(termination_reason(terminated), "Error" | "Completed" | "Unknown")
}

/// A termination that counts as a failure: anything but an init container
/// (or a job-like container) that completed with exit code 0.
fn failed(terminated: &TerminatedState) -> bool {
    termination_reason(terminated) != "Completed" || terminated.exit_code != 0
}

/// The first container (init containers first) whose current or last state
/// is a failed termination: why a Failed pod failed.
pub fn first_failed_termination<'p, 'a>(pod: &'p Pod<'a>) -> Option<(&'p Container<'a>, &'p TerminatedState<'a>)> {
    pod.containers.iter().find_map(|c| match &c.state {
        ContainerState::Terminated(t) if failed(t) => Some((c, t)),
        _ => c.last_terminated.as_ref().filter(|t| failed(t)).map(|t| (c, t)),
    })
}

/// Failing containers of a pod that has not failed as a whole.
pub fn problems(pod: &Pod) -> Vec<Problem> {
    pod.containers.iter().filter_map(|c| container_problem(pod, c)).collect()
}

fn container_problem(pod: &Pod, container: &Container) -> Option<Problem> {
    // Since when is looked up only for a container with a problem: most
    // containers of most pods have none.
    let problem = |reason: &str, message: String| Problem {
        reason: reason.to_string(),
        message,
        container: Some(container.name.to_string()),
        since: not_ready_since(pod),
        patience: Patience::Grace,
    };
    match &container.state {
        ContainerState::Waiting(waiting) if is_failing_wait(&waiting.reason) => {
            let waiting_reason = waiting.reason.as_str();
            let mut message =
                format!("container {} ({}) is waiting: {waiting_reason}", container.name, container.image);
            if let Some(detail) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
                message = format!("{message}: {}", crate::view::shorten(detail, 300));
            }
            let last = container.last_terminated.as_ref().filter(|t| failed(t));
            if let Some(last) = last {
                message.push_str(&format!(
                    "; last terminated: {}, exit code {}",
                    termination_reason(last),
                    last.exit_code
                ));
            }
            restarts(&mut message, container);
            // A crash loop says that the container keeps ending; a specific
            // termination reason (OOMKilled, StartError ...) says why.
            let reason = match last {
                Some(last) if waiting.reason == WaitingReason::CrashLoopBackOff && is_specific(last) => {
                    termination_reason(last)
                }
                _ => waiting_reason,
            };
            Some(problem(reason, message))
        }
        // Between restarts: the container has ended and will be started
        // again (an init container that completed is done, not failing).
        ContainerState::Terminated(terminated) if failed(terminated) => {
            Some(problem(termination_reason(terminated), describe_termination(container, terminated)))
        }
        // Started again after a crash, not Ready yet: the crash is why, if
        // the restart came in this not-Ready spell (an old restart is not).
        // The kubelet marks the pod not Ready a moment after the crash, so
        // the restart, not the crash, is compared with that time.
        ContainerState::Running(running) if !container.ready => {
            let last = container.last_terminated.as_ref().filter(|t| failed(t))?;
            let recent = match (running.started_at.or(last.finished_at), not_ready_since(pod)) {
                (Some(restarted), Some(since)) => restarted >= since,
                _ => container.restart_count > 0,
            };
            recent.then(|| problem(termination_reason(last), describe_termination(container, last)))
        }
        _ => None,
    }
}

/// The reason a scheduled pending pod gives for not running yet
/// (ContainerCreating, PodInitializing) and the containers still waiting.
pub fn still_creating(pod: &Pod) -> (&'static str, Vec<String>) {
    let mut reason = "ContainerCreating";
    let mut waiting = Vec::new();
    for container in &pod.containers {
        match &container.state {
            ContainerState::Waiting(w) if w.reason == WaitingReason::ContainerCreating => {
                waiting.push(container.name.to_string())
            }
            ContainerState::Waiting(w) if w.reason == WaitingReason::PodInitializing => {
                reason = "PodInitializing";
                waiting.push(container.name.to_string())
            }
            ContainerState::Unknown => waiting.push(container.name.to_string()),
            _ => {}
        }
    }
    if pod.containers.iter().any(|c| c.role == ContainerRole::Init && matches!(c.state, ContainerState::Running(_))) {
        reason = "PodInitializing";
    }
    (reason, waiting)
}

/// Whether a kubelet reports a container as being created or initialised.
pub fn being_created(pod: &Pod) -> bool {
    pod.containers.iter().any(|c| {
        matches!(&c.state, ContainerState::Waiting(w)
            if matches!(w.reason, WaitingReason::ContainerCreating | WaitingReason::PodInitializing))
    })
}

pub fn all_ready(pod: &Pod) -> bool {
    pod.containers.iter().filter(|c| c.role != ContainerRole::Init).all(|c| c.ready)
}

pub fn not_ready_names<'p>(pod: &'p Pod) -> Vec<&'p str> {
    pod.containers.iter().filter(|c| c.role != ContainerRole::Init && !c.ready).map(|c| c.name.as_str()).collect()
}

//! The host's snapshot as the guest SDK's types, so the Deployment policy
//! compiled natively runs on exactly the snapshot its component gets.
//! Conversion happens once, outside the timed region.

use rewind::contract as h;
use rewind_sdk as g;

fn labels(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs.to_vec()
}

fn status(s: h::ConditionStatus) -> g::ConditionStatus {
    match s {
        h::ConditionStatus::True => g::ConditionStatus::True,
        h::ConditionStatus::False => g::ConditionStatus::False,
        h::ConditionStatus::Unknown => g::ConditionStatus::Unknown,
    }
}

fn condition(c: &h::Condition) -> g::Condition {
    g::Condition {
        kind: c.kind.clone(),
        status: status(c.status),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_transition: c.last_transition,
    }
}

fn terminated(t: &h::TerminatedState) -> g::TerminatedState {
    g::TerminatedState {
        reason: t.reason.clone(),
        message: t.message.clone(),
        exit_code: t.exit_code,
        started_at: t.started_at,
        finished_at: t.finished_at,
    }
}

fn waiting_reason(r: &h::WaitingReason) -> g::WaitingReason {
    use g::WaitingReason as G;
    use h::WaitingReason as H;
    match r {
        H::ContainerCreating => G::ContainerCreating,
        H::PodInitializing => G::PodInitializing,
        H::ImagePullBackOff => G::ImagePullBackOff,
        H::ErrImagePull => G::ErrImagePull,
        H::CrashLoopBackOff => G::CrashLoopBackOff,
        H::CreateContainerError => G::CreateContainerError,
        H::CreateContainerConfigError => G::CreateContainerConfigError,
        H::RunContainerError => G::RunContainerError,
        H::InvalidImageName => G::InvalidImageName,
        H::Other(s) => G::Other(s.clone()),
    }
}

fn container(c: &h::Container) -> g::Container {
    g::Container {
        name: c.name.clone(),
        image: c.image.clone(),
        role: match c.role {
            h::ContainerRole::App => g::ContainerRole::App,
            h::ContainerRole::Init => g::ContainerRole::Init,
            h::ContainerRole::Sidecar => g::ContainerRole::Sidecar,
        },
        ready: c.ready,
        started: c.started,
        restart_count: c.restart_count,
        state: match &c.state {
            h::ContainerState::Waiting(w) => g::ContainerState::Waiting(g::WaitingState {
                reason: waiting_reason(&w.reason),
                message: w.message.clone(),
            }),
            h::ContainerState::Running(r) => g::ContainerState::Running(g::RunningState { started_at: r.started_at }),
            h::ContainerState::Terminated(t) => g::ContainerState::Terminated(terminated(t)),
            h::ContainerState::Unknown => g::ContainerState::Unknown,
        },
        last_terminated: c.last_terminated.as_ref().map(terminated),
    }
}

fn pod(p: &h::Pod) -> g::Pod {
    g::Pod {
        object: p.object,
        phase: match p.phase {
            h::PodPhase::Pending => g::PodPhase::Pending,
            h::PodPhase::Running => g::PodPhase::Running,
            h::PodPhase::Succeeded => g::PodPhase::Succeeded,
            h::PodPhase::Failed => g::PodPhase::Failed,
            h::PodPhase::Unknown => g::PodPhase::Unknown,
        },
        reason: p.reason.clone(),
        message: p.message.clone(),
        conditions: p.conditions.iter().map(condition).collect(),
        created: p.created,
        started: p.started,
        deleting: p.deleting,
        containers: p.containers.iter().map(container).collect(),
    }
}

pub fn snapshot(s: &h::Snapshot) -> g::Snapshot {
    let t = &s.target;
    g::Snapshot {
        now: s.now,
        target: g::Target {
            api_version: t.api_version.clone(),
            kind: t.kind.clone(),
            namespace: t.namespace.clone(),
            name: t.name.clone(),
            uid: t.uid.clone(),
            generation: t.generation,
            observed_generation: t.observed_generation,
            labels: labels(&t.labels),
            annotations: labels(&t.annotations),
            conditions: t.conditions.iter().map(condition).collect(),
            paused: t.paused,
            desired_replicas: t.desired_replicas,
            ready_replicas: t.ready_replicas,
            updated_replicas: t.updated_replicas,
            available_replicas: t.available_replicas,
        },
        releases: s
            .releases
            .iter()
            .map(|r| g::Release {
                id: r.id.clone(),
                revision: r.revision,
                object: r.object,
                pod_template_hash: r.pod_template_hash.clone(),
                images: r.images.clone(),
                created: r.created,
                replicas: r.replicas,
                ready_replicas: r.ready_replicas,
                current: r.current,
            })
            .collect(),
        objects: s
            .objects
            .iter()
            .map(|o| g::ObjectInfo {
                api_version: o.api_version.clone(),
                kind: o.kind.clone(),
                name: o.name.clone(),
                uid: o.uid.clone(),
                labels: labels(&o.labels),
                annotations: labels(&o.annotations),
                owner: o.owner,
            })
            .collect(),
        pods: s.pods.iter().map(pod).collect(),
        settings: s.settings.clone(),
    }
}

/// The three stages of the Deployment policy, natively, through the same
/// SDK entry points the component's exports use.
pub fn decide(snapshot: &g::Snapshot) -> Option<String> {
    use deployment::DeploymentPolicy as P;
    use rewind_sdk::run;
    let report = run::detect_failure::<P>(snapshot).expect("native detect-failure");
    if report.state != g::Health::Failed && !report.manual_request {
        return None;
    }
    let eligibility = run::check_eligibility::<P>(snapshot, &report).expect("native check-eligibility");
    if !eligibility.eligible {
        return None;
    }
    run::select_release::<P>(snapshot, &report).expect("native select-release").release
}

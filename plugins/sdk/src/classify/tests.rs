use super::*;
use crate::{Condition, Container, ContainerRole, ContainerState, WaitingReason, WaitingState};

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

/// A pending pod whose one app container waits with `reason`.
fn pending_app_waiting(reason: WaitingReason<'static>, ready_since: Option<i64>) -> Pod<'static> {
    pod(PodPhase::Pending, vec![container("app", ContainerRole::App, waiting(reason), false)], ready_since)
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

    let not_ready =
        pod(PodPhase::Running, vec![container("app", ContainerRole::App, ContainerState::Unknown, false)], Some(20));
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

fn terminated(
    reason: Option<&'static str>,
    exit_code: i32,
    finished_at: Option<i64>,
) -> crate::TerminatedState<'static> {
    crate::TerminatedState { reason: reason.map(Into::into), message: None, exit_code, started_at: None, finished_at }
}

#[test]
fn a_failed_pod_says_why_its_container_ended() {
    let mut app = container(
        "app",
        ContainerRole::App,
        ContainerState::Terminated(terminated(Some("OOMKilled"), 137, Some(40))),
        false,
    );
    app.restart_count = 0;
    let failed = pod(PodPhase::Failed, vec![app], Some(30));
    let problem = &pod_problems(&failed)[0];
    assert_eq!(problem.reason, "OOMKilled");
    assert_eq!(problem.container.as_deref(), Some("app"));
    assert!(problem.message.contains("exit code 137"), "{}", problem.message);

    let exited = pod(
        PodPhase::Failed,
        vec![container("app", ContainerRole::App, ContainerState::Terminated(terminated(None, 2, None)), false)],
        Some(30),
    );
    assert_eq!(pod_problems(&exited)[0].reason, "Error");
    assert!(pod_problems(&exited)[0].message.contains("exit code 2"));

    // The pod's own reason is more specific than its containers'.
    let mut deadline = exited.clone();
    deadline.reason = Some("DeadlineExceeded".into());
    assert_eq!(pod_problems(&deadline)[0].reason, "DeadlineExceeded");
}

#[test]
fn an_eviction_shown_only_in_the_pod_reason_is_a_failure() {
    let mut evicted = pod(PodPhase::Unknown, vec![], None);
    evicted.reason = Some("Evicted".into());
    evicted.message = Some("The node was low on resource: memory.".into());
    let problem = &pod_problems(&evicted)[0];
    assert_eq!(problem.reason, "Evicted");
    assert_eq!(problem.message, "The node was low on resource: memory.");
}

#[test]
fn a_container_crashing_between_restarts_reports_its_last_termination() {
    let mut app = container(
        "app",
        ContainerRole::App,
        ContainerState::Running(crate::RunningState { started_at: Some(50) }),
        false,
    );
    app.restart_count = 4;
    app.last_terminated = Some(terminated(Some("OOMKilled"), 137, Some(45)));
    let crashing = pod(PodPhase::Running, vec![app.clone()], Some(20));
    let problem = &pod_problems(&crashing)[0];
    assert_eq!(problem.reason, "OOMKilled");
    assert!(problem.message.contains("restarted 4 times") && problem.message.contains("137"), "{}", problem.message);

    // The kubelet turns Ready False a moment after the crash: still why.
    app.last_terminated = Some(terminated(Some("OOMKilled"), 137, Some(19)));
    assert_eq!(pod_problems(&pod(PodPhase::Running, vec![app.clone()], Some(20)))[0].reason, "OOMKilled");
    // A restart from before this not-Ready spell is not why it is not Ready.
    app.last_terminated = Some(terminated(Some("OOMKilled"), 137, Some(10)));
    app.state = ContainerState::Running(crate::RunningState { started_at: Some(12) });
    let old_restart = pod(PodPhase::Running, vec![app], Some(20));
    assert_eq!(pod_problems(&old_restart)[0].reason, "NotReady");
}

#[test]
fn a_crash_loop_names_the_last_exit_and_takes_a_specific_termination_reason() {
    let mut app = container("app", ContainerRole::App, waiting(WaitingReason::CrashLoopBackOff), false);
    app.restart_count = 7;
    app.last_terminated = Some(terminated(Some("Error"), 1, Some(45)));
    let problem = &pod_problems(&pod(PodPhase::Running, vec![app.clone()], Some(20)))[0];
    assert_eq!(problem.reason, "CrashLoopBackOff");
    // A termination reason more specific than an exit is the finding's reason.
    app.last_terminated = Some(terminated(Some("OOMKilled"), 1, Some(45)));
    let oom = &pod_problems(&pod(PodPhase::Running, vec![app], Some(20)))[0];
    assert_eq!(oom.reason, "OOMKilled");
    assert!(oom.message.contains("is waiting: CrashLoopBackOff"), "{}", oom.message);
    assert!(
        problem.message.contains("exit code 1") && problem.message.contains("restarted 7 times"),
        "{}",
        problem.message
    );
}

#[test]
fn waiting_reasons_outside_the_snapshot_cases_still_fail() {
    for reason in
        ["ErrImageNeverPull", "ImageInspectError", "RegistryUnavailable", "PreStartHookError", "PostStartHookError"]
    {
        let p = pending_app_waiting(WaitingReason::Other(reason.into()), Some(10));
        assert_eq!(pod_problems(&p)[0].reason, reason);
    }
    let unknown = pending_app_waiting(WaitingReason::Other("SomethingNew".into()), Some(10));
    assert_eq!(pod_problems(&unknown)[0].reason, "Pending");
}

#[test]
fn a_scheduled_pod_creating_containers_has_the_longer_limit() {
    let mut creating = pending_app_waiting(WaitingReason::ContainerCreating, None);
    creating.conditions.push(Condition {
        kind: "PodScheduled".into(),
        status: ConditionStatus::True,
        reason: None,
        message: None,
        last_transition: Some(100),
    });
    let problem = &pod_problems(&creating)[0];
    assert_eq!(
        (problem.reason.as_str(), problem.patience, problem.since),
        ("ContainerCreating", Patience::Creating, Some(100))
    );

    let limits = Limits { grace_seconds: 120, container_creating_seconds: 600 };
    let at = |now| {
        let snapshot = crate::Snapshot { now, ..Default::default() };
        judge_with(&snapshot, std::iter::once(&creating), limits)
    };
    assert!(at(400).failing.is_empty() && at(400).settling[0].message.contains("container-creating limit"));
    assert_eq!(at(400).recheck_after, Some(300), "the limit ends 600 s after 100");
    assert_eq!(at(700).failing[0].reason, "ContainerCreating");
    assert_eq!(at(700).recheck_after, None);
}

#[test]
fn an_undated_problem_says_its_time_is_unknown() {
    let mut undated = pending_app_waiting(WaitingReason::ImagePullBackOff, None);
    undated.created = None;
    undated.started = None;
    let verdict = judge(&crate::Snapshot { now: 10_000, ..Default::default() }, std::iter::once(&undated), 120);
    assert!(verdict.failing.is_empty());
    assert!(verdict.settling[0].message.contains("unknown"), "{}", verdict.settling[0].message);
    assert_eq!(verdict.recheck_after, None, "an undated problem never reaches its limit");
}

#[test]
fn a_pod_creating_containers_without_a_scheduled_condition_is_still_creating() {
    let mut creating = pending_app_waiting(WaitingReason::ContainerCreating, None);
    creating.conditions.clear();
    let problem = &pod_problems(&creating)[0];
    assert_eq!((problem.reason.as_str(), problem.patience), ("ContainerCreating", Patience::Creating));
    let unscheduled =
        pod(PodPhase::Pending, vec![container("app", ContainerRole::App, ContainerState::Unknown, false)], None);
    assert_eq!(pod_problems(&unscheduled)[0].patience, Patience::Grace);
}

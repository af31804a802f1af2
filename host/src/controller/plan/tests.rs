use super::*;
use crate::answers::{Eligibility, FailureReport, Health, Selection};
use crate::pipeline::Decision;
use crate::report::{ActionOut, EligibilityOut, EvalReport, FailureOut, PolicyOut, SelectionOut, TargetOut};

const NOW: i64 = 1_730_903_640;

/// An evaluation that decided `state` and chose `release`, with its report.
fn evaluation(state: Health, manual: bool, release: Option<&str>, actions: Vec<Action>) -> Evaluation {
    let failure =
        FailureReport { state, findings: vec![], manual_request: manual, recheck_after: None, actions: vec![] };
    let eligibility = Eligibility { eligible: release.is_some(), reason: String::new(), actions: vec![] };
    let selection =
        release.map(|r| Selection { release: Some(r.into()), reason: String::new(), error: None, actions: vec![] });
    let report = EvalReport {
        target: TargetOut {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "web".into(),
        },
        application: None,
        now: crate::time::format(NOW),
        policy: PolicyOut { path: "p.wasm".into(), sha256: "0".repeat(64), wit: "rewind:policy@0.4.0".into() },
        failure: Some(FailureOut::from_report(&failure)),
        eligibility: Some(EligibilityOut { eligible: eligibility.eligible, reason: String::new() }),
        selection: release.map(|r| SelectionOut { release: Some(r.into()), reason: String::new() }),
        actions: actions.iter().map(|action| ActionOut { action: action.clone(), outcome: None }).collect(),
        errors: vec![],
        warnings: vec![],
        logs: vec![],
        objects: None,
        limits: None,
        grants: Default::default(),
    };
    let decision = Decision { failure, eligibility: Some(eligibility), selection };
    Evaluation { report, fatal: false, decision: Some(decision), actions }
}

fn rollback() -> Evaluation {
    evaluation(Health::Failed, false, Some("2"), vec![Action::Rollback { revision: 2 }])
}

fn previous(rollbacks_ago: &[i64]) -> WorkloadStatus {
    WorkloadStatus {
        rollbacks: rollbacks_ago.iter().map(|s| crate::time::format(NOW - s)).collect(),
        ..Default::default()
    }
}

#[test]
fn enforce_executes_and_records_the_rollback() {
    let plan = plan("web", &rollback(), Mode::Enforce, &FlapGuard::default(), None, NOW);
    assert_eq!(plan.execute, [Action::Rollback { revision: 2 }]);
    assert_eq!(plan.status.rollbacks, [crate::time::format(NOW)]);
    assert_eq!(plan.status.release.as_deref(), Some("2"));
    assert!(plan.event.is_none());
}

#[test]
fn enforce_executes_and_records_the_rollback_only_once_carried_out() {
    let plan = plan("web", &rollback(), Mode::Enforce, &FlapGuard::default(), None, NOW);
    assert!(plan.counts_rollback);
    let applied = Outcome::Applied("rolled back".into());
    let skipped = Outcome::Skipped("already restored".into());
    let event =
        Action::EmitEvent { event_type: EventType::Normal, reason: "RollingBack".into(), message: String::new() };
    let actions = [event, Action::Rollback { revision: 2 }];
    assert!(rollback_carried_out(&actions, &[applied.clone(), applied.clone()]));
    assert!(!rollback_carried_out(&actions, &[applied.clone(), skipped.clone()]), "a skipped rollback changed nothing");
    assert!(!rollback_carried_out(&actions, std::slice::from_ref(&applied)), "stopped before the rollback");
    assert!(!rollback_carried_out(&actions[..1], std::slice::from_ref(&applied)), "only an event");
    // A custom resource rolled back by a patch: counted once the patch took effect.
    let object = crate::objects::ObjectKey {
        api_version: "example.io/v1".into(),
        kind: "Cluster".into(),
        namespace: Some("shop".into()),
        name: "c".into(),
    };
    let patch = Action::MergePatch { object, subresource: None, patch: serde_json::json!({"spec": {"version": "1"}}) };
    let by_patch = [actions[0].clone(), patch];
    assert!(rollback_carried_out(&by_patch, &[applied.clone(), applied.clone()]));
    assert!(!rollback_carried_out(&by_patch, &[applied, skipped]));
}

#[test]
fn dry_run_plans_and_changes_nothing() {
    let plan = plan("web", &rollback(), Mode::DryRun, &FlapGuard::default(), None, NOW);
    assert!(plan.execute.is_empty());
    assert!(plan.status.dry_run && plan.status.rollbacks.is_empty());
    assert_eq!(plan.status.actions[0]["type"], "rollback");
    let event = plan.event.unwrap();
    assert_eq!((event.event_type, event.reason.as_str()), (EventType::Normal, "WouldRollback"));
}

#[test]
fn the_flap_guard_holds_after_the_limit_within_the_window() {
    let guard = FlapGuard { max_rollbacks: 3, window_seconds: 3600 };
    let full = previous(&[100, 200, 300]);
    let plan = plan("web", &rollback(), Mode::Enforce, &guard, Some(&full), NOW);
    assert!(plan.execute.is_empty() && plan.status.flap_guard_tripped);
    assert_eq!(plan.event.unwrap().reason, "FlapGuard");
    // Rollbacks older than the window no longer count.
    let old = previous(&[100, 200, 4000]);
    let plan = super::plan("web", &rollback(), Mode::Enforce, &guard, Some(&old), NOW);
    assert_eq!(plan.execute.len(), 1);
    assert_eq!(plan.status.rollbacks.len(), 3);
}

#[test]
fn every_rollback_is_guarded_and_counted_whichever_stage_returned_it() {
    let guard = FlapGuard { max_rollbacks: 1, window_seconds: 3600 };
    let rollback = || vec![Action::Rollback { revision: 1 }];
    // A manual request (as the policy calls it), and a rollback returned by
    // detect-failure with no release selected while the rollout is healthy.
    for answered in
        [evaluation(Health::Healthy, true, Some("1"), rollback()), evaluation(Health::Healthy, false, None, rollback())]
    {
        let first = plan("web", &answered, Mode::Enforce, &guard, None, NOW);
        assert!(first.counts_rollback && first.status.rollbacks.len() == 1, "{first:?}");
        let held = plan("web", &answered, Mode::Enforce, &guard, Some(&previous(&[10])), NOW);
        assert!(held.execute.is_empty() && held.status.flap_guard_tripped, "{held:?}");
    }
}

#[test]
fn other_actions_are_not_counted_or_guarded() {
    let guard = FlapGuard { max_rollbacks: 1, window_seconds: 3600 };
    let event = Action::EmitEvent { event_type: EventType::Normal, reason: "Noted".into(), message: String::new() };
    let annotate = Action::SetAnnotation { key: "example.com/seen".into(), value: "1".into() };
    for actions in [vec![event.clone()], vec![annotate]] {
        let noted = evaluation(Health::Healthy, false, None, actions);
        let plan = plan("web", &noted, Mode::Enforce, &guard, Some(&previous(&[10])), NOW);
        assert!(!plan.counts_rollback && !plan.execute.is_empty(), "{plan:?}");
    }
}

#[test]
fn an_error_executes_nothing_and_warns() {
    let mut failed = rollback();
    failed.fatal = true;
    failed.decision = None;
    failed.actions.clear();
    failed.report.errors.push("policy p.wasm stopped in select-release: exceeded its time limit".into());
    let plan = plan("web", &failed, Mode::Enforce, &FlapGuard::default(), None, NOW);
    assert!(plan.execute.is_empty());
    let event = plan.event.unwrap();
    assert_eq!((event.event_type, event.reason.as_str()), (EventType::Warning, "PolicyError"));
    assert!(event.message.contains("time limit"));
}

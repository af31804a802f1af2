//! What the controller does with one evaluation of one workload: execute
//! its actions, only report them (DryRun), or hold back (an error, or the
//! flap guard). Pure, so every rule is tested without a cluster.

use super::crd::{FlapGuard, Mode, WorkloadStatus};
use crate::actions::{Action, EventType, controller_events};
use crate::evaluate::Evaluation;
use crate::executor::Outcome;
use crate::objects::ObjectKey;
use serde_json::Value;
use std::sync::Arc;

/// An Event the controller records on the workload about its own decision.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerEvent {
    pub event_type: EventType,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadPlan {
    /// Actions to execute now (empty in DryRun, on error, or when the flap
    /// guard holds).
    pub execute: Vec<Action>,
    pub status: WorkloadStatus,
    pub event: Option<ControllerEvent>,
    /// Whether `status.rollbacks` ends with this evaluation's rollback, to
    /// be dropped unless the executor carries it out.
    pub counts_rollback: bool,
}

/// A decision stays small however much a policy says.
const MAX_FINDING_MESSAGES: usize = 8;
const MAX_FINDING_MESSAGE_CHARS: usize = 1_000;

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Whether the evaluation rolls back, whichever stage answered and however
/// it calls itself (a policy says what a manual request is): a `rollback`
/// action, or a release selected with actions beyond events to restore it
/// (a custom resource rolled back by a patch). Every such evaluation is
/// held to the flap guard and counted once carried out.
fn rolls_back(evaluation: &Evaluation) -> bool {
    let actions = &evaluation.actions;
    if actions.iter().any(is_rollback) {
        return true;
    }
    let selected = evaluation.decision.as_ref().and_then(|d| d.selection.as_ref()).is_some_and(|s| s.release.is_some());
    selected && actions.iter().any(|a| !matches!(a.on_member().1, Action::EmitEvent { .. }))
}

/// A rollback of the workload, or of an application's member.
fn is_rollback(action: &Action) -> bool {
    matches!(action.on_member().1, Action::Rollback { .. })
}

/// Decides what to do with `evaluation` of workload `name` at `now` (epoch
/// seconds), given its previous status. The status reports the decision;
/// what is done follows from the typed decision and actions.
pub fn plan(
    name: &str,
    evaluation: &Evaluation,
    mode: Mode,
    guard: &FlapGuard,
    previous: Option<&WorkloadStatus>,
    now: i64,
) -> WorkloadPlan {
    let window_start = now - guard.window_seconds as i64;
    let mut rollbacks: Vec<String> = previous
        .map(|p| p.rollbacks.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| crate::time::parse(t).is_ok_and(|t| t > window_start))
        .collect();
    let report = &evaluation.report;
    let actions: Vec<serde_json::Value> =
        evaluation.actions.iter().map(|a| serde_json::to_value(a).expect("actions serialize")).collect();
    // From the typed decision, not its display.
    let decision = evaluation.decision.as_ref();
    let findings = decision.map(|d| d.failure.findings.as_slice()).unwrap_or_default();
    let mut status = WorkloadStatus {
        name: name.to_string(),
        members: Vec::new(),
        time: crate::time::format(now),
        state: decision.map(|d| d.failure.state.as_str().to_string()),
        findings: findings.iter().map(|f| f.reason.clone()).collect(),
        finding_messages: findings
            .iter()
            .take(MAX_FINDING_MESSAGES)
            .map(|f| cut(&f.message, MAX_FINDING_MESSAGE_CHARS))
            .collect(),
        eligible: decision.and_then(|d| d.eligibility.as_ref()).map(|e| e.eligible),
        eligibility_reason: decision
            .and_then(|d| d.eligibility.as_ref())
            .map(|e| cut(&e.reason, MAX_FINDING_MESSAGE_CHARS)),
        release: decision.and_then(|d| d.selection.as_ref()).and_then(|s| s.release.clone()),
        actions,
        dry_run: mode == Mode::DryRun,
        errors: report.errors.clone(),
        rollbacks: Vec::new(),
        flap_guard_tripped: false,
    };
    let planned = &evaluation.actions;
    let rollback = rolls_back(evaluation);
    let mut counts_rollback = false;
    let (execute, event) = if evaluation.fatal {
        let message = report.errors.join("; ");
        (Vec::new(), Some(event(EventType::Warning, controller_events::POLICY_ERROR, message)))
    } else if planned.is_empty() {
        (Vec::new(), None)
    } else if rollback && rollbacks.len() >= guard.max_rollbacks as usize {
        status.flap_guard_tripped = true;
        let message = format!(
            "{} rollbacks in the last {} s; not acting until the window passes",
            rollbacks.len(),
            guard.window_seconds
        );
        (Vec::new(), Some(event(EventType::Warning, controller_events::FLAP_GUARD, message)))
    } else if mode == Mode::DryRun {
        let what = planned.iter().map(Action::type_name).collect::<Vec<_>>().join(", ");
        let release = status.release.as_deref().map(|r| format!(" to release {r}")).unwrap_or_default();
        (
            Vec::new(),
            Some(event(
                EventType::Normal,
                controller_events::WOULD_ROLLBACK,
                format!("dry run{release}: would {what}"),
            )),
        )
    } else {
        if rollback {
            rollbacks.push(crate::time::format(now));
            counts_rollback = true;
        }
        (planned.clone(), None)
    };
    status.rollbacks = rollbacks;
    WorkloadPlan { execute, status, event, counts_rollback }
}

/// Whether executing `actions` carried out the rollback they plan. Only
/// then does it stay in the flap-guard history [`plan`] added it to: a
/// `rollback` action the executor skipped (the template was already
/// restored), failed (an API server restarting) or stopped short of (a
/// conflict) changed nothing, and counting it would hold back the
/// rollback that follows. A policy that rolls back by other means (a
/// custom resource's patch, a deleted Deployment) rolled back once any of
/// its changes took effect. A write whose response was lost is the one
/// case this undercounts.
pub fn rollback_carried_out(actions: &[Action], outcomes: &[Outcome]) -> bool {
    let applied = |i: usize| matches!(outcomes.get(i), Some(Outcome::Applied(_)));
    match actions.iter().position(is_rollback) {
        Some(rollback) => applied(rollback),
        None => {
            actions.iter().enumerate().any(|(i, a)| !matches!(a.on_member().1, Action::EmitEvent { .. }) && applied(i))
        }
    }
}

/// Which of an application's members the actions that ran rolled back, and
/// which they did not reach: said when a write failed part way.
pub fn rolled_back_before_failure(actions: &[Action], outcomes: &[Outcome], members: &[Arc<Value>]) -> String {
    let name = |key: &ObjectKey| format!("{}/{}", key.kind, key.name);
    let first = members.first().and_then(|m| ObjectKey::of(m));
    let member_of = |action: &Action| action.on_member().0.cloned().or_else(|| first.clone());
    let rolled_back: Vec<ObjectKey> = actions
        .iter()
        .zip(outcomes)
        .filter(|(a, o)| is_rollback(a) && matches!(o, Outcome::Applied(_)))
        .filter_map(|(a, _)| member_of(a))
        .collect();
    let not_reached: Vec<String> = actions
        .iter()
        .skip(outcomes.len())
        .filter(|a| is_rollback(a))
        .filter_map(member_of)
        .filter(|k| !rolled_back.iter().any(|r| r.same_object(k)))
        .map(|k| name(&k))
        .collect();
    let rolled_back: Vec<String> = rolled_back.iter().map(name).collect();
    let list = |names: &[String]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
    format!(
        "the application is part rolled back: rolled back {}; not rolled back {} (the next evaluation decides again)",
        list(&rolled_back),
        list(&not_reached)
    )
}

fn event(event_type: EventType, reason: &str, message: String) -> ControllerEvent {
    ControllerEvent { event_type, reason: reason.to_string(), message }
}

#[cfg(test)]
mod tests;

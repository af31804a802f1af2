//! One evaluation over an in-memory object set, with a loaded component:
//! the core's evaluation ([`rewind_core::evaluation`]) run over the
//! component's stages, and its report for people and tools. Every failure
//! lands in the report; none turns into a rollback.

use crate::actions::Action;
use crate::objects::ObjectSet;
use crate::pipeline::Decision;
use crate::report::{
    ActionOut, ApplicationOut, EligibilityOut, EvalReport, FailureOut, GrantsOut, LimitsOut, PolicyOut, SelectionOut,
    TargetOut,
};
use crate::runtime::{LoadedPolicy, LogEntry, RawObjects};
use crate::snapshot;
use rewind_core::application::PreparedApplication;
pub use rewind_core::application::{ApplicationSpec, Members, Subject};
pub use rewind_core::evaluation::{EvalError, EvalOptions, TargetSpec, find_target};
use rewind_core::evaluation::{Evaluated, Prepared};
use serde_json::Value;
use std::sync::Arc;

/// One evaluation: what the policy decided, typed, for the controller and
/// backtests to act on, and the report of it for people and tools.
pub struct Evaluation {
    pub report: EvalReport,
    /// The evaluation did not run to a decision, or its actions were
    /// rejected or failed: the CLI exits non-zero.
    pub fatal: bool,
    /// The policy's answers, when it gave them all.
    pub decision: Option<Decision>,
    /// The validated actions (none when any was rejected).
    pub actions: Vec<Action>,
}

/// The tree's objects, shared with the set: serialized only when asked.
struct TreeObjects(Vec<Arc<Value>>);

impl RawObjects for TreeObjects {
    fn raw_json(&self, index: u32) -> Option<String> {
        self.0.get(index as usize).map(|v| v.to_string())
    }
}

pub fn evaluate(
    policy: &LoadedPolicy,
    objects: &mut ObjectSet,
    target: &TargetSpec,
    options: &EvalOptions,
) -> Result<Evaluation, EvalError> {
    evaluate_with(policy, objects, target, options, &snapshot::NoViews)
}

/// [`evaluate`], the snapshot copying the views `known` holds (a watch
/// cache's) instead of reading those objects again.
pub fn evaluate_with(
    policy: &LoadedPolicy,
    objects: &mut ObjectSet,
    target: &TargetSpec,
    options: &EvalOptions,
    known: &dyn snapshot::KnownViews,
) -> Result<Evaluation, EvalError> {
    let prepared = Prepared::new(objects, target, options.now, policy.settings(), known, &options.argocd)?;
    let raw = TreeObjects(prepared.tree_objects(objects));
    let mut session = policy.session(Arc::new(raw));
    let stages = session.as_mut().map_err(|e| e.to_string());
    let evaluated =
        rewind_core::evaluation::evaluate(stages, &prepared, objects, &policy.name, &policy.declared, options);
    let logs = session.map(|s| s.logs().to_vec()).unwrap_or_default();
    let report = report_of(policy, &prepared, target, options, &evaluated, logs, objects);
    let Evaluated { decision, actions, fatal, .. } = evaluated;
    Ok(Evaluation { report, fatal, decision, actions })
}

/// Why `policy` cannot decide an application: its contract's snapshot has
/// no application section, so it would see member 0 alone.
pub fn application_needs(policy: &LoadedPolicy) -> String {
    format!(
        "policy {} speaks {}, whose snapshot holds one workload; an application needs rewind:policy@0.5.0 or later",
        policy.name, policy.wit
    )
}

/// [`evaluate_with`] or [`evaluate_application`], as `subject` says.
pub fn evaluate_subject(
    policy: &LoadedPolicy,
    objects: &mut ObjectSet,
    subject: &Subject,
    options: &EvalOptions,
    known: &dyn snapshot::KnownViews,
) -> Result<Evaluation, EvalError> {
    match subject {
        Subject::Workload(target) => evaluate_with(policy, objects, target, options, known),
        Subject::Application(application) => evaluate_application(policy, objects, application, options, known),
    }
}

/// [`evaluate_with`] for an application: one evaluation over all its
/// members. The policy's `get-object` reads member 0's tree, the snapshot's
/// top level.
pub fn evaluate_application(
    policy: &LoadedPolicy,
    objects: &mut ObjectSet,
    application: &ApplicationSpec,
    options: &EvalOptions,
    known: &dyn snapshot::KnownViews,
) -> Result<Evaluation, EvalError> {
    if !policy.contract.encoding().has_application() {
        return Err(EvalError::Application {
            name: application.name.clone(),
            namespace: application.namespace.clone(),
            problem: application_needs(policy),
        });
    }
    let prepared =
        PreparedApplication::new(objects, application, options.now, policy.settings(), known, &options.argocd)?;
    let first = &prepared.members[0];
    let raw = TreeObjects(first.tree_objects(objects));
    let mut session = policy.session(Arc::new(raw));
    let stages = session.as_mut().map_err(|e| e.to_string());
    let evaluated = rewind_core::application::evaluate_application(
        stages,
        &prepared,
        objects,
        &policy.name,
        &policy.declared,
        options,
    );
    let logs = session.map(|s| s.logs().to_vec()).unwrap_or_default();
    let target = TargetSpec {
        kind: first.target_key.kind.clone(),
        name: first.target_key.name.clone(),
        namespace: application.namespace.clone(),
    };
    let mut report = report_of(policy, first, &target, options, &evaluated, logs, objects);
    report.application = Some(ApplicationOut {
        name: application.name.clone(),
        members: prepared.members.iter().map(|m| TargetOut::of(&m.target_key, &application.namespace)).collect(),
    });
    let Evaluated { decision, actions, fatal, .. } = evaluated;
    Ok(Evaluation { report, fatal, decision, actions })
}

/// The report of an evaluation: the edge where typed answers become text.
fn report_of(
    policy: &LoadedPolicy,
    prepared: &Prepared,
    target: &TargetSpec,
    options: &EvalOptions,
    evaluated: &Evaluated,
    logs: Vec<LogEntry>,
    objects: &ObjectSet,
) -> EvalReport {
    let key = &prepared.target_key;
    let decision = evaluated.decision.as_ref();
    let mut actions: Vec<ActionOut> =
        evaluated.actions.iter().map(|a| ActionOut { action: a.clone(), outcome: None }).collect();
    for (out, outcome) in actions.iter_mut().zip(&evaluated.outcomes) {
        out.outcome = Some(outcome.clone());
    }
    EvalReport {
        target: TargetOut::of(key, &target.namespace),
        application: None,
        now: crate::time::format(options.now),
        policy: PolicyOut {
            path: policy.path.display().to_string(),
            sha256: policy.sha256.clone(),
            wit: policy.wit.clone(),
        },
        failure: decision.map(|d| FailureOut::from_report(&d.failure)),
        eligibility: decision
            .and_then(|d| d.eligibility.as_ref())
            .map(|e| EligibilityOut { eligible: e.eligible, reason: e.reason.clone() }),
        selection: decision
            .and_then(|d| d.selection.as_ref())
            .map(|s| SelectionOut { release: s.release.clone(), reason: s.reason.clone() }),
        actions,
        errors: evaluated.problems.clone(),
        warnings: evaluated.warnings.clone(),
        logs,
        objects: evaluated.applied.then(|| objects.iter().map(|(_, v)| v.clone()).collect()),
        limits: Some(LimitsOut { sandbox: policy.limits(), actions: options.action_limits }),
        grants: GrantsOut::of(&evaluated.grants),
    }
}

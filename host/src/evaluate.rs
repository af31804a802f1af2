//! One evaluation end to end over an in-memory object set: find the target,
//! build its snapshot, run the policy, validate its actions, and (with
//! `apply`) execute them. Every failure lands in the report; none turns
//! into a rollback.

use crate::actions::{Action, ActionLimits, Grant, Grants, Scope, validate_actions};
use crate::answers::PolicyAction;
use crate::change::rollback_restores;
use crate::executor::{ExecutionContext, InMemoryExecutor};
use crate::objects::{ObjectKey, ObjectSet};
use crate::pipeline::{Decision, decide};
use crate::report::{
    ActionOut, EligibilityOut, EvalReport, FailureOut, GrantsOut, LimitsOut, PolicyOut, SelectionOut, TargetOut,
};
use crate::runtime::{LoadedPolicy, RawObjects};
use crate::snapshot;
use serde_json::Value;
use std::sync::Arc;

/// `Kind/name` in a namespace, as given on the command line or in a suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

impl TargetSpec {
    pub fn parse(text: &str, namespace: &str) -> Result<Self, String> {
        match text.split_once('/') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(TargetSpec { kind: kind.to_string(), name: name.to_string(), namespace: namespace.to_string() })
            }
            _ => Err(format!("target {text:?} is not of the form Kind/name (e.g. Deployment/web)")),
        }
    }
}

impl std::fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} in namespace {}", self.kind, self.name, self.namespace)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{target} is not in the cluster dump")]
    TargetNotFound { target: TargetSpec },
    #[error("{target} is ambiguous: it matches {count} objects of different API groups; write Kind.group/name")]
    AmbiguousTarget { target: TargetSpec, count: usize },
    #[error("{target}: {problem}")]
    NotATarget { target: TargetSpec, problem: String },
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
}

#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Evaluation time, epoch seconds.
    pub now: i64,
    /// Execute the actions on the object set (and report the objects).
    pub apply: bool,
    pub action_limits: ActionLimits,
    /// What the operator gives the policy beyond a rollback
    /// ([`crate::actions::grants`]).
    pub grants: Vec<Grant>,
}

impl EvalOptions {
    /// An offline run at `now` that applies its actions to the object set.
    pub fn offline(now: i64, grants: Vec<Grant>) -> Self {
        EvalOptions { now, apply: true, action_limits: ActionLimits::default(), grants }
    }
}

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

pub fn find_target(objects: &ObjectSet, target: &TargetSpec) -> Result<usize, EvalError> {
    let matches = objects.find_by_kind_name(&target.kind, &target.namespace, &target.name);
    match matches.as_slice() {
        [] => Err(EvalError::TargetNotFound { target: target.clone() }),
        [one] => {
            let found = objects.get(*one).expect("found in this set");
            let api_version = found.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            let kind = crate::objects::kind(found).unwrap_or_default();
            crate::workloads::targetable(api_version, kind)
                .map_err(|problem| EvalError::NotATarget { target: target.clone(), problem })?;
            Ok(*one)
        }
        many => Err(EvalError::AmbiguousTarget { target: target.clone(), count: many.len() }),
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
    let target_id = find_target(objects, target)?;
    let built = snapshot::build_with(objects, target_id, options.now, policy.settings(), known)?;
    let target_value = objects.get(target_id).expect("found above");
    let target_key = ObjectKey::of(target_value).expect("dump objects have keys");

    let mut report = EvalReport {
        target: TargetOut {
            api_version: target_key.api_version.clone(),
            kind: target_key.kind.clone(),
            namespace: target.namespace.clone(),
            name: target_key.name.clone(),
        },
        now: crate::time::format(options.now),
        policy: PolicyOut {
            path: policy.path.display().to_string(),
            sha256: policy.sha256.clone(),
            wit: policy.wit.clone(),
        },
        failure: None,
        eligibility: None,
        selection: None,
        actions: Vec::new(),
        errors: Vec::new(),
        warnings: built.warnings.clone(),
        logs: Vec::new(),
        objects: None,
        limits: Some(LimitsOut { sandbox: policy.limits(), actions: options.action_limits }),
        grants: GrantsOut::default(),
    };
    let grants = Grants { declared: policy.declared.clone(), granted: options.grants.clone() };
    report.grants = GrantsOut::of(&grants);
    for missing in grants.missing() {
        report.warnings.push(format!(
            "policy {} declares the grant `{missing}`, which is not given: actions that need it are refused",
            policy.name
        ));
    }

    let raw = TreeObjects(built.tree.iter().filter_map(|n| objects.get_shared(n.object)).collect());
    let decision = policy.session(Arc::new(raw)).and_then(|mut session| {
        let decision = decide(&mut session, &built.snapshot);
        report.logs = session.logs().to_vec();
        decision
    });
    let decision = match decision {
        Ok(d) => d,
        Err(e) => {
            report.errors.push(e.to_string());
            return Ok(Evaluation { report, fatal: true, decision: None, actions: Vec::new() });
        }
    };
    if let Err(problem) = decision.check_sizes(&options.action_limits) {
        report.errors.push(format!("policy {}: {problem}; none of this evaluation's actions is executed", policy.name));
        return Ok(Evaluation { report, fatal: true, decision: None, actions: Vec::new() });
    }
    report.failure = Some(FailureOut::from_report(&decision.failure));
    report.eligibility =
        decision.eligibility.as_ref().map(|e| EligibilityOut { eligible: e.eligible, reason: e.reason.clone() });
    report.selection =
        decision.selection.as_ref().map(|s| SelectionOut { release: s.release.clone(), reason: s.reason.clone() });
    if let Some(problem) = decision.selection.as_ref().and_then(|s| s.error.clone()) {
        report.errors.push(problem);
    }

    let asked = decision.actions();
    let context = ExecutionContext { target: target_key.clone(), now: options.now };
    // Only a rollback that restores a release opens what a rollback opens.
    let rolled_back_to = asked
        .iter()
        .find_map(|a| match a {
            PolicyAction::Rollback { revision, .. } => Some(*revision),
            _ => None,
        })
        .filter(|revision| rollback_restores(objects, &context, *revision));
    let scope = Scope {
        target: target_key.clone(),
        owned: built.tree_keys(objects).into_iter().skip(1).collect(),
        replaceable_pods: built.replaceable_pods(objects, rolled_back_to),
        rolling_back_from: rolled_back_to
            .and_then(|_| built.snapshot.current_release())
            .map(|release| release.id.to_string()),
        grants,
    };
    let actions = match validate_actions(&asked, &scope, &options.action_limits) {
        Ok(actions) => actions,
        Err(e) => {
            report.errors.push(format!("policy {}: {e}; none of this evaluation's actions is executed", policy.name));
            return Ok(Evaluation { report, fatal: true, decision: Some(decision), actions: Vec::new() });
        }
    };
    report.actions = actions.iter().map(|a| ActionOut { action: a.clone(), outcome: None }).collect();
    if !options.apply {
        return Ok(Evaluation { report, fatal: false, decision: Some(decision), actions });
    }

    let fatal = match (InMemoryExecutor { objects }).execute_now(&context, &actions) {
        Ok(outcomes) => {
            for (out, outcome) in report.actions.iter_mut().zip(outcomes) {
                out.outcome = Some(outcome);
            }
            false
        }
        Err(e) => {
            report.errors.push(format!("{e}; no action was applied"));
            true
        }
    };
    report.objects = Some(objects.iter().map(|(_, v)| v.clone()).collect());
    Ok(Evaluation { report, fatal, decision: Some(decision), actions })
}

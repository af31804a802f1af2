//! One evaluation as a typed value: find the target, build its snapshot
//! once, ask the policy's stages (any [`PolicyStages`]), check its answers
//! and actions against the workload's scope and the grants, and, offline,
//! carry them out in memory. The host runs a component behind the stages
//! and formats the result at its edge (a report, a suite's verdict, a
//! controller's plan); nothing here is text meant for display except the
//! problems it names.

use crate::actions::{Action, ActionLimits, Grant, Grants, Scope, ValidationError, validate_actions};
use crate::answers::PolicyAction;
use crate::change::{ExecutionContext, rollback_restores};
use crate::executor::{InMemoryExecutor, Outcome};
use crate::objects::{self, ObjectId, ObjectKey, ObjectSet};
use crate::pipeline::{Decision, PolicyStages, decide};
use crate::snapshot::{self, BuiltSnapshot, KnownViews};
use serde_json::Value;
use std::fmt;
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

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    #[error("application {name} in namespace {namespace}: {problem}")]
    Application { name: String, namespace: String, problem: String },
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
}

#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Evaluation time, epoch seconds.
    pub now: i64,
    /// Execute the actions on the object set.
    pub apply: bool,
    pub action_limits: ActionLimits,
    /// What the operator gives the policy beyond a rollback
    /// ([`crate::actions::grants`]).
    pub grants: Vec<Grant>,
    /// How the cluster's Argo CD tracks what it applies, for the snapshot's
    /// GitOps section.
    pub argocd: crate::gitops::ArgoCdTracking,
}

impl EvalOptions {
    /// An offline run at `now` that applies its actions to the object set.
    pub fn offline(now: i64, grants: Vec<Grant>) -> Self {
        EvalOptions {
            now,
            apply: true,
            action_limits: ActionLimits::default(),
            grants,
            argocd: crate::gitops::ArgoCdTracking::default(),
        }
    }
}

/// The one object of the set `target` names, if rewind may target it.
pub fn find_target(objects: &ObjectSet, target: &TargetSpec) -> Result<ObjectId, EvalError> {
    let matches = objects.find_by_kind_name(&target.kind, &target.namespace, &target.name);
    match matches.as_slice() {
        [] => Err(EvalError::TargetNotFound { target: target.clone() }),
        [one] => {
            let found = objects.get(*one).expect("found in this set");
            let api_version = found.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            let kind = objects::kind(found).unwrap_or_default();
            crate::workloads::targetable(api_version, kind)
                .map_err(|problem| EvalError::NotATarget { target: target.clone(), problem })?;
            Ok(*one)
        }
        many => Err(EvalError::AmbiguousTarget { target: target.clone(), count: many.len() }),
    }
}

/// The target and its snapshot, built once for the evaluation.
pub struct Prepared {
    pub target: ObjectId,
    pub target_key: ObjectKey,
    pub built: BuiltSnapshot,
}

impl Prepared {
    /// Finds `target` in `objects` and builds its snapshot at `now` with the
    /// policy's `settings`, copying the views `known` holds.
    pub fn new(
        objects: &ObjectSet,
        target: &TargetSpec,
        now: i64,
        settings: &str,
        known: &dyn KnownViews,
        argocd: &crate::gitops::ArgoCdTracking,
    ) -> Result<Prepared, EvalError> {
        let target = find_target(objects, target)?;
        let mut built = snapshot::build_with(objects, target, now, settings, known)?;
        let target_value = objects.get(target).expect("found above");
        // The builder reads Argo CD's default tracking; the installation's
        // own is an evaluation option.
        if *argocd != crate::gitops::ArgoCdTracking::default() {
            built.snapshot.gitops = crate::gitops::section(objects, target_value, argocd);
        }
        let target_key = ObjectKey::of(target_value).expect("dump objects have keys");
        Ok(Prepared { target, target_key, built })
    }

    /// The objects of the snapshot's tree, in its order: what the policy
    /// may read whole (shared with the set, not copied).
    pub fn tree_objects(&self, objects: &ObjectSet) -> Vec<Arc<Value>> {
        self.built.tree.iter().filter_map(|n| objects.get_shared(n.object)).collect()
    }
}

/// What one evaluation decided, typed.
#[derive(Debug)]
pub struct Evaluated {
    /// The grants the policy declares and the ones it was given.
    pub grants: Grants,
    /// The policy's answers, when it gave them all within the limits.
    pub decision: Option<Decision>,
    /// The validated actions (none when any was refused).
    pub actions: Vec<Action>,
    /// What carrying them out in memory did, one per action.
    pub outcomes: Vec<Outcome>,
    /// The validated actions were carried out on the object set (`apply`),
    /// or tried: the set is what they left.
    pub applied: bool,
    /// Why the evaluation stopped short or what it found wrong.
    pub problems: Vec<String>,
    /// What the snapshot and the grants left to be said.
    pub warnings: Vec<String>,
    /// The evaluation did not run to a decision, or its actions were
    /// refused or failed: nothing of it is carried out.
    pub fatal: bool,
}

/// Asks `stages` (or records why they could not be asked) about the
/// prepared snapshot, then checks and, with `options.apply`, carries out
/// the actions on `objects`. `policy` names the policy in problems.
pub fn evaluate<S: PolicyStages>(
    stages: Result<&mut S, String>,
    prepared: &Prepared,
    objects: &mut ObjectSet,
    policy: &str,
    declared: &[Grant],
    options: &EvalOptions,
) -> Evaluated
where
    S::Error: fmt::Display,
{
    let asked = Asked { snapshot: &prepared.built.snapshot, target: &prepared.target_key, policy, declared };
    let warnings = prepared.built.warnings.clone();
    evaluate_asked(stages, asked, warnings, objects, options, |actions, objects, grants| {
        let context = ExecutionContext { target: prepared.target_key.clone(), now: options.now };
        let scope = scope_of(prepared, objects, actions, &context, grants, &options.argocd);
        validate_actions(actions, &scope, &options.action_limits)
    })
}

/// What an evaluation asks the policy about, and who the policy is.
pub(crate) struct Asked<'a> {
    pub snapshot: &'a crate::Snapshot,
    /// The target of the actions that name none (an application's member 0).
    pub target: &'a ObjectKey,
    pub policy: &'a str,
    pub declared: &'a [Grant],
}

/// The evaluation of a workload alone or of an application: they differ in
/// the snapshot asked about and in how the answer's actions are checked
/// (`validate`, given the grants in effect).
pub(crate) fn evaluate_asked<S: PolicyStages>(
    stages: Result<&mut S, String>,
    asked: Asked<'_>,
    warnings: Vec<String>,
    objects: &mut ObjectSet,
    options: &EvalOptions,
    validate: impl FnOnce(&[PolicyAction], &ObjectSet, Grants) -> Result<Vec<Action>, ValidationError>,
) -> Evaluated
where
    S::Error: fmt::Display,
{
    let Asked { snapshot, target, policy, declared } = asked;
    // Declared grants that are not given are shown with the grants in
    // effect, not as warnings: a policy declares what its options may need
    // (the Deployment policy's GitOps pause), most of which an operator
    // never gives, and an action that needs one says so when refused.
    let grants = Grants { declared: declared.to_vec(), granted: options.grants.clone() };
    let mut evaluated = Evaluated {
        grants,
        decision: None,
        actions: Vec::new(),
        outcomes: Vec::new(),
        applied: false,
        problems: Vec::new(),
        warnings,
        fatal: true,
    };
    let decision = stages.and_then(|stages| decide(stages, snapshot).map_err(|e| e.to_string()));
    let decision = match decision {
        Ok(decision) => decision,
        Err(problem) => {
            evaluated.problems.push(problem);
            return evaluated;
        }
    };
    if let Err(problem) = decision.check_sizes(&options.action_limits) {
        evaluated.problems.push(format!("policy {policy}: {problem}; none of this evaluation's actions is executed"));
        return evaluated;
    }
    evaluated.problems.extend(decision.selection.as_ref().and_then(|s| s.error.clone()));
    let asked = decision.actions();
    evaluated.decision = Some(decision);
    evaluated.actions = match validate(&asked, objects, evaluated.grants.clone()) {
        Ok(actions) => actions,
        Err(e) => {
            evaluated.problems.push(format!("policy {policy}: {e}; none of this evaluation's actions is executed"));
            return evaluated;
        }
    };
    evaluated.fatal = false;
    if options.apply {
        evaluated.applied = true;
        let context = ExecutionContext { target: target.clone(), now: options.now };
        match (InMemoryExecutor { objects }).execute_now(&context, &evaluated.actions) {
            Ok(outcomes) => evaluated.outcomes = outcomes,
            Err(e) => {
                evaluated.problems.push(format!("{e}; no action was applied"));
                evaluated.fatal = true;
            }
        }
    }
    evaluated
}

/// What the evaluation's actions may touch. Only a rollback that restores
/// a release opens what a rollback opens: deleting the pods of the release
/// it leaves, and the mark naming that release.
pub(crate) fn scope_of(
    prepared: &Prepared,
    objects: &ObjectSet,
    asked: &[PolicyAction],
    context: &ExecutionContext,
    grants: Grants,
    argocd: &crate::gitops::ArgoCdTracking,
) -> Scope {
    let built = &prepared.built;
    let rolled_back_to = asked
        .iter()
        .find_map(|a| match a {
            PolicyAction::Rollback { revision, .. } => Some(*revision),
            _ => None,
        })
        .filter(|revision| rollback_restores(objects, context, *revision));
    Scope {
        target: prepared.target_key.clone(),
        owned: built.tree_keys(objects).into_iter().skip(1).collect(),
        replaceable_pods: built.replaceable_pods(objects, rolled_back_to),
        rolling_back_from: rolled_back_to
            .and_then(|_| built.snapshot.current_release())
            .map(|release| release.id.to_string()),
        current_revision: built.snapshot.current_release().and_then(|release| release.revision),
        gitops_owner: crate::gitops::confirmed_owner(
            objects,
            objects.get(prepared.target).expect("the target is in the set"),
            argocd,
        ),
        grants,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Snapshot;
    use crate::answers::{Eligibility, FailureReport, Health, Selection};
    use crate::fixtures::*;

    /// A policy's stages answering "failed, eligible" and selecting with
    /// `actions`, as any adapter would hand them over.
    struct Answering(Vec<PolicyAction>);

    impl PolicyStages for Answering {
        type Error = String;
        fn detect_failure(&mut self, _: &Snapshot) -> Result<FailureReport, String> {
            Ok(FailureReport {
                state: Health::Failed,
                findings: vec![],
                manual_request: false,
                recheck_after: None,
                actions: vec![],
            })
        }
        fn check_eligibility(&mut self, _: &Snapshot, _: &FailureReport) -> Result<Eligibility, String> {
            Ok(Eligibility { eligible: true, reason: String::new(), actions: vec![] })
        }
        fn select_release(&mut self, _: &Snapshot, _: &FailureReport) -> Result<Selection, String> {
            Ok(Selection { release: Some("2".into()), reason: String::new(), error: None, actions: self.0.clone() })
        }
    }

    fn web() -> TargetSpec {
        TargetSpec { kind: "Deployment".into(), name: "web".into(), namespace: NAMESPACE.into() }
    }

    fn run(actions: Vec<PolicyAction>, objects: &mut ObjectSet) -> Evaluated {
        let argocd = crate::gitops::ArgoCdTracking::default();
        let prepared = Prepared::new(objects, &web(), 1_730_903_640, "{}", &snapshot::NoViews, &argocd).unwrap();
        let options = EvalOptions::offline(1_730_903_640, vec![]);
        evaluate(Ok(&mut Answering(actions)), &prepared, objects, "p", &[], &options)
    }

    #[test]
    fn a_rollback_is_validated_and_carried_out_in_memory() {
        let mut objects = set_of([deployment("web:3"), replica_set("2", "web:2"), replica_set("3", "web:3")]);
        let evaluated = run(vec![PolicyAction::Rollback { revision: 2, deployment_only: false }], &mut objects);
        assert!(!evaluated.fatal && evaluated.problems.is_empty(), "{evaluated:?}");
        assert_eq!(evaluated.actions, [Action::Rollback { revision: 2 }]);
        assert!(evaluated.applied && matches!(evaluated.outcomes[..], [Outcome::Applied(_)]));
        let image = objects.get(0).unwrap().pointer("/spec/template/spec/containers/0/image").unwrap().clone();
        assert_eq!(image, "web:2");
    }

    #[test]
    fn a_rollback_to_the_running_release_opens_nothing_and_nothing_is_carried_out() {
        let mut objects =
            set_of([deployment("web:3"), replica_set("2", "web:2"), replica_set("3", "web:3"), pod("3", "a", None)]);
        let serving = ObjectKey::of(objects.get(3).unwrap()).unwrap();
        let asked =
            vec![PolicyAction::Rollback { revision: 3, deployment_only: false }, PolicyAction::DeleteObject(serving)];
        let before = format!("{objects:?}");
        let evaluated = run(asked, &mut objects);
        assert!(evaluated.fatal && evaluated.actions.is_empty() && !evaluated.applied, "{evaluated:?}");
        assert!(evaluated.problems[0].contains("only pods of the failed release"), "{:?}", evaluated.problems);
        assert!(evaluated.decision.is_some(), "the answers are reported though refused");
        assert_eq!(format!("{objects:?}"), before);
    }

    #[test]
    fn stages_that_cannot_be_asked_are_a_problem_not_a_decision() {
        let mut objects = set_of([deployment("web:3"), replica_set("3", "web:3")]);
        let argocd = crate::gitops::ArgoCdTracking::default();
        let prepared = Prepared::new(&objects, &web(), 0, "{}", &snapshot::NoViews, &argocd).unwrap();
        let options = EvalOptions::offline(0, vec![]);
        let evaluated =
            evaluate::<Answering>(Err("cannot instantiate".into()), &prepared, &mut objects, "p", &[], &options);
        assert!(evaluated.fatal && evaluated.decision.is_none());
        assert_eq!(evaluated.problems, ["cannot instantiate"]);
    }
}

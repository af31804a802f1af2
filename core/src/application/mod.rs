//! An application: workloads that ship together, evaluated together. A
//! RolloutPolicy that targets one gets a single evaluation over all its
//! members (the snapshot's application section holds each member's own
//! snapshot), and its answer may act on several members. Every member's
//! actions are checked against that member's own scope, all of them before
//! any is carried out; the API server has no transactions, so a write that
//! fails leaves the members before it changed, and the outcomes say which.

use crate::actions::{Action, Grant, Grants, ValidationError, validate_actions};
use crate::answers::PolicyAction;
use crate::change::ExecutionContext;
use crate::evaluation::{Asked, EvalError, EvalOptions, Evaluated, Prepared, TargetSpec, evaluate_asked, scope_of};
use crate::objects::{self, ObjectSet};
use crate::pipeline::PolicyStages;
use crate::snapshot::KnownViews;
use rewind_snapshot::{Application, Text};
use std::fmt;

/// The label that groups an application's workloads, as Kubernetes'
/// recommended labels define it.
pub const PART_OF: &str = "app.kubernetes.io/part-of";

/// What one evaluation is about: a workload alone, or an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Workload(TargetSpec),
    Application(ApplicationSpec),
}

impl Subject {
    /// From a command line's or a suite case's fields: a `Kind/name` target,
    /// or an application's name with, optionally, its members listed (as
    /// `Kind/name`); exactly one of the two.
    pub fn parse(
        target: Option<&str>,
        application: Option<&str>,
        members: &[String],
        namespace: &str,
    ) -> Result<Subject, String> {
        match (target, application) {
            (Some(target), None) if members.is_empty() => TargetSpec::parse(target, namespace).map(Subject::Workload),
            (Some(_), None) => Err("members are listed for an application, not for a target".into()),
            (None, Some(name)) if name.trim().is_empty() => Err("the application's name is empty".into()),
            (None, Some(name)) => {
                let members = match members {
                    [] => Members::PartOf,
                    listed => Members::Listed(
                        listed.iter().map(|m| TargetSpec::parse(m, namespace)).collect::<Result<_, _>>()?,
                    ),
                };
                Ok(Subject::Application(ApplicationSpec {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    members,
                }))
            }
            (Some(_), Some(_)) => Err("give a target or an application, not both".into()),
            (None, None) => Err("give a target (Kind/name) or an application".into()),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Workload(target) => target.fmt(f),
            Subject::Application(application) => application.fmt(f),
        }
    }
}

/// How an application's members are found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Members {
    /// Every Deployment, StatefulSet and DaemonSet of the namespace whose
    /// [`PART_OF`] label is the application's name, by kind then name.
    PartOf,
    /// These workloads (`Kind/name`), in this order.
    Listed(Vec<TargetSpec>),
}

/// An application in a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationSpec {
    pub namespace: String,
    pub name: String,
    pub members: Members,
}

impl fmt::Display for ApplicationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "application {} in namespace {}", self.name, self.namespace)
    }
}

impl ApplicationSpec {
    fn problem(&self, problem: String) -> EvalError {
        EvalError::Application { name: self.name.clone(), namespace: self.namespace.clone(), problem }
    }

    /// The members' targets, in member order. An application with no member,
    /// or one listing a workload twice, is an error.
    pub fn find_members(&self, objects: &ObjectSet) -> Result<Vec<TargetSpec>, EvalError> {
        let members = match &self.members {
            Members::Listed(listed) => {
                if let Some((i, twice)) =
                    listed.iter().enumerate().find(|(i, m)| listed[..*i].iter().any(|earlier| earlier == *m))
                {
                    return Err(self.problem(format!("member {} lists {}/{} again", i + 1, twice.kind, twice.name)));
                }
                listed.clone()
            }
            Members::PartOf => self.labelled(objects),
        };
        if members.is_empty() {
            let how = match self.members {
                Members::PartOf => {
                    format!("no Deployment, StatefulSet or DaemonSet is labelled {PART_OF}={}", self.name)
                }
                Members::Listed(_) => "the list of members is empty".to_string(),
            };
            return Err(self.problem(how));
        }
        Ok(members)
    }

    fn labelled(&self, objects: &ObjectSet) -> Vec<TargetSpec> {
        let mut found: Vec<TargetSpec> = objects
            .iter()
            .filter(|(_, v)| objects::namespace(v) == Some(self.namespace.as_str()))
            .filter(|(_, v)| crate::workloads::of_value(v).is_some())
            .filter(|(_, v)| objects::label(v, PART_OF) == Some(self.name.as_str()))
            .filter_map(|(_, v)| {
                Some(TargetSpec {
                    kind: objects::kind(v)?.to_string(),
                    name: objects::name(v)?.to_string(),
                    namespace: self.namespace.clone(),
                })
            })
            .collect();
        found.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
        found.dedup();
        found
    }
}

/// An application's members, each prepared as a workload evaluated alone,
/// and the one snapshot the policy is asked about: member 0's, with the
/// application section holding every member's.
pub struct PreparedApplication {
    pub spec: ApplicationSpec,
    pub members: Vec<Prepared>,
    pub snapshot: crate::Snapshot,
}

impl PreparedApplication {
    pub fn new(
        objects: &ObjectSet,
        spec: &ApplicationSpec,
        now: i64,
        settings: &str,
        known: &dyn KnownViews,
        argocd: &crate::gitops::ArgoCdTracking,
    ) -> Result<PreparedApplication, EvalError> {
        let members = spec
            .find_members(objects)?
            .iter()
            .map(|target| Prepared::new(objects, target, now, settings, known, argocd))
            .collect::<Result<Vec<_>, _>>()?;
        let snapshots = members.iter().map(|m| m.built.snapshot.clone()).collect();
        let application = Application { name: Text::copied(&spec.name), members: snapshots };
        let snapshot = crate::Snapshot { application: Some(application), ..members[0].built.snapshot.clone() };
        Ok(PreparedApplication { spec: spec.clone(), members, snapshot })
    }

    /// Each member's warnings, named by member.
    fn warnings(&self) -> Vec<String> {
        self.members
            .iter()
            .flat_map(|m| m.built.warnings.iter().map(move |w| format!("{}: {w}", m.target_key)))
            .collect()
    }
}

/// [`crate::evaluation::evaluate`] for an application: one decision over
/// all members, whose member actions are checked against their member's
/// scope. Validated actions on member 0 are as a workload's own; those on
/// any other member are [`Action::Member`].
pub fn evaluate_application<S: PolicyStages>(
    stages: Result<&mut S, String>,
    prepared: &PreparedApplication,
    objects: &mut ObjectSet,
    policy: &str,
    declared: &[Grant],
    options: &EvalOptions,
) -> Evaluated
where
    S::Error: fmt::Display,
{
    let asked = Asked { snapshot: &prepared.snapshot, target: &prepared.members[0].target_key, policy, declared };
    evaluate_asked(stages, asked, prepared.warnings(), objects, options, |actions, objects, grants| {
        validate_members(actions, &prepared.members, objects, grants, options)
    })
}

/// Splits the answer's actions by member, validates each member's list
/// against its scope, and puts the results back in the answer's order.
fn validate_members(
    asked: &[PolicyAction],
    members: &[Prepared],
    objects: &ObjectSet,
    grants: Grants,
    options: &EvalOptions,
) -> Result<Vec<Action>, ValidationError> {
    let limits = &options.action_limits;
    if asked.len() > limits.max_actions {
        return Err(ValidationError::TooMany { count: asked.len(), max: limits.max_actions });
    }
    // Per member: the answer's index of each of its actions, and the actions.
    let mut split: Vec<(Vec<usize>, Vec<PolicyAction>)> = vec![(Vec::new(), Vec::new()); members.len()];
    for (i, action) in asked.iter().enumerate() {
        let (member, action) = match action {
            PolicyAction::ForMember { member, action } => (*member as usize, (**action).clone()),
            action => (0, action.clone()),
        };
        let Some((indices, actions)) = split.get_mut(member) else {
            let problem = format!(
                "the application has {} members (0 to {}); there is no member {member}",
                members.len(),
                members.len() - 1
            );
            return Err(ValidationError::Rejected { index: i + 1, action: "member", problem });
        };
        indices.push(i);
        actions.push(action);
    }
    let mut validated: Vec<Option<Action>> = vec![None; asked.len()];
    for (member, (prepared, (indices, actions))) in members.iter().zip(split).enumerate() {
        let context = ExecutionContext { target: prepared.target_key.clone(), now: options.now };
        let scope = scope_of(prepared, objects, &actions, &context, grants.clone(), &options.argocd);
        let checked = validate_actions(&actions, &scope, limits).map_err(|e| match e {
            ValidationError::Rejected { index, action, problem } => ValidationError::Rejected {
                index: indices[index - 1] + 1,
                action,
                problem: format!("on member {member} ({}): {problem}", prepared.target_key),
            },
            too_many => too_many,
        })?;
        for (at, action) in indices.into_iter().zip(checked) {
            validated[at] = Some(match member {
                0 => action,
                _ => Action::Member { member: prepared.target_key.clone(), action: Box::new(action) },
            });
        }
    }
    Ok(validated.into_iter().map(|a| a.expect("every action belongs to one member")).collect())
}

#[cfg(test)]
mod tests;

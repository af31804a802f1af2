//! Every action of an evaluation is checked before any is executed: one bad
//! action rejects the whole list, so a policy never gets half its way.

use super::grants::{Grants, Need, annotation_owner, grant_kind, never_writable, pointer, reserved_annotation};
use super::merge_patch::json_depth;
use super::{Action, ConditionSpec, condition_status_text};
use crate::answers::{PolicyAction, Subresource};
use crate::names::{check_annotation_key, check_api_version, check_qualified_name};
use crate::objects::ObjectKey;
use crate::snapshot::ROLLED_BACK_FROM;
use crate::workloads;
use serde_json::Value;

/// What one evaluation may touch: the target and the objects of its
/// ownership tree (which share its namespace), and what it may do to them
/// beyond a rollback.
#[derive(Clone, Debug)]
pub struct Scope {
    pub target: ObjectKey,
    /// Every object of the ownership tree except the target.
    pub owned: Vec<ObjectKey>,
    /// Pods of the failed release, deleted without a grant
    /// ([`crate::snapshot::BuiltSnapshot::replaceable_pods`]).
    pub replaceable_pods: Vec<ObjectKey>,
    /// With a rollback in the evaluation, the release it rolls back from:
    /// the only value [`ROLLED_BACK_FROM`] may be set to.
    pub rolling_back_from: Option<String>,
    /// The GitOps object that applies the target, when its own status
    /// confirms it ([`crate::gitops`]): the one object outside the tree a
    /// policy may patch, with a grant naming its kind and group.
    pub gitops_owner: Option<ObjectKey>,
    /// The revision of the release the target runs now, when it has one:
    /// the one release whose configuration is restored without a rollback.
    pub current_revision: Option<u64>,
    pub grants: Grants,
}

/// Bounds on what a policy may ask for in one evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionLimits {
    pub max_actions: usize,
    /// Findings one failure report may carry.
    pub max_findings: usize,
    pub max_patch_bytes: usize,
    pub max_json_depth: usize,
    pub max_text_bytes: usize,
}

impl Default for ActionLimits {
    fn default() -> Self {
        ActionLimits {
            max_actions: 64,
            max_findings: 256,
            max_patch_bytes: 256 * 1024,
            max_json_depth: 32,
            max_text_bytes: 64 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("the policy returned {count} actions; at most {max} are allowed per evaluation")]
    TooMany { count: usize, max: usize },
    #[error("action {index} ({action}): {problem}")]
    Rejected { index: usize, action: &'static str, problem: String },
}

/// Checks the actions of all stages of one evaluation, in order, and returns
/// them in host form. Nothing is returned unless every action passes.
pub fn validate_actions(
    actions: &[PolicyAction],
    scope: &Scope,
    limits: &ActionLimits,
) -> Result<Vec<Action>, ValidationError> {
    if actions.len() > limits.max_actions {
        return Err(ValidationError::TooMany { count: actions.len(), max: limits.max_actions });
    }
    let rollbacks: Vec<usize> = actions
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a, PolicyAction::Rollback { .. }))
        .map(|(i, _)| i)
        .collect();
    if let [_, second, ..] = rollbacks.as_slice() {
        let problem = "an evaluation may roll back once; this is its second rollback".to_string();
        return Err(ValidationError::Rejected { index: second + 1, action: "rollback", problem });
    }
    actions
        .iter()
        .enumerate()
        .map(|(i, action)| {
            let after_rollback = rollbacks.first().is_none_or(|r| i > *r);
            let later_rollback = rollbacks.first().filter(|r| **r > i).and_then(|r| match &actions[*r] {
                PolicyAction::Rollback { revision, .. } => Some(*revision),
                _ => None,
            });
            let order = Order { after_rollback, later_rollback };
            validate_one(action, scope, limits, order).map_err(|(name, problem)| ValidationError::Rejected {
                index: i + 1,
                action: name,
                problem,
            })
        })
        .collect()
}

type Problem = (&'static str, String);

/// Where an action stands to the evaluation's rollback.
#[derive(Clone, Copy)]
struct Order {
    /// The action comes after the rollback, or there is none (so it runs
    /// only once the rollback took effect).
    after_rollback: bool,
    /// The revision of the rollback that comes after the action.
    later_rollback: Option<u64>,
}

fn validate_one(action: &PolicyAction, scope: &Scope, limits: &ActionLimits, order: Order) -> Result<Action, Problem> {
    use PolicyAction as A;
    let after_rollback = order.after_rollback;
    match action {
        // An application evaluation takes member actions apart before
        // validating each member's list ([`crate::application`]); one left
        // here is on a workload evaluated alone, or nested.
        A::ForMember { .. } => Err((
            "member",
            "a member action is for a RolloutPolicy that targets an application, at the top level of its answer".into(),
        )),
        A::RestoreConfiguration { revision } => restore_allowed(*revision, order.later_rollback, scope)
            .map(|()| Action::RestoreConfiguration { revision: *revision })
            .map_err(|p| ("restore-configuration", p)),
        A::Rollback { revision, deployment_only: true } => {
            let name = "rollback-deployment";
            if scope.target.kind != "Deployment" || scope.target.group() != "apps" {
                return Err((name, format!("the target {} is not an apps Deployment", scope.target)));
            }
            Ok(Action::Rollback { revision: *revision })
        }
        A::Rollback { revision, deployment_only: false } => {
            if workloads::of(&scope.target).is_none() {
                let kinds = workloads::names();
                return Err((
                    "rollback",
                    format!("the target {} is not a kind rewind rolls back ({kinds})", scope.target),
                ));
            }
            Ok(Action::Rollback { revision: *revision })
        }
        A::MergePatch { object, subresource, patch } => {
            let name = "merge-patch";
            let object = in_scope(object, scope, true).map_err(|p| (name, p))?;
            let value = parse_patch(patch, limits).map_err(|p| (name, p))?;
            let subresource = match subresource {
                Subresource::Main => None,
                Subresource::Status => {
                    if value.as_object().is_some_and(|m| m.keys().any(|k| k != "status")) {
                        return Err((name, "a status patch may only contain `status`".into()));
                    }
                    Some("status".to_string())
                }
            };
            for (path, written) in written_paths(&value) {
                check_write(&object, subresource.is_some(), &path, written, scope).map_err(|p| (name, p))?;
            }
            Ok(Action::MergePatch { object, subresource, patch: value })
        }
        A::DeleteObject(key) => {
            let name = "delete-object";
            let object = in_scope(key, scope, false).map_err(|p| (name, p))?;
            let replaceable = object.kind == "Pod" && scope.replaceable_pods.iter().any(|p| p.same_object(&object));
            if replaceable && !after_rollback {
                return Err((
                    name,
                    format!(
                        "deleting {object} before the rollback: without `delete:Pod` a pod of the failed release is \
                         deleted only after the rollback, so a rollback that fails leaves it"
                    ),
                ));
            }
            if !replaceable {
                let default = if object.kind == "Pod" {
                    " (without it, only pods of the failed release: not Ready ones of an older release, or any of \
                     the release rolled back from)"
                } else {
                    ""
                };
                let lacking = scope.grants.allow(&Need::Delete { kind: &grant_kind(&object.kind, object.group()) });
                lacking.map_err(|e| (name, format!("deleting {object}: {e}{default}")))?;
            }
            Ok(Action::DeleteObject { object })
        }
        A::SetAnnotation { key, value } => {
            let name = "set-annotation";
            check_annotation_key(key).map_err(|p| (name, p))?;
            check_annotation_allowed(key, scope).map_err(|p| (name, p))?;
            check_text("value", value, limits).map_err(|p| (name, p))?;
            if key == ROLLED_BACK_FROM && !after_rollback {
                return Err((
                    name,
                    format!(
                        "{ROLLED_BACK_FROM} is set after the rollback it records, so that it is written only \
                         once the rollback took effect"
                    ),
                ));
            }
            if key == ROLLED_BACK_FROM && scope.rolling_back_from.as_deref() != Some(value.as_str()) {
                let current = scope
                    .rolling_back_from
                    .as_deref()
                    .map_or("none: it does not roll back".to_string(), |r| format!("release {r}"));
                return Err((
                    name,
                    format!(
                        "{ROLLED_BACK_FROM} names the release a rollback leaves, whose pods may then be deleted: it \
                         is set only by an evaluation that rolls back, to the release it rolls back from ({current})"
                    ),
                ));
            }
            Ok(Action::SetAnnotation { key: key.clone(), value: value.clone() })
        }
        A::RemoveAnnotation(key) => {
            let name = "remove-annotation";
            check_annotation_key(key).map_err(|p| (name, p))?;
            check_annotation_allowed(key, scope).map_err(|p| (name, p))?;
            Ok(Action::RemoveAnnotation { key: key.clone() })
        }
        A::SetCondition { kind, status, reason, message } => {
            let name = "set-condition";
            if kind.trim().is_empty() {
                return Err((name, "the condition has an empty type".into()));
            }
            // A condition's reason stays free text: custom resources' own
            // conditions use phrases ("Updating Bookkeeper"), which their
            // schemas allow.
            check_qualified_name("condition type", kind).map_err(|p| (name, p))?;
            if let Some(workload) = workloads::of(&scope.target)
                && workload.controller_conditions().contains(&kind.as_str())
            {
                return Err((
                    name,
                    format!(
                        "condition {kind} of {} is its {} controller's own (kubectl rollout status and GitOps health \
                         read it); a policy reports through its own condition types",
                        scope.target,
                        workload.kind()
                    ),
                ));
            }
            for (field, text) in [("reason", reason), ("message", message)] {
                check_text(field, text, limits).map_err(|p| (name, p))?;
            }
            Ok(Action::SetCondition {
                condition: ConditionSpec {
                    kind: kind.clone(),
                    status: condition_status_text(*status).to_string(),
                    reason: reason.clone(),
                    message: message.clone(),
                },
            })
        }
        A::EmitEvent { event_type, reason, message } => {
            let name = "emit-event";
            if reason.trim().is_empty() {
                return Err((name, "the event has an empty reason".into()));
            }
            check_reason("event reason", reason, MAX_EVENT_REASON).map_err(|p| (name, p))?;
            if super::controller_events::ALL.contains(&reason.as_str()) {
                return Err((
                    name,
                    format!("event reason {reason} is the controller's own: it records what rewind did"),
                ));
            }
            for (field, text) in [("reason", reason), ("message", message)] {
                check_text(field, text, limits).map_err(|p| (name, p))?;
            }
            Ok(Action::EmitEvent { event_type: *event_type, reason: reason.clone(), message: message.clone() })
        }
    }
}

/// A restore writes the ConfigMaps of one release, with what was recorded
/// of them: the release the target runs (its configuration changed alone),
/// or the one a rollback after it returns to, so the pods it starts find
/// their configuration. The grant to write ConfigMaps' data is asked for
/// either way.
fn restore_allowed(revision: u64, later_rollback: Option<u64>, scope: &Scope) -> Result<(), String> {
    if scope.current_revision != Some(revision) && later_rollback != Some(revision) {
        let current = scope.current_revision.map_or("none".to_string(), |r| r.to_string());
        return Err(format!(
            "revision {revision} is neither the release {} runs (revision {current}) nor one a rollback after this              action returns to",
            scope.target
        ));
    }
    let path = ["data".to_string()];
    scope
        .grants
        .allow(&Need::Write { kind: "ConfigMap", path: &path })
        .map_err(|e| format!("restoring the ConfigMaps of revision {revision}: {e}"))
}

/// The key, if it names the target (when allowed) or an object of its tree.
fn in_scope(key: &ObjectKey, scope: &Scope, target_allowed: bool) -> Result<ObjectKey, String> {
    let key = key.clone();
    check_api_version(&key.api_version).map_err(|e| format!("{key}: {e}"))?;
    // Patched, never deleted: `target_allowed` is what a patch asks.
    if target_allowed && scope.gitops_owner.as_ref().is_some_and(|owner| owner.same_object(&key)) {
        return Ok(key);
    }
    if key.namespace.is_none() {
        return Err(format!("{key}: cluster-scoped objects are outside any workload's scope"));
    }
    if key.namespace != scope.target.namespace {
        return Err(format!("{key} is outside the target's namespace"));
    }
    if key.same_object(&scope.target) {
        return if target_allowed {
            Ok(key)
        } else {
            Err(format!("{key} is the target itself; a policy may only delete objects the target owns"))
        };
    }
    if scope.owned.iter().any(|owned| owned.same_object(&key)) {
        Ok(key)
    } else {
        Err(format!("{key} is not in the ownership tree of {}", scope.target))
    }
}

fn parse_patch(text: &str, limits: &ActionLimits) -> Result<Value, String> {
    if text.len() > limits.max_patch_bytes {
        return Err(format!("the patch is {} bytes; at most {} are allowed", text.len(), limits.max_patch_bytes));
    }
    // serde_json stops at a nesting depth of 128 on its own; the depth check
    // below applies the (lower) host limit.
    let value: Value = serde_json::from_str(text).map_err(|e| format!("the patch is not valid JSON: {e}"))?;
    if !value.is_object() {
        return Err("a merge patch must be a JSON object".into());
    }
    let depth = json_depth(&value);
    if depth > limits.max_json_depth {
        return Err(format!("the patch nests {depth} levels deep; at most {} are allowed", limits.max_json_depth));
    }
    Ok(value)
}

/// The fields a merge patch writes, with what it writes there: every path
/// to a value that is not a non-empty object (a scalar, an array, `null`
/// for a removal).
fn written_paths(patch: &Value) -> Vec<(Vec<String>, &Value)> {
    fn walk<'v>(value: &'v Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'v Value)>) {
        match value.as_object() {
            Some(map) if !map.is_empty() || path.is_empty() => {
                for (key, child) in map {
                    path.push(key.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => out.push((path.clone(), value)),
        }
    }
    let mut out = Vec::new();
    walk(patch, &mut Vec::new(), &mut out);
    out
}

/// Whether a patch of `object` may write `path`: never identity or
/// server-owned fields, never status through the main resource (the API
/// server drops it there, so an offline run would pass what the cluster
/// ignores); the target's own annotations without a grant; anything else
/// with one.
fn check_write(object: &ObjectKey, status: bool, path: &[String], value: &Value, scope: &Scope) -> Result<(), String> {
    let shown = pointer(path);
    if !status && path.first().is_some_and(|p| p == "status") {
        return Err(format!(
            "the patch writes `{shown}` of {object} through the main resource, where the API server ignores \
             status; use the status subresource"
        ));
    }
    if let Some(why) = never_writable(path) {
        return Err(format!("the patch writes `{shown}` of {object}, which no grant opens: {why}"));
    }
    let annotation = match path {
        [metadata, annotations, key] if metadata == "metadata" && annotations == "annotations" => Some(key),
        _ => None,
    };
    if let Some(key) = annotation {
        // What the API server would refuse is refused offline too.
        check_annotation_key(key)?;
        if !(value.is_string() || value.is_null()) {
            return Err(format!("the patch sets annotation {key:?} of {object} to {value}, not a string"));
        }
        // The rollback mark is set with the rollback (`set-annotation`) and
        // nowhere else: no grant opens it, on any object. Removing it opens
        // nothing.
        if key == ROLLED_BACK_FROM && !value.is_null() {
            return Err(format!(
                "the patch sets {ROLLED_BACK_FROM} of {object}, which no grant opens: it names the release a \
                 rollback leaves and is set only by `set-annotation` after that rollback"
            ));
        }
        let own = !reserved_annotation(key);
        if object.same_object(&scope.target) && own {
            return Ok(());
        }
    }
    scope
        .grants
        .allow(&Need::Write { kind: &grant_kind(&object.kind, object.group()), path })
        .map_err(|e| format!("writing `{shown}` of {object}: {e}"))
}

/// The target's annotations are the policy's own, except those another
/// component acts on (a Deployment's revision, kubectl's last-applied
/// configuration, Flux's and Argo CD's own).
fn check_annotation_allowed(key: &str, scope: &Scope) -> Result<(), String> {
    let Some(owner) = annotation_owner(key) else { return Ok(()) };
    let path = ["metadata".to_string(), "annotations".to_string(), key.to_string()];
    scope
        .grants
        .allow(&Need::Write { kind: &grant_kind(&scope.target.kind, scope.target.group()), path: &path })
        .map_err(|e| format!("annotation {key:?} is read by {owner}: {e}"))
}

fn check_text(field: &str, text: &str, limits: &ActionLimits) -> Result<(), String> {
    if text.len() > limits.max_text_bytes {
        return Err(format!("the {field} is {} bytes; at most {} are allowed", text.len(), limits.max_text_bytes));
    }
    // Shown on terminals and in `kubectl describe`: a control character
    // could rewrite what is displayed around it. Line breaks and tabs stay.
    if let Some(c) = text.chars().find(|c| is_hidden_control(*c)) {
        return Err(format!("the {field} holds the control character U+{:04X}", c as u32));
    }
    Ok(())
}

/// Control characters other than line breaks and tabs, and the Unicode
/// controls that reorder text on display.
pub fn is_hidden_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Kubernetes' limit for an event's reason (events.k8s.io/v1).
const MAX_EVENT_REASON: usize = 128;

/// An event's reason: at most 128 characters (the API server's limit), in
/// the form of metav1.Condition's reason, `[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?`,
/// which event reasons follow by convention (`RollingBack`).
fn check_reason(what: &str, reason: &str, max: usize) -> Result<(), String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let ok = reason.len() <= max
        && reason.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && reason.bytes().all(|b| word(b) || b == b',' || b == b':')
        && reason.bytes().last().is_some_and(word);
    if !ok {
        let shown: String = reason.chars().take(64).collect();
        return Err(format!(
            "{what} {shown:?} is invalid: it must be at most {max} characters, a letter first, then letters, digits, \
             '_', ',' or ':', not ending in ',' or ':' (e.g. RollingBack)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! The change each validated action makes, computed once from the objects
//! as they are. Both executors carry out the same [`Change`]: the in-memory
//! one on an object set, the API-server one as requests. They differ in
//! I/O only.

use crate::actions::{Action, ConditionSpec, EventType};
use crate::configuration;
use crate::objects::{self, ObjectKey, ObjectSet};
use crate::workloads::{self, UndoOutcome};
use serde_json::{Value, json};

/// The evaluation an action list belongs to.
#[derive(Clone, Debug)]
pub struct ExecutionContext {
    pub target: ObjectKey,
    /// Evaluation time, used for condition transitions and event times.
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// `updated` replaces the object whole (a rollback, which may replace
    /// the annotations map as `kubectl rollout undo` does).
    Replace { object: ObjectKey, updated: Value },
    /// An RFC 7386 merge patch of the object or of its status.
    MergePatch { object: ObjectKey, status: bool, patch: Value },
    /// A delete whose dependents go to the garbage collector.
    Delete { object: ObjectKey, uid: Option<String> },
    /// A new object (an Event).
    Create { object: Value },
    /// The ConfigMaps of a release, written back as recorded.
    Configuration { writes: Vec<configuration::Write> },
}

/// What carrying out an action comes to.
#[derive(Clone, Debug, PartialEq)]
pub enum Planned {
    /// Make `change`; `done` says what it did.
    Change { change: Change, done: String },
    /// Nothing to do, and why.
    Skip(String),
}

impl ExecutionContext {
    /// The context `action` runs in and the action to run there: a member
    /// action runs with its member as the target.
    pub fn resolve<'a>(&self, action: &'a Action) -> (ExecutionContext, &'a Action) {
        match action.on_member() {
            (Some(member), inner) => (ExecutionContext { target: member.clone(), now: self.now }, inner),
            (None, action) => (self.clone(), action),
        }
    }
}

impl Action {
    /// Whether planning reads the target as it is now: an executor on a
    /// live cluster refreshes it (and the workload's history, for a
    /// rollback) before calling [`plan`].
    pub fn reads_target(&self) -> bool {
        matches!(
            self.on_member().1,
            Action::Rollback { .. } | Action::RemoveAnnotation { .. } | Action::SetCondition { .. }
        )
    }
}

/// Whether rolling the target back to `revision` would change it now: a
/// rollback to the release it already runs restores nothing, and so opens
/// nothing a rollback opens (deleting the pods of the release left, the
/// rollback mark).
pub fn rollback_restores(set: &ObjectSet, context: &ExecutionContext, revision: u64) -> bool {
    matches!(plan(set, context, &Action::Rollback { revision }), Ok(Planned::Change { .. }))
}

/// The change `action` makes to `set`, where `context.target` is the
/// evaluation's target (or the member a member action names). An error
/// names why it cannot be made.
pub fn plan(set: &ObjectSet, context: &ExecutionContext, action: &Action) -> Result<Planned, String> {
    let (context, action) = context.resolve(action);
    let context = &context;
    let target_key = &context.target;
    let target_id = set.find_key(target_key).ok_or_else(|| format!("{target_key} no longer exists"))?;
    let target = set.get(target_id).expect("found above");
    let change = |change: Change, done: String| Ok(Planned::Change { change, done });
    match action {
        Action::Rollback { revision } => {
            let workload = workloads::of(target_key)
                .ok_or_else(|| format!("{target_key} is not a kind rewind rolls back ({})", workloads::names()))?;
            let history = workloads::owned_history(workload, target, set.iter().map(|(_, v)| v));
            match workload.plan_undo(target, &history, *revision).map_err(|e| e.to_string())? {
                UndoOutcome::AlreadyCurrent { from } => Ok(Planned::Skip(format!(
                    "revision {revision} ({from}) is already the {}'s template",
                    workload.kind()
                ))),
                UndoOutcome::Restore { updated, from } => change(
                    Change::Replace { object: target_key.clone(), updated },
                    format!("rolled back to revision {revision} ({from})"),
                ),
            }
        }
        Action::MergePatch { object, subresource, patch } => {
            if set.find_key(object).is_none() {
                return Err(format!("{object} does not exist"));
            }
            let status = subresource.as_deref() == Some("status");
            change(
                Change::MergePatch { object: object.clone(), status, patch: patch.clone() },
                format!("patched {object}"),
            )
        }
        Action::DeleteObject { object } => {
            let id = set.find_key(object).ok_or_else(|| format!("{object} does not exist"))?;
            let uid = set.get(id).and_then(objects::uid).map(str::to_string);
            change(Change::Delete { object: object.clone(), uid }, format!("deleted {object}"))
        }
        Action::SetAnnotation { key, value } => change(
            Change::MergePatch { object: target_key.clone(), status: false, patch: annotation_patch(key, Some(value)) },
            format!("set annotation {key}"),
        ),
        Action::RemoveAnnotation { key } => {
            if objects::annotation(target, key).is_none() {
                return Ok(Planned::Skip(format!("annotation {key} was not set")));
            }
            change(
                Change::MergePatch { object: target_key.clone(), status: false, patch: annotation_patch(key, None) },
                format!("removed annotation {key}"),
            )
        }
        Action::SetCondition { condition } => {
            let conditions = upsert_condition(target.pointer("/status/conditions"), condition, context.now);
            change(
                Change::MergePatch {
                    object: target_key.clone(),
                    status: true,
                    patch: json!({"status": {"conditions": conditions}}),
                },
                format!("set condition {}={}", condition.kind, condition.status),
            )
        }
        Action::EmitEvent { event_type, reason, message } => {
            let sequence = set.iter().filter(|(_, v)| objects::kind(v) == Some("Event")).count();
            let event = event_object(target, *event_type, reason, message, context.now, sequence);
            change(Change::Create { object: event }, format!("{event_type:?} event {reason}"))
        }
        Action::RestoreConfiguration { revision } => plan_restore(set, target_key, target, *revision),
        Action::Member { .. } => Err("a member action names another member action".into()),
    }
}

pub fn annotation_patch(key: &str, value: Option<&str>) -> Value {
    json!({"metadata": {"annotations": {key: value}}})
}

/// The `status.conditions` list with `condition` set: an existing entry of
/// the same type is updated, and its `lastTransitionTime` moves only when
/// the status changes. Lists whose entries carry `lastUpdateTime` (as some
/// operators' do) keep that convention: it is set on every update.
pub fn upsert_condition(current: Option<&Value>, condition: &ConditionSpec, now: i64) -> Value {
    let mut list: Vec<Value> = current.and_then(Value::as_array).cloned().unwrap_or_default();
    let now = crate::time::format(now);
    let tracks_updates = list.iter().any(|c| c.get("lastUpdateTime").is_some());
    let existing = list.iter_mut().find(|c| c.get("type").and_then(Value::as_str) == Some(condition.kind.as_str()));
    match existing {
        Some(entry) => {
            if entry.get("status").and_then(Value::as_str) != Some(condition.status.as_str()) {
                entry["lastTransitionTime"] = json!(now);
            }
            entry["status"] = json!(condition.status);
            entry["reason"] = json!(condition.reason);
            entry["message"] = json!(condition.message);
            if tracks_updates {
                entry["lastUpdateTime"] = json!(now);
            }
        }
        None => {
            let mut entry = json!({
                "type": condition.kind, "status": condition.status, "reason": condition.reason,
                "message": condition.message, "lastTransitionTime": now,
            });
            if tracks_updates {
                entry["lastUpdateTime"] = json!(now);
            }
            list.push(entry);
        }
    }
    Value::Array(list)
}

/// The writes that give the ConfigMaps of `target`'s release `revision`
/// what was recorded of them; a ConfigMap the record keeps no data of is
/// named in what the outcome says.
fn plan_restore(set: &ObjectSet, target_key: &ObjectKey, target: &Value, revision: u64) -> Result<Planned, String> {
    let workload = workloads::of(target_key)
        .ok_or_else(|| format!("{target_key} is not a kind rewind rolls back ({})", workloads::names()))?;
    let history = workloads::owned_history(workload, target, set.iter().map(|(_, v)| v))
        .into_iter()
        .find(|history| workload.revision(history).ok().flatten() == Some(revision))
        .ok_or_else(|| format!("{target_key} has no {} with revision {revision}", workload.history_kind()))?;
    let (writes, left) = configuration::plan_restore(set, history)?;
    let left = match left.is_empty() {
        true => String::new(),
        false => format!("; left as they are: {}", left.join(", ")),
    };
    if writes.is_empty() {
        return Ok(Planned::Skip(format!("the ConfigMaps of revision {revision} hold what was recorded{left}")));
    }
    let names: Vec<String> = writes.iter().map(|w| w.key().name.clone()).collect();
    Ok(Planned::Change {
        change: Change::Configuration { writes },
        done: format!("restored ConfigMap {} as revision {revision} had it{left}", names.join(", ")),
    })
}

/// A core/v1 Event about `target`, as the controller would create it.
pub fn event_object(
    target: &Value,
    event_type: EventType,
    reason: &str,
    message: &str,
    now: i64,
    sequence: usize,
) -> Value {
    let name = objects::name(target).unwrap_or("unknown");
    let time = crate::time::format(now);
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{name}.rewind.{now}.{sequence}"), "namespace": objects::namespace(target)},
        "involvedObject": {
            "apiVersion": target.get("apiVersion"), "kind": target.get("kind"), "name": name,
            "namespace": objects::namespace(target), "uid": objects::uid(target),
        },
        "type": format!("{event_type:?}"),
        "reason": reason,
        "message": message,
        "firstTimestamp": time,
        "lastTimestamp": time,
        "count": 1,
        "source": {"component": "rewind"},
        "reportingComponent": "rewind",
    })
}

//! Carrying out validated actions. One interface, two implementations: the
//! in-memory one here (for `rewind eval --apply` and `rewind test`) and the
//! API-server one of the controller. Both carry out the [`Change`] that
//! [`crate::change::plan`] computes for each action.

use crate::actions::{Action, apply_merge_patch};
use crate::change::{Change, Planned, plan};
use crate::configuration::Write;
use crate::objects::{self, ObjectKey, ObjectSet};
use serde::Serialize;
use serde_json::{Value, json};

// Defined in `change`, which plans from it; the host names it
// `executor::ExecutionContext`.
pub use crate::change::ExecutionContext;

/// What an executed action did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "lowercase")]
pub enum Outcome {
    Applied(String),
    Skipped(String),
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("action {index} ({action}) failed: {message}")]
pub struct ExecutionError {
    pub index: usize,
    pub action: &'static str,
    pub message: String,
    /// The object changed since the decision was made (HTTP 409): decide
    /// again on fresh state rather than report a failure.
    pub conflict: bool,
}

/// What executing an action list did: the outcome of each action that ran,
/// and the failure that stopped it, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    pub outcomes: Vec<Outcome>,
    pub failure: Option<ExecutionError>,
}

/// Carries out validated actions. Async because the API-server executor
/// is; the in-memory one completes at once.
pub trait Executor {
    /// Executes the actions in order, stopping at the first failure. The
    /// in-memory executor then has changed nothing (`outcomes` is empty); an
    /// API-server executor reports the outcomes of the actions before it.
    fn execute(&mut self, context: &ExecutionContext, actions: &[Action]) -> impl Future<Output = Executed>;
}

/// Only a rollback that is carried out opens what a rollback opens. The
/// actions were validated against the objects as they were; if, by the
/// time it runs, a workload's rollback changes nothing (the template was
/// restored meanwhile), the pod deletions and the rollback mark after it on
/// that workload are not carried out: no release was left. Every executor
/// runs its list through one gate, which tells an application's members
/// apart.
#[derive(Debug, Default)]
pub struct RollbackGate {
    rollback_skipped: Vec<ObjectKey>,
}

impl RollbackGate {
    /// The outcome of `action` without running it, when the gate holds it.
    pub fn holds(&self, context: &ExecutionContext, action: &Action) -> Option<Outcome> {
        let (context, action) = context.resolve(action);
        let opened_by_rollback = match action {
            Action::DeleteObject { object } => object.kind == "Pod" && object.group().is_empty(),
            Action::SetAnnotation { key, .. } => key == crate::snapshot::ROLLED_BACK_FROM,
            _ => false,
        };
        let skipped = self.rollback_skipped.iter().any(|target| target.same_object(&context.target));
        (skipped && opened_by_rollback).then(|| {
            Outcome::Skipped(format!(
                "not carried out: the rollback before it changed nothing, so no release was left ({})",
                action.type_name()
            ))
        })
    }

    /// Notes what `action` did.
    pub fn record(&mut self, context: &ExecutionContext, action: &Action, outcome: &Outcome) {
        let (context, action) = context.resolve(action);
        if matches!(action, Action::Rollback { .. }) && matches!(outcome, Outcome::Skipped(_)) {
            self.rollback_skipped.push(context.target);
        }
    }
}

/// Executes against an [`ObjectSet`], all or nothing: actions run on a copy
/// that replaces the set only when every action succeeded.
pub struct InMemoryExecutor<'a> {
    pub objects: &'a mut ObjectSet,
}

impl Executor for InMemoryExecutor<'_> {
    async fn execute(&mut self, context: &ExecutionContext, actions: &[Action]) -> Executed {
        let mut working = self.objects.clone();
        let mut outcomes = Vec::with_capacity(actions.len());
        let mut gate = RollbackGate::default();
        for (i, action) in actions.iter().enumerate() {
            let outcome = match gate.holds(context, action) {
                Some(held) => Ok(held),
                None => execute_one(&mut working, context, action),
            };
            match outcome {
                Ok(outcome) => {
                    gate.record(context, action, &outcome);
                    outcomes.push(outcome);
                }
                Err(message) => {
                    let failure = ExecutionError { index: i + 1, action: action.type_name(), message, conflict: false };
                    return Executed { outcomes: Vec::new(), failure: Some(failure) };
                }
            }
        }
        *self.objects = working;
        Executed { outcomes, failure: None }
    }
}

impl InMemoryExecutor<'_> {
    /// [`Executor::execute`] for synchronous callers: the in-memory future
    /// never waits.
    pub fn execute_now(
        &mut self,
        context: &ExecutionContext,
        actions: &[Action],
    ) -> Result<Vec<Outcome>, ExecutionError> {
        let executed = futures::executor::block_on(self.execute(context, actions));
        match executed.failure {
            Some(failure) => Err(failure),
            None => Ok(executed.outcomes),
        }
    }
}

fn execute_one(set: &mut ObjectSet, context: &ExecutionContext, action: &Action) -> Result<Outcome, String> {
    match plan(set, context, action)? {
        Planned::Skip(why) => Ok(Outcome::Skipped(why)),
        Planned::Change { change, done } => {
            apply(set, change)?;
            Ok(Outcome::Applied(done))
        }
    }
}

/// Makes `change` to the set as an API server would: a spec change bumps
/// `metadata.generation`, and a delete takes the dependents with it.
pub fn apply(set: &mut ObjectSet, change: Change) -> Result<(), String> {
    let find = |set: &ObjectSet, key: &ObjectKey| set.find_key(key).ok_or_else(|| format!("{key} does not exist"));
    match change {
        Change::Replace { object, updated } => {
            let id = find(set, &object)?;
            update(set, id, |v| *v = updated);
        }
        Change::MergePatch { object, patch, .. } => {
            let id = find(set, &object)?;
            update(set, id, |v| apply_merge_patch(v, &patch));
        }
        Change::Delete { object, .. } => {
            let id = find(set, &object)?;
            let deleted = set.remove(id);
            collect_garbage(set, deleted.as_ref().and_then(objects::uid).map(str::to_string));
        }
        Change::Create { object } => {
            set.insert(object, objects::Origin("emitted by the policy".into())).map_err(|e| e.to_string())?;
        }
        Change::Configuration { writes } => {
            for write in writes {
                match write {
                    Write::Replace { key, updated } => {
                        let id = find(set, &key)?;
                        update(set, id, |v| *v = updated);
                    }
                    Write::Create { key, object, delete_first } => {
                        if delete_first.is_some() {
                            let id = find(set, &key)?;
                            set.remove(id);
                        }
                        set.insert(object, objects::Origin("restored by rewind".into())).map_err(|e| e.to_string())?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Removes what the garbage collector would after a background-propagated
/// delete of the object with `deleted_uid`: every object all of whose
/// owners have been removed this way, transitively. An object whose owner
/// is merely absent (not in the dump) stays: the set cannot tell it is gone.
fn collect_garbage(set: &mut ObjectSet, deleted_uid: Option<String>) {
    let mut removed: std::collections::HashSet<String> = deleted_uid.into_iter().collect();
    loop {
        let dependents: Vec<usize> = set
            .iter()
            .filter(|(_, v)| {
                let owners = objects::owner_references(v);
                !owners.is_empty() && owners.iter().all(|o| removed.contains(&o.uid))
            })
            .map(|(id, _)| id)
            .collect();
        if dependents.is_empty() {
            return;
        }
        for id in dependents {
            if let Some(gone) = set.remove(id) {
                removed.extend(objects::uid(&gone).map(str::to_string));
            }
        }
    }
}

/// Applies `change` to an object and, as the API server does, bumps
/// `metadata.generation` when its spec changed.
fn update(set: &mut ObjectSet, id: usize, change: impl FnOnce(&mut Value)) {
    let Some(object) = set.get_mut(id) else {
        return;
    };
    let spec_before = object.get("spec").cloned();
    let template_before = object.pointer("/spec/template").cloned();
    let generation_before = object.pointer("/metadata/generation").cloned();
    change(object);
    if object.get("spec") != spec_before.as_ref()
        && let Some(generation) = generation_before.as_ref().and_then(Value::as_i64)
    {
        object["metadata"]["generation"] = json!(generation + 1);
    }
    if object.pointer("/spec/template") != template_before.as_ref()
        && let Some(workload) = crate::workloads::of_value(object)
    {
        workload.on_template_change(object);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{ConditionSpec, EventType};
    use crate::change::upsert_condition;
    use crate::fixtures::*;

    fn context() -> ExecutionContext {
        ExecutionContext { target: ObjectKey::of(&deployment("x")).unwrap(), now: 1_730_903_640 }
    }

    #[test]
    fn a_failing_action_leaves_the_set_untouched() {
        let mut set = set_of([deployment("web:3"), replica_set("3", "web:3")]);
        let before = format!("{:?}", set);
        let actions = [Action::SetAnnotation { key: "a".into(), value: "b".into() }, Action::Rollback { revision: 9 }];
        let err = InMemoryExecutor { objects: &mut set }.execute_now(&context(), &actions).unwrap_err();
        assert_eq!(err.index, 2);
        assert!(err.message.contains("revision 9"), "{err}");
        assert_eq!(format!("{:?}", set), before);
    }

    #[test]
    fn rollback_restores_the_template_and_bumps_generation() {
        let mut set = set_of([deployment("web:3"), replica_set("2", "web:2"), replica_set("3", "web:3")]);
        let outcomes = InMemoryExecutor { objects: &mut set }
            .execute_now(&context(), &[Action::Rollback { revision: 2 }, Action::Rollback { revision: 2 }])
            .unwrap();
        assert!(matches!(outcomes[0], Outcome::Applied(_)));
        assert!(matches!(outcomes[1], Outcome::Skipped(_)), "second undo is a no-op: {outcomes:?}");
        let d = set.get(0).unwrap();
        assert_eq!(d.pointer("/spec/template/spec/containers/0/image").unwrap(), "web:2");
        assert_eq!(d.pointer("/metadata/generation").unwrap(), 4);
        assert_eq!(objects::annotation(d, "deployment.kubernetes.io/revision"), Some("3"));
    }

    #[test]
    fn after_a_rollback_that_changed_nothing_no_pod_is_deleted_and_no_mark_is_set() {
        let mut set =
            set_of([deployment("web:3"), replica_set("2", "web:2"), replica_set("3", "web:3"), pod("3", "a", None)]);
        let serving = ObjectKey::of(set.get(3).unwrap()).unwrap();
        let mark = Action::SetAnnotation { key: crate::snapshot::ROLLED_BACK_FROM.into(), value: "3".into() };
        let event =
            Action::EmitEvent { event_type: EventType::Normal, reason: "RollingBack".into(), message: String::new() };
        let actions = [Action::Rollback { revision: 3 }, Action::DeleteObject { object: serving }, mark, event];
        let outcomes = InMemoryExecutor { objects: &mut set }.execute_now(&context(), &actions).unwrap();
        assert!(matches!(&outcomes[0], Outcome::Skipped(_)), "{outcomes:?}");
        for held in &outcomes[1..3] {
            assert!(matches!(held, Outcome::Skipped(why) if why.contains("the rollback before it changed nothing")));
        }
        assert!(matches!(&outcomes[3], Outcome::Applied(_)), "an event is no rollback's to open: {outcomes:?}");
        assert!(set.iter().any(|(_, v)| objects::name(v) == Some("web-h3-a")), "the serving pod stays");
        assert_eq!(objects::annotation(set.get(0).unwrap(), crate::snapshot::ROLLED_BACK_FROM), None);
    }

    #[test]
    fn conditions_keep_their_transition_time_while_status_is_unchanged() {
        let spec = |status: &str| ConditionSpec {
            kind: "Ready".into(),
            status: status.into(),
            reason: "R".into(),
            message: "m".into(),
        };
        let first = upsert_condition(None, &spec("False"), 100);
        let same = upsert_condition(Some(&first), &spec("False"), 200);
        assert_eq!(same[0]["lastTransitionTime"], first[0]["lastTransitionTime"]);
        let flipped = upsert_condition(Some(&same), &spec("True"), 300);
        assert_eq!(flipped[0]["lastTransitionTime"], crate::time::format(300));
        assert_eq!(flipped.as_array().unwrap().len(), 1);
        assert!(flipped[0].get("lastUpdateTime").is_none());
    }

    #[test]
    fn lists_with_update_times_keep_them_current() {
        let spec =
            ConditionSpec { kind: "Error".into(), status: "True".into(), reason: "R".into(), message: "m".into() };
        let list = serde_json::json!([{"type": "PodsReady", "status": "True", "lastUpdateTime": "x", "lastTransitionTime": "x"}]);
        let updated = upsert_condition(Some(&list), &spec, 300);
        assert_eq!(updated[1]["lastUpdateTime"], crate::time::format(300));
        assert_eq!(updated[0]["lastUpdateTime"], "x");
    }

    #[test]
    fn deleting_an_owner_collects_its_dependents() {
        // A pod whose ReplicaSet is not in the dump is not the deleted
        // object's dependent: it stays.
        let mut orphan = pod("2", "b", None);
        orphan["metadata"]["ownerReferences"][0]["uid"] = serde_json::json!("uid-not-in-the-dump");
        let mut set = set_of([deployment("web:3"), replica_set("3", "web:3"), pod("3", "a", None), orphan]);
        let mut context = context();
        context.target = ObjectKey::of(&deployment("x")).unwrap();
        // Delete the ReplicaSet: its pod goes with it, the Deployment stays.
        let rs = ObjectKey::of(&replica_set("3", "web:3")).unwrap();
        let outcomes = InMemoryExecutor { objects: &mut set }
            .execute_now(&context, &[Action::DeleteObject { object: rs }])
            .unwrap();
        assert_eq!(outcomes[0], Outcome::Applied("deleted ReplicaSet/web-h3 in namespace shop".into()));
        let left: Vec<_> = set.iter().filter_map(|(_, v)| objects::name(v)).collect();
        assert_eq!(left, ["web", "web-h2-b"]);
    }

    #[test]
    fn events_become_event_objects_about_the_target() {
        let mut set = set_of([deployment("web:3")]);
        let action =
            Action::EmitEvent { event_type: EventType::Warning, reason: "RollbackFailed".into(), message: "m".into() };
        InMemoryExecutor { objects: &mut set }.execute_now(&context(), &[action]).unwrap();
        let event = set.iter().map(|(_, v)| v).find(|v| objects::kind(v) == Some("Event")).unwrap();
        assert_eq!(event["involvedObject"]["name"], "web");
        assert_eq!(event["type"], "Warning");
    }
}

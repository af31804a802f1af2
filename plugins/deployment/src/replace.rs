//! Pods a rollback leaves on the abandoned revision that their controller
//! will not replace on its own: with an `OnDelete` strategy none is
//! replaced until deleted, and a StatefulSet's `OrderedReady` rolling update
//! waits forever for a pod that is not Ready before it replaces anything
//! (Kubernetes issue 67250). Deleting them lets the controller recreate
//! them from the restored template.
//!
//! "Abandoned" means made from a release created after the current one: a
//! rollback makes an older release current again, while in a rollout going
//! forward the current release is the newest, so nothing is deleted then.

use crate::workload::{Kind, Workload};
use rewind_sdk::classify::{self, Limits};
use rewind_sdk::{Action, Finding, ObjectKey, Pod, Snapshot, act};

/// A finding naming the pods to delete, and the deletions; none when no pod
/// is left behind (or the kind replaces every pod itself).
pub fn pods_left_behind(snapshot: &Snapshot, workload: &Workload, limits: Limits) -> (Option<Finding>, Vec<Action>) {
    let nothing = (None, Vec::new());
    if workload.kind == Kind::Deployment || !(workload.on_delete || workload.ordered_ready) {
        return nothing;
    }
    let Some(current) = snapshot.current_release() else { return nothing };
    let Some(current_created) = current.created else { return nothing };
    let left: Vec<&Pod> = snapshot
        .releases
        .iter()
        .filter(|r| r.created.is_some_and(|created| created > current_created))
        .flat_map(|r| snapshot.pods_of(r))
        .filter(|pod| !pod.deleting && (workload.on_delete || stuck(snapshot, pod, limits)))
        .collect();
    if left.is_empty() {
        return nothing;
    }
    let names: Vec<&str> = left.iter().map(|pod| snapshot.pod_name(pod)).collect();
    let why = if workload.on_delete {
        "its OnDelete strategy replaces a pod only when it is deleted"
    } else {
        "its OrderedReady rolling update waits for every pod to be Ready before replacing any"
    };
    let (kind, name) = (workload.name(), &snapshot.target.name);
    let (pods, run, them) = match names.len() {
        1 => ("pod", "runs", "it"),
        _ => ("pods", "run", "them"),
    };
    let message = format!(
        "{pods} {} {run} a revision newer than the current revision {id} of {kind} {name}, and {why}: deleting \
         {them} so that {them} {} recreated from revision {id}",
        names.join(", "),
        if names.len() == 1 { "is" } else { "are" },
        id = current.id,
    );
    let finding = Finding { reason: "ReplacingPods".into(), message, pod: None, container: None, since: None };
    let namespace = snapshot.target.namespace.to_string();
    let mut actions: Vec<Action> = names
        .iter()
        .map(|pod| {
            act::delete(ObjectKey {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: Some(namespace.clone()),
                name: pod.to_string(),
            })
        })
        .collect();
    actions.push(act::normal("ReplacingPods", format!("deleting {pods} {} to replace {them}", names.join(", "))));
    (Some(finding), actions)
}

/// Not Ready, or with a problem, for at least the grace period.
fn stuck(snapshot: &Snapshot, pod: &Pod, limits: Limits) -> bool {
    classify::not_ready_since(pod).is_some_and(|since| snapshot.now - since >= limits.grace_seconds)
        || classify::pod_problems(pod).iter().any(|p| p.since.is_some() && p.age(snapshot.now) >= limits.grace_seconds)
}

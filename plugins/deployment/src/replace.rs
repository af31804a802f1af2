//! Pods a rollback leaves on the abandoned revision that their controller
//! will not replace on its own: a StatefulSet's `OrderedReady` rolling
//! update waits forever for a pod that is not Ready before it replaces
//! anything (Kubernetes issue 67250), and with an `OnDelete` strategy no pod
//! is replaced until it is deleted. Deleting them lets the controller
//! recreate them from the restored template.
//!
//! "Abandoned" means made from a release created after the current one: a
//! rollback makes an older release current again, while a rollout going
//! forward has no release newer than the current one. A pod that is not
//! Ready serves nothing, so those are deleted after any revert (up to
//! [`MAX_DELETIONS`] an evaluation, under the host's action limit). A Ready
//! pod of an `OnDelete` workload is deleted only after this policy's own
//! rollback, which marks the workload with [`ROLLED_BACK_FROM`], and one at a
//! time, once every pod of the current release is Ready again; the mark is
//! removed when no pod is left behind.

use crate::workload::{Kind, Strategy};
use rewind_sdk::classify::{self, Limits};
use rewind_sdk::{Action, ConditionStatus, Finding, ObjectKey, Pod, Snapshot, act, view};

/// Set on a StatefulSet or DaemonSet with an `OnDelete` strategy by this
/// policy's rollback, naming the release it left.
pub const ROLLED_BACK_FROM: &str = "rewind.dev/rolled-back-from";

/// Deletions one evaluation asks for at most.
pub const MAX_DELETIONS: usize = 16;

#[derive(Debug, Default)]
pub struct Replacing {
    pub finding: Option<Finding>,
    pub actions: Vec<Action>,
    /// When a pod left behind will have been not Ready for the grace period.
    pub recheck_after: Option<u32>,
}

pub fn pods_left_behind(snapshot: &Snapshot, kind: Kind, strategy: &Strategy, limits: Limits) -> Replacing {
    let mut replacing = Replacing::default();
    if kind == Kind::Deployment || !(strategy.on_delete || strategy.ordered_ready) {
        return replacing;
    }
    let Some(current) = snapshot.current_release() else { return replacing };
    let Some(current_created) = current.created else { return replacing };
    let marked = snapshot.target_annotation(ROLLED_BACK_FROM).is_some();
    let left: Vec<&Pod> = snapshot
        .releases
        .iter()
        .filter(|r| r.created.is_some_and(|created| created > current_created))
        .flat_map(|r| snapshot.pods_of(r))
        .filter(|pod| !pod.deleting)
        .collect();
    if left.is_empty() {
        if marked {
            replacing.actions.push(act::remove_annotation(ROLLED_BACK_FROM));
        }
        return replacing;
    }
    let (ready, not_ready): (Vec<&Pod>, Vec<&Pod>) = left.iter().copied().partition(|pod| is_ready(pod));
    let mut delete: Vec<&Pod> = Vec::new();
    for &pod in &not_ready {
        let since = classify::not_ready_since(pod).unwrap_or(snapshot.now);
        let left_of_grace = limits.grace_seconds - snapshot.seconds_since(since);
        if left_of_grace <= 0 {
            delete.push(pod);
        } else {
            let seconds = u32::try_from(left_of_grace).unwrap_or(u32::MAX);
            replacing.recheck_after = Some(replacing.recheck_after.map_or(seconds, |r| r.min(seconds)));
        }
    }
    delete.truncate(MAX_DELETIONS);
    // Ready pods serve: they are replaced only after this policy's own
    // rollback of an OnDelete workload, one at a time.
    let replaces_ready = strategy.on_delete && marked;
    let settled = snapshot.pods_of(current).all(|pod| is_ready(pod)) && snapshot.pods.iter().all(|pod| !pod.deleting);
    if delete.is_empty() && replaces_ready && settled {
        delete.extend(ready.first().copied());
    }
    let concerned = if replaces_ready { left.len() } else { not_ready.len() };
    if concerned == 0 {
        return replacing;
    }
    let names = |pods: &[&Pod]| pods.iter().map(|pod| snapshot.pod_name(pod)).collect::<Vec<_>>().join(", ");
    let (workload, name) = (kind.name(), &snapshot.target.name);
    let message = if delete.is_empty() {
        format!(
            "{} of {workload} {name} still run a revision newer than the current revision {}; waiting to replace \
             them",
            count(concerned),
            current.id
        )
    } else {
        let why = if strategy.on_delete {
            "its OnDelete strategy replaces a pod only when it is deleted"
        } else {
            "its OrderedReady rolling update waits for every pod to be Ready before replacing any"
        };
        format!(
            "{} of {workload} {name} run a revision newer than the current revision {id}, and {why}: deleting {}, \
             which the controller recreates from revision {id}",
            count(concerned),
            names(&delete),
            id = current.id,
        )
    };
    replacing.finding =
        Some(Finding { reason: "ReplacingPods".into(), message, pod: None, container: None, since: None });
    if delete.is_empty() {
        return replacing;
    }
    let namespace = snapshot.target.namespace.to_string();
    replacing.actions = delete
        .iter()
        .map(|pod| {
            act::delete(ObjectKey {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: Some(namespace.clone()),
                name: snapshot.pod_name(pod).to_string(),
            })
        })
        .collect();
    let event = format!("deleting {}, left on a revision newer than {}", names(&delete), current.id);
    replacing.actions.push(act::normal("ReplacingPods", event));
    replacing
}

fn count(pods: usize) -> String {
    match pods {
        1 => "1 pod".to_string(),
        n => format!("{n} pods"),
    }
}

fn is_ready(pod: &Pod) -> bool {
    view::condition_is(&pod.conditions, "Ready", ConditionStatus::True)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_sdk::{Condition, ObjectInfo, PodPhase, Release, Snapshot, Target, Text};

    const NOW: i64 = 10_000;

    /// A StatefulSet `web` at revision 3 (created at 100) after a rollback
    /// from revision 2 (created at 200), with pods `(name, revision hash,
    /// ready, since)`.
    fn snapshot(pods: &[(&str, &str, bool, i64)], marked: bool) -> Snapshot<'static> {
        let release = |id: &str, hash: &str, created, current| Release {
            id: Text::from(id.to_string()),
            revision: id.parse().ok(),
            object: Some(1),
            pod_template_hash: Some(Text::from(hash.to_string())),
            images: vec![],
            created: Some(created),
            replicas: 0,
            ready_replicas: 0,
            current,
        };
        let info = |kind: &str, name: &str, labels: Vec<(Text<'static>, Text<'static>)>, owner| ObjectInfo {
            api_version: "v1".into(),
            kind: Text::from(kind.to_string()),
            name: Text::from(name.to_string()),
            uid: "".into(),
            labels,
            annotations: vec![],
            owner,
        };
        let mut objects =
            vec![info("StatefulSet", "web", vec![], None), info("ControllerRevision", "web-r", vec![], Some(0))];
        let mut typed_pods = Vec::new();
        for (name, hash, ready, since) in pods {
            let labels = vec![("controller-revision-hash".into(), Text::from(hash.to_string()))];
            objects.push(info("Pod", name, labels, Some(0)));
            let status = if *ready { ConditionStatus::True } else { ConditionStatus::False };
            let ready =
                Condition { kind: "Ready".into(), status, reason: None, message: None, last_transition: Some(*since) };
            typed_pods.push(Pod {
                object: objects.len() as u32 - 1,
                phase: PodPhase::Running,
                reason: None,
                message: None,
                conditions: vec![ready],
                created: Some(*since),
                started: Some(*since),
                deleting: false,
                containers: vec![],
            });
        }
        let annotations = if marked { vec![(ROLLED_BACK_FROM.into(), "2".into())] } else { vec![] };
        Snapshot {
            now: NOW,
            target: Target {
                kind: "StatefulSet".into(),
                name: "web".into(),
                namespace: "shop".into(),
                annotations,
                ..Default::default()
            },
            releases: vec![release("2", "web-new", 200, false), release("3", "web-old", 100, true)],
            objects,
            pods: typed_pods,
            ..Default::default()
        }
    }

    fn deleted(replacing: &Replacing) -> Vec<String> {
        replacing
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::DeleteObject(key) => Some(key.name.clone()),
                _ => None,
            })
            .collect()
    }

    const LIMITS: Limits = Limits { grace_seconds: 60, container_creating_seconds: 600 };

    fn on_delete() -> Strategy {
        Strategy { on_delete: true, ..Default::default() }
    }

    #[test]
    fn pods_not_ready_past_the_grace_period_on_a_newer_revision_are_deleted_after_any_revert() {
        let ordered = Strategy { ordered_ready: true, ..Default::default() };
        let s = snapshot(&[("web-0", "web-old", true, 0), ("web-1", "web-new", false, NOW - 61)], false);
        assert_eq!(deleted(&pods_left_behind(&s, Kind::StatefulSet, &ordered, LIMITS)), ["web-1"]);
        let fresh = snapshot(&[("web-0", "web-old", true, 0), ("web-1", "web-new", false, NOW - 20)], false);
        let waiting = pods_left_behind(&fresh, Kind::StatefulSet, &ordered, LIMITS);
        assert!(deleted(&waiting).is_empty());
        assert_eq!(waiting.recheck_after, Some(40));
    }

    #[test]
    fn ready_pods_of_an_on_delete_workload_are_replaced_one_at_a_time_and_only_after_its_own_rollback() {
        let pods = [("web-0", "web-old", true, 0), ("web-1", "web-new", true, 0), ("web-2", "web-new", true, 0)];
        let unmarked = pods_left_behind(&snapshot(&pods, false), Kind::StatefulSet, &on_delete(), LIMITS);
        assert!(unmarked.actions.is_empty() && unmarked.finding.is_none(), "another's revert: Ready pods stay");
        let marked = pods_left_behind(&snapshot(&pods, true), Kind::StatefulSet, &on_delete(), LIMITS);
        assert_eq!(deleted(&marked), ["web-1"]);
        // While the replacement is not Ready, the next one waits.
        let replacing =
            [("web-0", "web-old", true, 0), ("web-1", "web-old", false, NOW - 5), ("web-2", "web-new", true, 0)];
        let waiting = pods_left_behind(&snapshot(&replacing, true), Kind::StatefulSet, &on_delete(), LIMITS);
        assert!(deleted(&waiting).is_empty());
        assert!(waiting.finding.unwrap().message.contains("waiting to replace"));
    }

    #[test]
    fn the_mark_goes_when_no_pod_is_left_behind_and_deployments_are_never_touched() {
        let done = snapshot(&[("web-0", "web-old", true, 0)], true);
        let replacing = pods_left_behind(&done, Kind::StatefulSet, &on_delete(), LIMITS);
        assert!(matches!(&replacing.actions[..], [Action::RemoveAnnotation(key)] if key == ROLLED_BACK_FROM));
        let stuck = snapshot(&[("web-1", "web-new", false, 0)], true);
        assert!(pods_left_behind(&stuck, Kind::Deployment, &on_delete(), LIMITS).actions.is_empty());
    }

    #[test]
    fn deletions_stay_under_the_action_limit() {
        let names: Vec<String> = (0..40).map(|i| format!("web-{i}")).collect();
        let pods: Vec<(&str, &str, bool, i64)> = names.iter().map(|n| (n.as_str(), "web-new", false, 0)).collect();
        let replacing = pods_left_behind(&snapshot(&pods, false), Kind::StatefulSet, &on_delete(), LIMITS);
        assert_eq!(deleted(&replacing).len(), MAX_DELETIONS);
    }
}

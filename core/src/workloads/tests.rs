use super::*;
use crate::fixtures::*;
use crate::tree::ownership_tree;
use serde_json::json;

fn releases_of(set: &ObjectSet) -> (Vec<Release<'static>>, Vec<String>) {
    let tree = ownership_tree(set, 0);
    of_value(set.get(0).unwrap()).unwrap().releases(set, &tree).unwrap()
}

#[test]
fn a_statefulset_releases_are_its_revisions_and_the_update_revision_is_current() {
    let set = set_of([
        revisioned_workload("StatefulSet", "web:2", "web-c2"),
        controller_revision("StatefulSet", 2, "web:2"),
        controller_revision("StatefulSet", 1, "web:1"),
        revisioned_pod("StatefulSet", "web-0", "web-c1", true),
        revisioned_pod("StatefulSet", "web-1", "web-c2", false),
    ]);
    let (releases, warnings) = releases_of(&set);
    assert!(warnings.is_empty(), "{warnings:?}");
    let ids: Vec<_> = releases.iter().map(|r| (r.id.as_str(), r.current, r.replicas, r.ready_replicas)).collect();
    assert_eq!(ids, [("1", false, 1, 1), ("2", true, 1, 0)]);
    assert_eq!(releases[1].pod_template_hash.as_ref().unwrap().as_str(), "web-c2");
    assert_eq!(releases[0].images[0].as_str(), "web:1");
}

#[test]
fn a_daemonset_current_revision_is_the_one_holding_its_template_and_pods_carry_the_bare_hash() {
    let set = set_of([
        revisioned_workload("DaemonSet", "web:1", ""),
        controller_revision("DaemonSet", 1, "web:1"),
        controller_revision("DaemonSet", 2, "web:2"),
        revisioned_pod("DaemonSet", "web-a", "c1", true),
        revisioned_pod("DaemonSet", "web-b", "c2", true),
        revisioned_pod("DaemonSet", "web-c", "c2", false),
    ]);
    let (releases, _) = releases_of(&set);
    let ids: Vec<_> = releases.iter().map(|r| (r.id.as_str(), r.current, r.replicas, r.ready_replicas)).collect();
    assert_eq!(ids, [("1", true, 1, 1), ("2", false, 2, 1)]);
    let counts = DAEMON_SET.counts(set.get(0).unwrap()).unwrap();
    assert_eq!(counts, Counts { desired: Some(3), ready: Some(2), updated: Some(1), available: Some(2) });
}

use daemonset::DAEMON_SET;
use statefulset::STATEFUL_SET;

#[test]
fn an_undo_of_a_revisioned_kind_replaces_the_template_only() {
    for (workload, kind) in [(&STATEFUL_SET as &dyn Workload, "StatefulSet"), (&DAEMON_SET, "DaemonSet")] {
        let target = revisioned_workload(kind, "web:2", "web-c2");
        let (one, two) = (controller_revision(kind, 1, "web:1"), controller_revision(kind, 2, "web:2"));
        let UndoOutcome::Restore { updated, from } = workload.plan_undo(&target, &[&one, &two], 1).unwrap() else {
            panic!("{kind}: expected a restore");
        };
        assert_eq!(from, "web-c1");
        let mut expected = target.clone();
        expected["spec"]["template"] = template("web:1", None);
        assert_eq!(updated, expected, "{kind}: only the template changes, without `$patch`");
        assert_eq!(
            workload.plan_undo(&target, &[&two], 2).unwrap(),
            UndoOutcome::AlreadyCurrent { from: "web-c2".into() }
        );
        let missing = workload.plan_undo(&target, &[&one, &two], 5).unwrap_err().to_string();
        assert_eq!(missing, format!("{kind} web has no ControllerRevision with revision 5 (known revisions: 1, 2)"));
    }
}

#[test]
fn kinds_are_found_by_group_and_kind() {
    let key = |api_version: &str, kind: &str| ObjectKey {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: Some("shop".into()),
        name: "web".into(),
    };
    assert_eq!(of(&key("apps/v1", "StatefulSet")).map(|w| w.kind()), Some("StatefulSet"));
    assert!(of(&key("example.io/v1", "StatefulSet")).is_none());
    assert!(of(&key("apps/v1", "ReplicaSet")).is_none());
    assert!(of_value(&json!({"apiVersion": "apps/v1", "kind": "DaemonSet"})).is_some());
}

use super::*;
use crate::fixtures::*;

#[test]
fn releases_are_ordered_by_revision_as_numbers_and_current_is_the_matching_template() {
    let set = set_of([
        deployment("web:10"),
        replica_set("9", "web:9"),
        replica_set("10", "web:10"),
        replica_set("2", "web:2"),
    ]);
    let built = build(&set, 0, 0, "{}").unwrap();
    let ids: Vec<_> = built.snapshot.releases.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["2", "9", "10"]);
    let current: Vec<_> = built.snapshot.releases.iter().filter(|r| r.current).map(|r| r.id.as_str()).collect();
    assert_eq!(current, ["10"]);
    assert_eq!(built.snapshot.releases[2].images, ["web:10"]);
    assert_eq!(built.snapshot.releases[2].pod_template_hash.as_deref(), Some("h10"));
}

#[test]
fn pods_are_found_through_replica_sets_and_point_at_their_owner() {
    let mut impostor = pod("3", "zzz", None);
    impostor["metadata"]["ownerReferences"] = serde_json::json!([]);
    let set =
        set_of([deployment("web:3"), replica_set("3", "web:3"), pod("3", "aaa", Some("ImagePullBackOff")), impostor]);
    let built = build(&set, 0, 0, "{}").unwrap();
    let snapshot = &built.snapshot;
    assert_eq!(snapshot.pods.len(), 1);
    let pod_info = &snapshot.objects[snapshot.pods[0].object as usize];
    assert_eq!(pod_info.name, "web-h3-aaa");
    let owner = &snapshot.objects[pod_info.owner.unwrap() as usize];
    assert_eq!(owner.kind, "ReplicaSet");
    assert_eq!(snapshot.target.desired_replicas, Some(2));
    assert_eq!(snapshot.target.kind, "Deployment");
}

#[test]
fn a_non_numeric_revision_is_reported_not_offered() {
    let set = set_of([deployment("web:3"), replica_set("3", "web:3"), replica_set("two", "web:2")]);
    let built = build(&set, 0, 0, "{}").unwrap();
    assert_eq!(built.snapshot.releases.len(), 1);
    assert!(built.warnings[0].contains("\"two\""), "{:?}", built.warnings);
}

#[test]
fn a_target_without_uid_is_judged_alone_with_a_warning() {
    let mut d = deployment("web:3");
    d["metadata"].as_object_mut().unwrap().remove("uid");
    let built = build(&set_of([d, replica_set("3", "web:3")]), 0, 0, "{}").unwrap();
    assert_eq!(built.snapshot.objects.len(), 1, "nothing can be linked to it");
    assert!(
        built.warnings.iter().any(|w| w.contains("Deployment/web") && w.contains("metadata.uid")),
        "{:?}",
        built.warnings
    );
}

#[test]
fn a_malformed_replica_count_names_the_field() {
    let mut d = deployment("web:3");
    d["spec"]["replicas"] = serde_json::json!("two");
    let err = build(&set_of([d]), 0, 0, "{}").unwrap_err().to_string();
    assert!(err.contains("/spec/replicas"), "{err}");
}

#[test]
fn a_numeric_pod_template_hash_is_read_as_text() {
    let mut rs = replica_set("3", "web:3");
    rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = serde_json::json!(5678);
    let built = build(&set_of([deployment("web:3"), rs]), 0, 0, "{}").unwrap();
    assert_eq!(built.snapshot.releases[0].pod_template_hash.as_deref(), Some("5678"));
    assert_eq!(built.snapshot.releases[0].images, ["web:3"]);
}

#[test]
fn a_pod_without_any_time_is_warned_about() {
    let mut undated = pod("3", "aaa", Some("ImagePullBackOff"));
    undated["metadata"].as_object_mut().unwrap().remove("creationTimestamp");
    let built = build(&set_of([deployment("web:3"), replica_set("3", "web:3"), undated]), 0, 0, "{}").unwrap();
    assert!(built.warnings.iter().any(|w| w.contains("web-h3-aaa") && w.contains("unknown")), "{:?}", built.warnings);
}

#[test]
fn an_edited_template_falls_back_to_the_revision_the_controller_named() {
    let mut d = deployment("web:3");
    d["metadata"]["generation"] = serde_json::json!(3);
    d["status"]["observedGeneration"] = serde_json::json!(3);
    d["metadata"]["annotations"] = serde_json::json!({"deployment.kubernetes.io/revision": "3"});
    let mut rs = replica_set("3", "web:3");
    rs["spec"]["template"]["metadata"]["annotations"] = serde_json::json!({"added": "by hand"});
    let built = build(&set_of([d.clone(), replica_set("2", "web:2"), rs.clone()]), 0, 0, "{}").unwrap();
    let current: Vec<_> = built.snapshot.releases.iter().filter(|r| r.current).map(|r| r.id.as_str()).collect();
    assert_eq!(current, ["3"]);
    assert!(built.warnings.iter().any(|w| w.contains("revision 3")), "{:?}", built.warnings);
    // Not before the controller has seen the Deployment's latest generation.
    d["status"]["observedGeneration"] = serde_json::json!(2);
    let built = build(&set_of([d, replica_set("2", "web:2"), rs]), 0, 0, "{}").unwrap();
    assert!(built.snapshot.releases.iter().all(|r| !r.current));
}

#[test]
fn pods_whose_replica_set_is_missing_are_placed_under_the_deployment() {
    let d = deployment("web:3");
    let mut orphan = pod("3", "aaa", Some("CrashLoopBackOff"));
    orphan["metadata"]["labels"] = serde_json::json!({"app": "web", "pod-template-hash": "h3"});
    let mut stranger = pod("3", "bbb", None);
    stranger["metadata"]["labels"] = serde_json::json!({"app": "other"});
    let built = build(&set_of([d, orphan, stranger]), 0, 0, "{}").unwrap();
    let names: Vec<_> = built.snapshot.pods.iter().map(|p| built.snapshot.pod_name(p)).collect();
    assert_eq!(names, ["web-h3-aaa"], "only the pod carrying the selector's labels");
    assert_eq!(built.snapshot.objects[built.snapshot.pods[0].object as usize].owner, Some(0));
    assert!(
        built.warnings.iter().any(|w| w.contains("web-h3") && w.contains("not in the dump")),
        "{:?}",
        built.warnings
    );
}

#[test]
fn extensions_v1beta1_owners_are_followed_like_apps_ones() {
    let mut d = deployment("web:3");
    d["apiVersion"] = serde_json::json!("extensions/v1beta1");
    let mut rs = replica_set("3", "web:3");
    rs["apiVersion"] = serde_json::json!("extensions/v1beta1");
    rs["metadata"]["ownerReferences"][0]["apiVersion"] = serde_json::json!("extensions/v1beta1");
    let built = build(&set_of([d, rs, pod("3", "aaa", None)]), 0, 0, "{}").unwrap();
    assert_eq!(built.snapshot.releases.len(), 1);
    assert!(built.snapshot.releases[0].current);
    assert_eq!(built.snapshot.pods.len(), 1);
}

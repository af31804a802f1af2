//! Small builders for unit tests: a Deployment with its ReplicaSets and
//! Pods, wired by ownerReferences the way the controllers wire them.

use crate::objects::{ObjectSet, Origin};
use serde_json::{Value, json};

pub const NAMESPACE: &str = "shop";

pub fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": "web"});
    if let Some(hash) = hash {
        labels["pod-template-hash"] = json!(hash);
    }
    json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}})
}

pub fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NAMESPACE, "uid": "uid-web", "generation": 3,
                     "annotations": {"deployment.kubernetes.io/revision": "3"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template(image, None)},
        "status": {"observedGeneration": 3, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 2}
    })
}

pub fn replica_set(revision: &str, image: &str) -> Value {
    let hash = format!("h{revision}");
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("web-{hash}"), "namespace": NAMESPACE, "uid": format!("uid-rs-{revision}"),
                     "labels": {"app": "web", "pod-template-hash": hash},
                     "annotations": {"deployment.kubernetes.io/revision": revision},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": "uid-web", "controller": true}]},
        "spec": {"replicas": 1, "template": template(image, Some(&hash))},
        "status": {"replicas": 1, "readyReplicas": 1}
    })
}

pub fn pod(revision: &str, suffix: &str, waiting_reason: Option<&str>) -> Value {
    let state = match waiting_reason {
        Some(reason) => json!({"waiting": {"reason": reason}}),
        None => json!({"running": {"startedAt": "2024-11-06T14:00:00Z"}}),
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("web-h{revision}-{suffix}"), "namespace": NAMESPACE,
                     "uid": format!("uid-pod-{revision}-{suffix}"), "creationTimestamp": "2024-11-06T14:00:00Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-h{revision}"),
                                          "uid": format!("uid-rs-{revision}"), "controller": true}]},
        "spec": {"containers": [{"name": "app", "image": "img"}]},
        "status": {"phase": if waiting_reason.is_some() { "Pending" } else { "Running" },
                   "containerStatuses": [{"name": "app", "image": "img", "imageID": "", "restartCount": 0,
                                          "ready": waiting_reason.is_none(), "state": state}]}
    })
}

pub fn set_of(objects: impl IntoIterator<Item = Value>) -> ObjectSet {
    let mut set = ObjectSet::new();
    for object in objects {
        set.insert(object, Origin("fixture".into())).expect("fixture objects are unique");
    }
    set
}

/// A ControllerRevision of `owner` (a StatefulSet or DaemonSet named
/// `web`), as the apps controllers write it.
pub fn controller_revision(owner: &str, revision: u64, image: &str) -> Value {
    let hash = format!("c{revision}");
    let mut template = template(image, None);
    template["$patch"] = json!("replace");
    json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision", "revision": revision,
        "metadata": {"name": format!("web-{hash}"), "namespace": NAMESPACE, "uid": format!("uid-cr-{revision}"),
                     "labels": {"app": "web", "controller-revision-hash": hash},
                     "creationTimestamp": "2024-11-06T14:00:00Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": "web",
                                          "uid": "uid-web", "controller": true}]},
        "data": {"spec": {"template": template}}
    })
}

/// A StatefulSet or DaemonSet named `web` running `image`.
pub fn revisioned_workload(kind: &str, image: &str, update_revision: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": "web", "namespace": NAMESPACE, "uid": "uid-web", "generation": 3,
                     "annotations": {"team": "shop"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template(image, None)},
        "status": {"observedGeneration": 3, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 1,
                   "updateRevision": update_revision, "currentRevision": update_revision,
                   "desiredNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 1, "numberAvailable": 2}
    })
}

/// A pod of `web` (a StatefulSet or DaemonSet) labelled with `hash`.
pub fn revisioned_pod(owner: &str, name: &str, hash: &str, ready: bool) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"),
                     "creationTimestamp": "2024-11-06T14:00:00Z",
                     "labels": {"app": "web", "controller-revision-hash": hash},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": "web",
                                          "uid": "uid-web", "controller": true}]},
        "spec": {"containers": [{"name": "app", "image": "img"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

//! Synthetic workloads of any size, shaped like real `kubectl get -o yaml`
//! output, for benchmarks: a Deployment at revision 3 with its three
//! ReplicaSets and `pods` pods of the current revision, one of which has
//! been failing to pull its image for ten minutes.

use crate::objects::{ObjectSet, Origin};
use serde_json::{Value, json};

/// 2024-11-06T14:34:00Z, the evaluation time the workloads are built for.
pub const NOW: i64 = 1_730_903_640;

fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"});
    if let Some(hash) = hash {
        labels["pod-template-hash"] = json!(hash);
    }
    json!({
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
                 "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}
    })
}

fn image(revision: u32) -> String {
    format!("registry.example.com/shop/web:1.{revision}.0")
}

/// One workload named `name` in `namespace` with `pods` current pods.
pub fn add_deployment(set: &mut ObjectSet, namespace: &str, name: &str, pods: usize) {
    let uid = format!("uid-{namespace}-{name}");
    let origin = || Origin(format!("synthetic {namespace}/{name}"));
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "generation": 3,
                     "creationTimestamp": "2024-11-06T09:00:00Z",
                     "annotations": {"deployment.kubernetes.io/revision": "3"}, "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}}, "template": template(&image(3), None)},
        "status": {"observedGeneration": 3, "replicas": pods, "updatedReplicas": pods, "readyReplicas": pods.saturating_sub(1),
                   "availableReplicas": pods.saturating_sub(1),
                   "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                   "lastTransitionTime": "2024-11-06T09:01:00Z"}]}
    });
    set.insert(deployment, origin()).expect("unique names");
    for revision in 1..=3u32 {
        let hash = format!("{name}h{revision}");
        let replica_set = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("{name}-{hash}"), "namespace": namespace, "uid": format!("{uid}-rs{revision}"),
                         "creationTimestamp": "2024-11-06T09:00:00Z",
                         "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": uid, "controller": true}]},
            "spec": {"replicas": if revision == 3 { pods } else { 0 }, "template": template(&image(revision), Some(&hash))},
            "status": {"replicas": if revision == 3 { pods } else { 0 }}
        });
        set.insert(replica_set, origin()).expect("unique names");
    }
    for i in 0..pods {
        let failing = i == 0;
        let state = if failing {
            json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}})
        } else {
            json!({"running": {"startedAt": "2024-11-06T14:00:05Z"}})
        };
        let ready = if failing { "False" } else { "True" };
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{name}-{name}h3-{i:05}"), "namespace": namespace, "uid": format!("{uid}-pod{i}"),
                         "creationTimestamp": "2024-11-06T14:00:00Z",
                         "labels": {"app.kubernetes.io/name": "web", "pod-template-hash": format!("{name}h3")},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{name}-{name}h3"),
                                              "uid": format!("{uid}-rs3"), "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": image(3)}], "nodeName": "worker-1"},
            "status": {"phase": if failing { "Pending" } else { "Running" }, "startTime": "2024-11-06T14:00:00Z",
                       "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": "2024-11-06T14:00:06Z"},
                                      {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-11-06T14:00:00Z"}],
                       "containerStatuses": [{"name": "app", "image": image(3), "imageID": "", "ready": !failing,
                                              "restartCount": 0, "started": !failing, "state": state}]}
        });
        set.insert(pod, origin()).expect("unique names");
    }
}

/// A set holding one workload, `web` in namespace `shop`.
pub fn deployment_workload(pods: usize) -> ObjectSet {
    let mut set = ObjectSet::new();
    add_deployment(&mut set, "shop", "web", pods);
    set
}

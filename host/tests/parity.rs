//! `kubectl rollout undo` parity on a real API server, for every workload
//! kind: twin objects (the same name in two namespaces, so their templates,
//! revision names and hashes are the same) get the same history; one is
//! undone with `kubectl rollout undo`, the other by rewind's controller,
//! first on a manual request for revision 1, then automatically after a
//! failing update. They must end with the same template, the same
//! annotations and the same revision numbers. Run by scripts/e2e.sh, which
//! sets REWIND_E2E_KUBECONFIG and REWIND_E2E_KUBECTL.

mod common;
use common::cluster::*;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const GRACE_SECONDS: u64 = 5;

fn resource(kind: &str) -> ApiResource {
    let group = if matches!(kind, "Pod" | "Namespace" | "Event") { "" } else { "apps" };
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, "v1", kind))
}

fn workload(kind: &str, image: &str) -> Value {
    let mut spec = json!({
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "app", "image": image}]}}
    });
    match kind {
        "Deployment" => spec["replicas"] = json!(2),
        "StatefulSet" => {
            spec["replicas"] = json!(2);
            spec["serviceName"] = json!("web");
        }
        _ => {}
    }
    json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": "web", "annotations": {"kubernetes.io/change-cause": format!("image {image}")}},
        "spec": spec
    })
}

/// The namespace's workload, its pods, and the API of its history kind.
struct Twin {
    namespace: String,
    workloads: Api<DynamicObject>,
    pods: Api<DynamicObject>,
    history: Api<DynamicObject>,
    kind: &'static str,
}

impl Twin {
    async fn create(client: &kube::Client, kind: &'static str, namespace: String) -> Twin {
        let namespaces: Api<DynamicObject> = Api::all_with(client.clone(), &resource("Namespace"));
        let ns: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace}}))
        .unwrap();
        namespaces.create(&PostParams::default(), &ns).await.unwrap();
        let history_kind = if kind == "Deployment" { "ReplicaSet" } else { "ControllerRevision" };
        let twin = Twin {
            workloads: Api::namespaced_with(client.clone(), &namespace, &resource(kind)),
            pods: Api::namespaced_with(client.clone(), &namespace, &resource("Pod")),
            history: Api::namespaced_with(client.clone(), &namespace, &resource(history_kind)),
            namespace,
            kind,
        };
        let object: DynamicObject = serde_json::from_value(workload(kind, "shop/web:1")).unwrap();
        twin.workloads.create(&PostParams::default(), &object).await.unwrap();
        twin.settled("shop/web:1").await;
        twin
    }

    async fn get(&self) -> Value {
        serde_json::to_value(self.workloads.get("web").await.unwrap()).unwrap()
    }

    async fn update(&self, image: &str) {
        let patch = json!({
            "metadata": {"annotations": {"kubernetes.io/change-cause": format!("image {image}")}},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}
        });
        self.workloads.patch("web", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    }

    /// Every pod runs `image` and is Ready, and the controller has
    /// observed the latest generation.
    async fn settled(&self, image: &str) {
        let what = format!("{} {} to run {image} everywhere", self.kind, self.namespace);
        eventually(&what, async || {
            let object = self.get().await;
            let observed = object.pointer("/status/observedGeneration")? == object.pointer("/metadata/generation")?;
            let pods = self.pods.list(&ListParams::default()).await.ok()?.items;
            let all = !pods.is_empty()
                && pods.iter().all(|pod| {
                    let pod = serde_json::to_value(pod).unwrap();
                    pod.pointer("/metadata/deletionTimestamp").is_none()
                        && pod.pointer("/spec/containers/0/image").and_then(Value::as_str) == Some(image)
                        && pod.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|conditions| {
                            conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True")
                        })
                });
            (observed && all).then_some(())
        })
        .await;
    }

    /// What must be equal between the twins: the template, the annotations
    /// (rewind's own request annotation aside), and each history object's
    /// revision by name (names are hashes of the template, equal too).
    async fn state(&self) -> Value {
        let object = self.get().await;
        let mut annotations = object.pointer("/metadata/annotations").cloned().unwrap_or(json!({}));
        annotations.as_object_mut().unwrap().remove("rewind.dev/rollback-to");
        let mut revisions = BTreeMap::new();
        for history in self.history.list(&ListParams::default()).await.unwrap().items {
            let history = serde_json::to_value(history).unwrap();
            let name = history.pointer("/metadata/name").and_then(Value::as_str).unwrap().to_string();
            let revision = match self.kind {
                "Deployment" => history.pointer("/metadata/annotations/deployment.kubernetes.io~1revision").cloned(),
                _ => history.get("revision").cloned(),
            };
            revisions.insert(name, revision);
        }
        json!({"template": object.pointer("/spec/template"), "annotations": annotations, "revisions": revisions})
    }
}

fn kubectl(args: &[&str]) {
    let kubectl = std::env::var("REWIND_E2E_KUBECTL").expect("REWIND_E2E_KUBECTL: run with scripts/e2e.sh");
    let kubeconfig = std::env::var("REWIND_E2E_KUBECONFIG").unwrap();
    let output = std::process::Command::new(kubectl)
        .arg(format!("--kubeconfig={kubeconfig}"))
        .args(args)
        .output()
        .expect("kubectl runs");
    assert!(output.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

async fn rollout_policy(client: &kube::Client, namespace: &str, kind: &str) {
    let policies: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("rewind.dev", "v1alpha1", "RolloutPolicy")),
    );
    let policy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"target": {"apiVersion": "apps/v1", "kind": kind, "name": "web"},
                 "policy": {"module": deployment_module()},
                 "settings": {"graceSeconds": GRACE_SECONDS}, "mode": "Enforce", "resyncSeconds": 1,
                 "flapGuard": {"maxRollbacks": 3, "windowSeconds": 3600}}
    }))
    .unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();
}

/// Waits until both twins are in the same state, then asserts it (so a
/// mismatch is shown whole).
async fn same_state(by_kubectl: &Twin, by_rewind: &Twin, step: &str) {
    for _ in 0..60 {
        if by_kubectl.state().await == by_rewind.state().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(by_rewind.state().await, by_kubectl.state().await, "{} after {step}", by_kubectl.kind);
}

async fn parity(kind: &'static str) {
    let client = client().await;
    install_crd(&client).await;
    let _controller = start_controller(&client);
    let prefix = format!("parity-{}", kind.to_lowercase());
    let by_kubectl = Twin::create(&client, kind, format!("{prefix}-kubectl")).await;
    let by_rewind = Twin::create(&client, kind, format!("{prefix}-rewind")).await;
    rollout_policy(&client, &by_rewind.namespace, kind).await;
    for image in ["shop/web:2", "shop/web:3"] {
        for twin in [&by_kubectl, &by_rewind] {
            twin.update(image).await;
            twin.settled(image).await;
        }
    }
    let target = format!("{}/web", kind.to_lowercase());

    // A manual request for revision 1.
    kubectl(&["rollout", "undo", &target, "--to-revision=1", "-n", &by_kubectl.namespace]);
    let request = json!({"metadata": {"annotations": {"rewind.dev/rollback-to": "1"}}});
    by_rewind.workloads.patch("web", &PatchParams::default(), &Patch::Merge(&request)).await.unwrap();
    by_kubectl.settled("shop/web:1").await;
    by_rewind.settled("shop/web:1").await;
    same_state(&by_kubectl, &by_rewind, "an undo to revision 1").await;

    // A failing update, undone to the previous revision.
    for twin in [&by_kubectl, &by_rewind] {
        twin.update("shop/web:unpullable").await;
    }
    tokio::time::sleep(Duration::from_secs(GRACE_SECONDS)).await;
    kubectl(&["rollout", "undo", &target, "-n", &by_kubectl.namespace]);
    // rewind also replaces a pod a StatefulSet's OrderedReady update would
    // leave stuck on the failed revision (kubectl leaves that to the user).
    by_rewind.settled("shop/web:1").await;
    same_state(&by_kubectl, &by_rewind, "an automatic undo of a failing update").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_deployment_ends_as_kubectl_rollout_undo_leaves_it() {
    parity("Deployment").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_statefulset_ends_as_kubectl_rollout_undo_leaves_it() {
    parity("StatefulSet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_daemonset_ends_as_kubectl_rollout_undo_leaves_it() {
    parity("DaemonSet").await;
}

/// `actions` through both executors, from the same objects: the in-memory
/// one on a capture of the cluster, the API-server one on the cluster
/// itself. They must report the same outcomes; returns the in-memory set.
async fn both_run(
    cluster: &rewind::controller::cluster::Cluster,
    twin: &Twin,
    target: &rewind::objects::ObjectKey,
    actions: &[rewind::actions::Action],
) -> rewind::objects::ObjectSet {
    use rewind::controller::cluster::KubeExecutor;
    use rewind::executor::{ExecutionContext, Executor, InMemoryExecutor};
    let mut captured = cluster.objects_for(twin.get().await).await.unwrap();
    let context = ExecutionContext { target: target.clone(), now: jiff::Timestamp::now().as_second() };
    let decided_on = captured.clone();
    let in_memory = InMemoryExecutor { objects: &mut captured }.execute_now(&context, actions).unwrap();
    let executed = KubeExecutor::new(cluster, &decided_on).execute(&context, actions).await;
    assert_eq!(executed.failure, None, "{}", twin.kind);
    assert_eq!(executed.outcomes, in_memory, "{}: the outcomes differ", twin.kind);
    captured
}

/// One action list through both executors must leave the target with the
/// same template and annotations, and both hold the Event; a delete must
/// take the same pod from both.
async fn executors_agree(kind: &'static str) {
    use rewind::actions::{Action, EventType};
    use rewind::controller::cluster::Cluster;
    use rewind::objects::ObjectKey;

    let client = client().await;
    let twin = Twin::create(&client, kind, format!("executors-{}", kind.to_lowercase())).await;
    twin.update("shop/web:2").await;
    twin.settled("shop/web:2").await;
    let cluster = Cluster::new(client.clone());
    let target = ObjectKey {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        namespace: Some(twin.namespace.clone()),
        name: "web".into(),
    };
    let actions = [
        Action::Rollback { revision: 1 },
        Action::SetAnnotation { key: "team".into(), value: "shop".into() },
        Action::RemoveAnnotation { key: "never-set".into() },
        Action::EmitEvent { event_type: EventType::Normal, reason: "Checked".into(), message: "m".into() },
    ];
    let captured = both_run(&cluster, &twin, &target, &actions).await;
    let mut in_memory_target = captured.get(captured.find_key(&target).unwrap()).unwrap().clone();
    let mut live = twin.get().await;
    // What the workload's controller writes afterwards is the cluster's
    // doing, not the executor's.
    for object in [&mut in_memory_target, &mut live] {
        object["metadata"]["annotations"].as_object_mut().unwrap().remove("deployment.kubernetes.io/revision");
    }
    for pointer in ["/spec/template", "/metadata/annotations"] {
        assert_eq!(live.pointer(pointer), in_memory_target.pointer(pointer), "{kind}: {pointer} differs");
    }
    let checked = |event: &Value| event["reason"] == "Checked" && event["involvedObject"]["name"] == "web";
    assert!(captured.iter().any(|(_, v)| checked(v)), "{kind}: no Event in memory");
    let events: Api<DynamicObject> = Api::namespaced_with(client.clone(), &twin.namespace, &resource("Event"));
    let live_events = events.list(&ListParams::default()).await.unwrap().items;
    assert!(live_events.iter().any(|e| checked(&serde_json::to_value(e).unwrap())), "{kind}: no Event in the cluster");

    // Once the rollout settled (a pod it replaces changes under a delete
    // decided before), a delete: the pod is gone from both (its controller
    // may recreate one of the same name, with another uid).
    twin.settled("shop/web:1").await;
    let first_pod = twin.pods.list(&ListParams::default()).await.unwrap().items.remove(0);
    let pod_uid = first_pod.metadata.uid.clone().unwrap();
    let pod_key = ObjectKey {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: first_pod.metadata.name.unwrap(),
        ..target.clone()
    };
    let captured = both_run(&cluster, &twin, &target, &[Action::DeleteObject { object: pod_key }]).await;
    let has_pod_uid = |objects: Vec<Value>| objects.iter().any(|p| p.pointer("/metadata/uid") == Some(&json!(pod_uid)));
    assert!(!has_pod_uid(captured.iter().map(|(_, v)| v.clone()).collect()), "{kind}: the pod is still in memory");
    // In the cluster it is going: deleted, or waiting out its grace period.
    let live_pods = twin.pods.list(&ListParams::default()).await.unwrap().items;
    let serving = live_pods.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none());
    assert!(!has_pod_uid(serving.map(|p| serde_json::to_value(p).unwrap()).collect()), "{kind}: the pod stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn both_executors_make_the_same_changes() {
    for kind in ["Deployment", "StatefulSet", "DaemonSet"] {
        executors_agree(kind).await;
    }
}

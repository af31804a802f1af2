//! Helpers for the tests that run against a real API server
//! (`scripts/e2e.sh` starts it and sets REWIND_E2E_KUBECONFIG).

use super::{cache_dir, component};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use rewind::controller::bound::RolloutPolicyBound;
use rewind::controller::crd::{RolloutDecision, RolloutPolicy, WorkloadStatus};
use rewind::controller::metrics::Metrics;
use rewind::runtime::{ArtifactCache, PolicyRuntime, SandboxLimits};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub async fn client() -> Client {
    let path = std::env::var_os("REWIND_E2E_KUBECONFIG")
        .expect("REWIND_E2E_KUBECONFIG is not set: run the e2e tests with scripts/e2e.sh, which starts an API server");
    client_of(path).await
}

async fn client_of(path: std::ffi::OsString) -> Client {
    let file = kube::config::Kubeconfig::read_from(path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await.expect("config");
    Client::try_from(config).expect("client")
}

pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..120 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Installs the CRDs, and the bound the tests' own namespaces are held
/// to: what the components the tests run declare, the blue-green test's
/// custom kind. A namespace labelled `rewind.dev/tenant` gets only what
/// bounds made for it (or the default) allow.
pub async fn install_crd(client: &Client) {
    install_crds(client).await;
    let mut grants: Vec<String> = Vec::new();
    for crate_dir in ["plugins/bluegreen", "plugins/deployment", "tests/components/hostile"] {
        let module = std::fs::read(component(crate_dir)).unwrap();
        let declared = rewind::actions::needs::declared_grants(&module).unwrap();
        grants.extend(declared.iter().map(ToString::to_string));
    }
    let spec = json!({
        "namespaceSelector": {"matchExpressions": [{"key": TENANT_LABEL, "operator": "DoesNotExist"}]},
        "modules": {"bundled": true, "custom": true},
        "grants": grants,
        "targetKinds": [{"group": "e6data.io", "kind": "MetadataServices"}]
    });
    apply_bound(client, "e2e", spec).await;
}

/// The label of namespaces the tests treat as a tenant's.
pub const TENANT_LABEL: &str = "rewind.dev/tenant";

/// Applies RolloutPolicyBound `name` with `spec`.
pub async fn apply_bound(client: &Client, name: &str, spec: serde_json::Value) {
    let bounds: Api<RolloutPolicyBound> = Api::all(client.clone());
    let bound = json!({"apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicyBound",
                       "metadata": {"name": name}, "spec": spec});
    let params = PatchParams::apply("rewind-e2e").force();
    bounds.patch(name, &params, &Patch::Apply(&bound)).await.unwrap();
}

/// A bound for one namespace alone (named after it).
pub async fn bound_for(client: &Client, namespace: &str, mut spec: serde_json::Value) {
    spec["namespaceSelector"] = json!({"matchLabels": {"kubernetes.io/metadata.name": namespace}});
    apply_bound(client, &format!("e2e-{namespace}"), spec).await;
}

async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in rewind::controller::manifests::crds() {
        let name = crd.metadata.name.clone().unwrap();
        // Applied, not only created: a cluster kept from an earlier build
        // gets this build's schema (one without a field prunes it).
        let params = kube::api::PatchParams::apply("rewind-e2e").force();
        crds.patch(&name, &params, &kube::api::Patch::Apply(&crd)).await.unwrap();
        eventually("the CRD to be established", async || {
            let crd = crds.get(&name).await.ok()?;
            let established = crd.status?.conditions?.iter().any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        })
        .await;
    }
}

/// The last decision recorded about a workload (`kind-name`, e.g.
/// `deployment-web`), if any.
pub async fn decision(client: &Client, namespace: &str, name: &str) -> Option<WorkloadStatus> {
    let decisions: Api<RolloutDecision> = Api::namespaced(client.clone(), namespace);
    decisions.get_opt(name).await.ok().flatten().map(|d| d.spec.decision)
}

/// Starts a controller on the test's own runtime: it stops with the test,
/// or when the handle is aborted (a killed process).
pub fn start_controller(client: &Client) -> tokio::task::JoinHandle<()> {
    start_controller_with(client, Default::default())
}

/// The client the controller runs with: the ServiceAccount of the Helm
/// release scripts/e2e.sh installs, when it gave that account's kubeconfig
/// (REWIND_E2E_CONTROLLER_KUBECONFIG), so a verb the chart's RBAC lacks fails
/// a test; else the test's own.
pub async fn controller_client(test_client: &Client) -> Client {
    match std::env::var_os("REWIND_E2E_CONTROLLER_KUBECONFIG") {
        Some(path) => client_of(path).await,
        None => test_client.clone(),
    }
}

pub fn start_controller_with(client: &Client, metrics: Metrics) -> tokio::task::JoinHandle<()> {
    // As `rewind controller` does: modules compile in the worker process.
    let worker = rewind::runtime::compile::CompileWorker {
        program: env!("CARGO_BIN_EXE_rewind").into(),
        budget: Default::default(),
    };
    let runtime = PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::new(cache_dir())))
        .unwrap()
        .with_compile_worker(worker);
    let test_client = client.clone();
    tokio::spawn(async move {
        let client = controller_client(&test_client).await;
        // The tests' components are the controller's policies directory.
        let policies_dir = component("plugins/deployment").parent().map(ToOwned::to_owned);
        let options =
            rewind::controller::run::Options { cache_root: Some(cache_dir()), policies_dir, ..Default::default() };
        rewind::controller::run::run(client, Arc::new(runtime), metrics, options).await
    })
}

pub async fn events(client: &Client, namespace: &str, reason: &str) -> usize {
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.reason.as_deref() == Some(reason))
        .count()
}

/// The deployment policy's component, as a RolloutPolicy names it.
pub fn deployment_module() -> String {
    component("plugins/deployment").display().to_string()
}

/// Waits until a pod running `image` reports the state kwok gives it: Ready
/// for a good image, the container's waiting `reason` for a bad one.
pub async fn pod_in_state(pods: &Api<Pod>, image: &str, reason: Option<&str>) -> String {
    let what = format!("a pod of {image} {}", reason.unwrap_or("Ready"));
    eventually(&what, async || {
        let list = pods.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find_map(|pod| {
            let spec = pod.spec.as_ref()?;
            let images =
                spec.containers.iter().chain(spec.init_containers.iter().flatten()).map(|c| c.image.as_deref());
            if pod.metadata.deletion_timestamp.is_some() || !images.clone().any(|i| i == Some(image)) {
                return None;
            }
            let status = pod.status.as_ref()?;
            let in_state = match reason {
                None => status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True"),
                Some(reason) => {
                    let statuses = status.container_statuses.iter().chain(status.init_container_statuses.iter());
                    statuses.flatten().any(|c| {
                        c.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref())
                            == Some(reason)
                    })
                }
            };
            in_state.then(|| pod.metadata.name.clone()).flatten()
        })
    })
    .await
}

pub fn deployment(namespace: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}}
    }))
    .unwrap()
}

/// A Deployment rolled out to a good image, then to one that cannot be
/// pulled, in a new namespace.
pub async fn failing_rollout(client: &Client, namespace: &str) -> (Api<Deployment>, Api<Pod>) {
    rollout(client, namespace, "shop/web:unpullable", Some("ImagePullBackOff")).await
}

/// A Deployment `web` in a new namespace, rolled out to `shop/web:1` and
/// then to `image`, whose pod ends in `state` (Ready when none).
pub async fn rollout(
    client: &Client,
    namespace: &str,
    image: &str,
    state: Option<&str>,
) -> (Api<Deployment>, Api<Pod>) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap())
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    deployments.create(&PostParams::default(), &deployment(namespace, "shop/web:1")).await.unwrap();
    pod_in_state(&pods, "shop/web:1", None).await;
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    pod_in_state(&pods, image, state).await;
    (deployments, pods)
}

/// The grace period of the tests' policies: long enough to see a rollout
/// progressing first, short enough to keep the tests quick.
pub const GRACE_SECONDS: u64 = 5;

pub async fn rollout_policy(client: &Client, namespace: &str, mode: &str, max_rollbacks: u32) {
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), namespace);
    let policy: RolloutPolicy = serde_json::from_value(json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "policy": {"module": component("plugins/deployment").display().to_string()},
                 "settings": {"graceSeconds": GRACE_SECONDS}, "mode": mode, "resyncSeconds": 1,
                 "flapGuard": {"maxRollbacks": max_rollbacks, "windowSeconds": 3600}}
    }))
    .unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();
}

pub fn template_image(d: &Deployment) -> String {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].image.clone().unwrap()
}

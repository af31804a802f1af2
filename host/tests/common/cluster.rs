//! Helpers for the tests that run against a real API server
//! (`scripts/e2e.sh` starts it and sets REWIND_E2E_KUBECONFIG).

use super::{cache_dir, component};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, CustomResourceExt};
use rewind::controller::crd::{RolloutDecision, RolloutPolicy, WorkloadStatus};
use rewind::controller::metrics::Metrics;
use rewind::runtime::{ArtifactCache, PolicyRuntime, SandboxLimits};
use std::sync::Arc;
use std::time::Duration;

pub async fn client() -> Client {
    let path = std::env::var_os("REWIND_E2E_KUBECONFIG")
        .expect("REWIND_E2E_KUBECONFIG is not set: run the e2e tests with scripts/e2e.sh, which starts an API server");
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

pub async fn install_crd(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [RolloutPolicy::crd(), RolloutDecision::crd()] {
        let name = crd.metadata.name.clone().unwrap();
        if crds.get_opt(&name).await.unwrap().is_none() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
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

pub fn start_controller_with(client: &Client, metrics: Metrics) -> tokio::task::JoinHandle<()> {
    let runtime = PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::new(cache_dir()))).unwrap();
    tokio::spawn(rewind::controller::run::run(client.clone(), Arc::new(runtime), metrics, Some(cache_dir())))
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

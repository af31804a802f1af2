//! Grants in the cluster, as offline: a write the policy is not given is
//! refused naming the grant and nothing is done; malformed grants stop the
//! policy; given in `spec.grants`, the write is done. Run by scripts/e2e.sh
//! on the real API server.

mod common;
use common::cluster::*;
use common::*;
use kube::api::{Api, Patch, PatchParams, PostParams};
use rewind::controller::crd::RolloutPolicy;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn grants_bound_what_a_policy_does_in_the_cluster() {
    let client = client().await;
    install_crd(&client).await;
    let namespace = "e2e-grants";
    let (deployments, _pods) = failing_rollout(&client, namespace).await;
    let _controller = start_controller(&client);
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), namespace);
    // The hostile test policy declares `patch:Deployment:/spec/replicas`
    // and, with this attack, asks to scale the Deployment to zero.
    let policy: RolloutPolicy = serde_json::from_value(json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "policy": {"module": component("tests/components/hostile").display().to_string()},
                 "settings": {"attack": "scale-to-zero", "stage": "select-release"},
                 "mode": "Enforce", "resyncSeconds": 1}
    }))
    .unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();
    let refused = eventually("the write refused for want of a grant", async || {
        let errors = decision(&client, namespace, "deployment-web").await?.errors;
        errors.into_iter().find(|e| e.contains("`patch:Deployment:/spec/replicas`"))
    })
    .await;
    assert!(refused.contains("which the policy declares but is not given"), "{refused}");
    let ready = eventually("the Ready condition naming the grant not given", async || {
        let status = policies.get("web").await.ok()?.status?;
        status.conditions.into_iter().find(|c| c.kind == "PolicyReady" && c.reason == "Loaded")
    })
    .await;
    assert!(
        ready.message.contains("it declares grants spec.grants does not give: patch:Deployment:/spec/replicas"),
        "{ready:?}"
    );
    let replicas = |d: k8s_openapi::api::apps::v1::Deployment| d.spec.and_then(|s| s.replicas);
    assert_eq!(replicas(deployments.get("web").await.unwrap()), Some(1), "nothing was done");

    let malformed = json!({"spec": {"grants": ["patch:Deployment:/metadata/finalizers"]}});
    policies.patch("web", &PatchParams::default(), &Patch::Merge(&malformed)).await.unwrap();
    let condition = eventually("malformed grants reported", async || {
        let status = policies.get("web").await.ok()?.status?;
        status.conditions.into_iter().find(|c| c.kind == "PolicyReady" && c.reason == "InvalidGrants")
    })
    .await;
    assert!(condition.message.contains("cannot be given"), "{condition:?}");

    let given = json!({"spec": {"grants": ["patch:Deployment:/spec/replicas"]}});
    policies.patch("web", &PatchParams::default(), &Patch::Merge(&given)).await.unwrap();
    eventually("the given write done", async || {
        (replicas(deployments.get("web").await.ok()?) == Some(0)).then_some(())
    })
    .await;
}

//! The controller across what a cluster does to it: its own restart, and
//! its API server's. Run by scripts/e2e.sh on the real API server.

mod common;
use common::cluster::*;
use common::*;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::time::Duration;

/// The flap guard counts from the RolloutDecision, not from memory: a
/// controller started after the first rollback still holds back the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn the_flap_guard_history_survives_a_controller_restart() {
    let client = client().await;
    install_crd(&client).await;
    let namespace = "resilience-flap";
    let (deployments, pods) = failing_rollout(&client, namespace).await;
    rollout_policy(&client, namespace, "Enforce", 1).await;
    let first = start_controller(&client);
    eventually("the first rollback recorded", async || {
        let recorded = decision(&client, namespace, "deployment-web").await?;
        (recorded.rollbacks.len() == 1).then_some(())
    })
    .await;
    first.abort();
    let _second = start_controller(&client);
    let crashing =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:crashing"}]}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(&crashing)).await.unwrap();
    pod_in_state(&pods, "shop/web:crashing", Some("CrashLoopBackOff")).await;
    eventually("the flap guard", async || {
        decision(&client, namespace, "deployment-web").await?.flap_guard_tripped.then_some(())
    })
    .await;
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:crashing");
    assert_eq!(events(&client, namespace, "RollingBack").await, 1);
}

/// The API server restarts while a rollout is failing: the controller's
/// watches resume, and the workload is rolled back exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn an_api_server_restart_during_a_rollout_ends_with_one_rollback() {
    let client = client().await;
    install_crd(&client).await;
    let namespace = "resilience-apiserver";
    let (deployments, _pods) = failing_rollout(&client, namespace).await;
    let _controller = start_controller(&client);
    rollout_policy(&client, namespace, "Enforce", 3).await;
    // Within the grace period: the decision is "progressing".
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restart = workspace().join("scripts/k8s-restart-apiserver.sh");
    let status = std::process::Command::new(restart).status().expect("the restart script runs");
    assert!(status.success(), "the API server came back");
    eventually("the rollback", async || {
        (template_image(&deployments.get("web").await.ok()?) == "shop/web:1").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(GRACE_SECONDS + 3)).await;
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:1");
    assert_eq!(events(&client, namespace, "RollingBack").await, 1, "one rollback across the restart");
    let recorded = decision(&client, namespace, "deployment-web").await.expect("a decision");
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let said: Vec<String> = events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| {
            format!("{} ×{}: {}", e.reason.unwrap_or_default(), e.count.unwrap_or(1), e.message.unwrap_or_default())
        })
        .collect();
    assert_eq!(recorded.rollbacks.len(), 1, "{recorded:?}; the events: {said:#?}");
}

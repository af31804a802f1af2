//! An application in the cluster: two Deployments labelled
//! `app.kubernetes.io/part-of: shop` released together; when one fails,
//! the controller rolls both back in one decision, recorded once for the
//! application. Run by scripts/e2e.sh on the real API server, under the
//! chart's RBAC.

mod common;
use common::cluster::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use rewind::controller::crd::RolloutPolicy;
use serde_json::json;

/// `deployment()` as member `name` of the application shop.
fn member(namespace: &str, name: &str, image: &str) -> Deployment {
    let mut value = serde_json::to_value(deployment(namespace, image)).unwrap();
    value["metadata"]["name"] = json!(name);
    value["metadata"]["labels"] = json!({"app.kubernetes.io/part-of": "shop"});
    value["spec"]["selector"]["matchLabels"] = json!({"app": name});
    value["spec"]["template"]["metadata"]["labels"] = json!({"app": name});
    serde_json::from_value(value).unwrap()
}

fn image_patch(image: &str) -> serde_json::Value {
    json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn when_one_member_fails_every_member_released_with_it_rolls_back_in_one_decision() {
    let client = client().await;
    install_crd(&client).await;
    let namespace = "e2e-application";
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let new_namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
    namespaces.create(&PostParams::default(), &new_namespace).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for (name, image) in [("web", "shop/web:1"), ("api", "shop/api:1")] {
        deployments.create(&PostParams::default(), &member(namespace, name, image)).await.unwrap();
        pod_in_state(&pods, image, None).await;
    }

    let _controller = start_controller(&client);
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), namespace);
    let policy = json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "shop", "namespace": namespace},
        "spec": {"application": {"name": "shop"},
                 "policy": {"module": deployment_module()},
                 "settings": {"graceSeconds": GRACE_SECONDS}, "mode": "Enforce", "resyncSeconds": 1}
    });
    policies.create(&PostParams::default(), &serde_json::from_value(policy).unwrap()).await.unwrap();
    eventually("the application's first decision", async || {
        let decision = decision(&client, namespace, "application.rewind.dev-shop").await?;
        (decision.state.as_deref() == Some("healthy")).then_some(decision)
    })
    .await;

    // One release of both: web's new image is good, api's cannot be pulled.
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(&image_patch("shop/web:2"))).await.unwrap();
    deployments
        .patch("api", &PatchParams::default(), &Patch::Strategic(&image_patch("shop/api:unpullable")))
        .await
        .unwrap();
    pod_in_state(&pods, "shop/web:2", None).await;

    let decision = eventually("both members back on the release before", async || {
        let web = template_image(&deployments.get("web").await.ok()?);
        let api = template_image(&deployments.get("api").await.ok()?);
        let decision = decision(&client, namespace, "application.rewind.dev-shop").await?;
        (web == "shop/web:1" && api == "shop/api:1" && !decision.rollbacks.is_empty()).then_some(decision)
    })
    .await;
    assert_eq!(decision.members, ["Deployment/api", "Deployment/web"]);
    assert!(decision.errors.is_empty(), "{:?}", decision.errors);
    assert_eq!(decision.rollbacks.len(), 1, "one rollback of the application: {decision:?}");
    // The controller records each action it carries out on the member it
    // concerns: a rollback on each.
    let actions = events(&client, namespace, "RewindAction").await;
    assert!(actions >= 2, "{actions} RewindAction events");
    for name in ["deployment-web", "deployment-api"] {
        assert!(common::cluster::decision(&client, namespace, name).await.is_none(), "no decision of its own: {name}");
    }
    pod_in_state(&pods, "shop/web:1", None).await;
    pod_in_state(&pods, "shop/api:1", None).await;
}

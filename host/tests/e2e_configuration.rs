//! Configuration in the cluster: the controller records the ConfigMap a
//! release mounts, a rollback of a release that changed it together with
//! the image restores both, and the records go with their ReplicaSets.
//! Run by scripts/e2e.sh on the real API server, under the chart's RBAC.

mod common;
use common::cluster::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use rewind::controller::crd::RolloutPolicy;
use serde_json::json;

const GOOD: &str = "upstream = http://api:8080\n";
const BAD: &str = "upstream = http://api-v2:8080\n";

fn records(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("rewind.dev", "v1alpha1", "ReleaseConfiguration"));
    Api::namespaced_with(client.clone(), namespace, &resource)
}

async fn config(config_maps: &Api<ConfigMap>) -> Option<String> {
    config_maps.get("web-config").await.ok()?.data?.get("web.conf").cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_rollback_restores_the_config_map_its_release_ran_with_and_records_go_with_their_releases() {
    let client = client().await;
    install_crd(&client).await;
    let namespace = "e2e-configuration";
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let new_namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
    namespaces.create(&PostParams::default(), &new_namespace).await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let config_map = json!({"metadata": {"name": "web-config"}, "data": {"web.conf": GOOD}});
    config_maps.create(&PostParams::default(), &serde_json::from_value(config_map).unwrap()).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let mut web = serde_json::to_value(deployment(namespace, "shop/web:1")).unwrap();
    web["spec"]["template"]["spec"]["volumes"] = json!([{"name": "config", "configMap": {"name": "web-config"}}]);
    deployments.create(&PostParams::default(), &serde_json::from_value(web).unwrap()).await.unwrap();
    let pods = Api::namespaced(client.clone(), namespace);
    pod_in_state(&pods, "shop/web:1", None).await;

    let _controller = start_controller(&client);
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), namespace);
    let policy = json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "policy": {"module": deployment_module()},
                 "settings": {"graceSeconds": GRACE_SECONDS}, "mode": "Enforce", "resyncSeconds": 1,
                 "grants": ["patch:ConfigMap:/data"]}
    });
    policies.create(&PostParams::default(), &serde_json::from_value(policy).unwrap()).await.unwrap();
    let records = records(&client, namespace);
    let first = eventually("the running release's configuration recorded", async || {
        let list = records.list(&ListParams::default()).await.ok()?;
        let record = list.items.into_iter().next()?;
        (record.data["spec"]["configMaps"][0]["data"]["web.conf"] == GOOD).then_some(record)
    })
    .await;

    // One change of configuration and image, as a release ships it.
    let bad = json!({"data": {"web.conf": BAD}});
    config_maps.patch("web-config", &PatchParams::default(), &Patch::Merge(&bad)).await.unwrap();
    let image =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:unpullable"}]}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(&image)).await.unwrap();

    eventually("the rollback with the configuration restored", async || {
        let web = deployments.get("web").await.ok()?;
        let restored = config(&config_maps).await? == GOOD;
        (restored && template_image(&web) == "shop/web:1").then_some(())
    })
    .await;
    let decision = decision(&client, namespace, "deployment-web").await.unwrap();
    assert!(decision.errors.is_empty(), "{:?}", decision.errors);
    let web = deployments.get("web").await.unwrap();
    let volumes = web.spec.unwrap().template.spec.unwrap().volumes.unwrap();
    assert_eq!(volumes[0].config_map.as_ref().unwrap().name, "web-config");

    // Records are the releases' own: owned by their ReplicaSets, they go
    // with them, here when the Deployment is deleted.
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let owner = first.metadata.owner_references.as_ref().unwrap()[0].clone();
    assert_eq!(owner.kind, "ReplicaSet");
    assert!(replica_sets.get(&owner.name).await.is_ok());
    deployments.delete("web", &DeleteParams::background()).await.unwrap();
    eventually("every record gone with its ReplicaSet", async || {
        records.list(&ListParams::default()).await.ok()?.items.is_empty().then_some(())
    })
    .await;
}

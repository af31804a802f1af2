//! A controller shared by teams, tried as each team's attacker would on a
//! real API server: a tenant who may only write RolloutPolicies in its
//! namespace, someone who may only create ReplicaSets, a policy module
//! that answers what a rollback does not need. Each attempt has no effect,
//! and the operator's own RolloutPolicy rolls back on time meanwhile.

mod common;
use common::cluster::*;
use common::component;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use rewind::controller::crd::RolloutPolicy;
use serde_json::{Value, json};
use std::time::Duration;

/// A client acting as ServiceAccount `name` of `namespace`, with only the
/// rights `rules` give it there.
async fn persona(admin: &Client, namespace: &str, name: &str, rules: Value) -> Client {
    let params = PostParams::default();
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
    accounts.create(&params, &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()).await.unwrap();
    let roles: Api<Role> = Api::namespaced(admin.clone(), namespace);
    roles
        .create(&params, &serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap())
        .await
        .unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), namespace);
    let binding = json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    });
    bindings.create(&params, &serde_json::from_value(binding).unwrap()).await.unwrap();
    let path = std::env::var_os("REWIND_E2E_KUBECONFIG").unwrap();
    let file = kube::config::Kubeconfig::read_from(path).unwrap();
    let mut config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await.unwrap();
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{namespace}:{name}"));
    Client::try_from(config).unwrap()
}

async fn label_tenant(admin: &Client, namespace: &str) {
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let label = json!({"metadata": {"labels": {TENANT_LABEL: "true"}}});
    namespaces.patch(namespace, &PatchParams::default(), &Patch::Merge(&label)).await.unwrap();
}

fn tenant_policy(name: &str, spec: Value) -> RolloutPolicy {
    let mut base = json!({
        "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "policy": {"module": deployment_module()},
        "settings": {"graceSeconds": GRACE_SECONDS}, "mode": "Enforce", "resyncSeconds": 1
    });
    rewind::actions::apply_merge_patch(&mut base, &spec);
    serde_json::from_value(json!({"apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
                                  "metadata": {"name": name}, "spec": base}))
    .unwrap()
}

async fn ready_condition(policies: &Api<RolloutPolicy>, name: &str) -> (String, String, String) {
    eventually(&format!("PolicyReady of {name}"), async || {
        let rp = policies.get(name).await.ok()?;
        let ready = rp.status?.conditions.into_iter().find(|c| c.kind == "PolicyReady")?;
        Some((ready.status, ready.reason, ready.message))
    })
    .await
}

/// What a tenant writes into its own RolloutPolicies beyond its namespace's
/// bound is not served: no module outside the policies directory is read,
/// no grant is given, rewind's own kinds are no target, no Prometheus or
/// Secret of its choosing is used. The operator's policy in the same
/// namespace meanwhile rolls back as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_tenant_gets_no_more_than_its_namespaces_bound() {
    let admin = client().await;
    install_crd(&admin).await;
    let namespace = "e2e-tenant";
    let (deployments, _pods) = failing_rollout(&admin, namespace).await;
    label_tenant(&admin, namespace).await;
    // A team that runs its own Deployments and may delete their pods, so the
    // chart's admission policy (where installed) lets its RolloutPolicies
    // through: the bound alone holds here.
    let rules = json!([
        {"apiGroups": ["rewind.dev"], "resources": ["rolloutpolicies"],
         "verbs": ["get", "list", "create", "update", "patch", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "update", "patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}
    ]);
    let tenant = persona(&admin, namespace, "tenant", rules).await;
    let controller = start_controller(&admin);

    let as_tenant: Api<RolloutPolicy> = Api::namespaced(tenant.clone(), namespace);
    let as_admin: Api<RolloutPolicy> = Api::namespaced(admin.clone(), namespace);
    // rewind's own kinds as a target: the chart's admission policy refuses
    // it whoever asks; where none is installed, the bound does.
    let decision_target = tenant_policy(
        "decision-target",
        json!({"target": {"apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutDecision", "name": "deployment-web"}}),
    );
    match as_admin.create(&PostParams::default(), &decision_target).await {
        Err(kube::Error::Api(status)) => assert!(status.message.contains("ValidatingAdmissionPolicy"), "{status:?}"),
        Err(other) => panic!("{other}"),
        Ok(_) => {
            let (status, reason, message) = ready_condition(&as_admin, "decision-target").await;
            assert_eq!((status.as_str(), reason.as_str()), ("False", "OutsideBound"), "{message}");
            assert!(message.contains("spec.target kind RolloutDecision"), "{message}");
        }
    }
    let attempts = [
        ("module-path", json!({"policy": {"module": "/etc/hostname"}}), "a path outside the policies directory"),
        ("grant", json!({"grants": ["delete:Pod"]}), "spec.grants[0] delete:Pod is outside the bound"),
        (
            "prometheus",
            json!({"metrics": {"prometheus": {"address": "http://attacker.example:9090"}, "queries": []}}),
            "spec.metrics.prometheus.address http://attacker.example:9090",
        ),
    ];
    let policies = &as_admin;
    for (name, spec, why) in &attempts {
        as_tenant.create(&PostParams::default(), &tenant_policy(name, spec.clone())).await.unwrap();
        let (status, reason, message) = ready_condition(policies, name).await;
        assert_eq!((status.as_str(), reason.as_str()), ("False", "OutsideBound"), "{name}: {message}");
        assert!(message.contains(why) && message.contains("no RolloutPolicyBound selects it"), "{name}: {message}");
    }
    // The tenant's own policy within the bound decides, as the oldest
    // selecting the workload would: here every tenant policy above selects
    // `web` but serves nothing, so the in-bound one rolls it back.
    as_tenant.create(&PostParams::default(), &tenant_policy("within", json!({}))).await.unwrap();
    eventually("the rollback by the policy within its bound", async || {
        (template_image(&deployments.get("web").await.ok()?) == "shop/web:1").then_some(())
    })
    .await;
    let decisions = decision(&admin, namespace, "deployment-web").await.unwrap();
    assert!(decisions.errors.is_empty(), "{decisions:?}");
    controller.abort();
}

/// Someone who may only create ReplicaSets plants one owned by the
/// Deployment (its uid, not as its controller, so the Deployment controller
/// leaves it be), with an attacker's image and a revision above every real
/// one, outside the selector: the Deployment is rolled back to its own
/// previous release, never to the planted one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_planted_replica_set_is_never_restored() {
    let admin = client().await;
    install_crd(&admin).await;
    let namespace = "e2e-planted";
    let (deployments, _pods) = failing_rollout(&admin, namespace).await;
    let uid = deployments.get("web").await.unwrap().uid().unwrap();
    let rules = json!([{"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["create"]}]);
    let planter = persona(&admin, namespace, "planter", rules).await;
    let planted = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-planted", "labels": {"app": "planted"},
                     "annotations": {"deployment.kubernetes.io/revision": "9"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": uid}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "planted"}},
                 "template": {"metadata": {"labels": {"app": "planted"}},
                              "spec": {"containers": [{"name": "app", "image": "attacker/miner:latest"}]}}}
    });
    let replica_sets: Api<ReplicaSet> = Api::namespaced(planter, namespace);
    replica_sets.create(&PostParams::default(), &serde_json::from_value(planted).unwrap()).await.unwrap();
    rollout_policy(&admin, namespace, "Enforce", 3).await;
    let controller = start_controller(&admin);
    eventually("the rollback to the Deployment's own previous release", async || {
        (template_image(&deployments.get("web").await.ok()?) == "shop/web:1").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:1");
    controller.abort();
}

/// A module with no grant rolls back to the release already running and
/// then deletes that release's Ready pods: the rollback restores nothing,
/// so it opens nothing, and no pod is deleted however often it is asked.
/// Another flips the workload with rollbacks from detect-failure on a
/// rollout it calls healthy: the flap guard counts those too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn rollbacks_that_restore_nothing_open_nothing_and_every_rollback_is_counted() {
    let admin = client().await;
    install_crd(&admin).await;
    let namespace = "e2e-noop";
    let (deployments, pods) = rollout(&admin, namespace, "shop/web:2", None).await;
    let serving: Vec<String> = ready_pods(&pods).await;
    let hostile = component("tests/components/hostile").display().to_string();
    let policies: Api<RolloutPolicy> = Api::namespaced(admin.clone(), namespace);
    let noop = json!({"policy": {"module": hostile}, "settings": {"attack": "noop-rollback-delete-serving"}});
    policies.create(&PostParams::default(), &tenant_policy("noop", noop)).await.unwrap();
    let controller = start_controller(&admin);
    eventually("the refusal in the decision", async || {
        let decided = decision(&admin, namespace, "deployment-web").await?;
        decided.errors.iter().any(|e| e.contains("only pods of the failed release")).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(ready_pods(&pods).await, serving, "no serving pod was deleted");

    // The same namespace, now flipped from detect-failure under maxRollbacks 1.
    policies.delete("noop", &Default::default()).await.unwrap();
    let flip = json!({"policy": {"module": component("tests/components/hostile").display().to_string()},
                      "settings": {"attack": "flip-from-detect"},
                      "flapGuard": {"maxRollbacks": 1, "windowSeconds": 3600}});
    policies.create(&PostParams::default(), &tenant_policy("flip", flip)).await.unwrap();
    eventually("the flap guard to hold", async || {
        let decided = decision(&admin, namespace, "deployment-web").await?;
        decided.flap_guard_tripped.then_some(())
    })
    .await;
    let image = template_image(&deployments.get("web").await.unwrap());
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), image, "no flip after the first");
    let decided = decision(&admin, namespace, "deployment-web").await.unwrap();
    assert_eq!(decided.rollbacks.len(), 1, "{decided:?}");
    controller.abort();
}

async fn ready_pods(pods: &Api<Pod>) -> Vec<String> {
    let list = pods.list(&ListParams::default()).await.unwrap();
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            let conditions = p.status.as_ref().and_then(|s| s.conditions.as_ref());
            conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .map(|p| p.name_any())
        .collect();
    names.sort();
    names
}

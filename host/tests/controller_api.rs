//! The controller's reconciles against an API server in memory
//! (common/fake_api.rs): what it reads, writes, deletes and records for a
//! workload, with the requests asserted, in seconds and without a cluster.
//! The real API server's tier is scripts/e2e.sh.

mod common;
use common::component;
use common::fake_api::{FakeApi, Recorded, path_of};
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher;
use rewind::controller::bound::{Bounds, RolloutPolicyBound};
use rewind::controller::cache::Cache;
use rewind::controller::crd::RolloutPolicy;
use rewind::controller::metrics::Metrics;
use rewind::controller::queue::Queue;
use rewind::controller::reconcile::{Context, Stores, reconcile_policy, reconcile_workload};
use rewind::objects::ObjectKey;
use rewind::runtime::{ArtifactCache, PolicyRuntime, SandboxLimits};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const DEPLOYMENT: &str = "/apis/apps/v1/namespaces/shop/deployments/web";
const DECISION: &str = "/apis/rewind.dev/v1alpha1/namespaces/shop/rolloutdecisions/deployment-web";

/// A controller over `dump` (an example cluster dump), with its objects
/// both in the fake API server and in the watch caches.
struct Harness {
    api: FakeApi,
    ctx: Arc<Context>,
    policies: Writer<RolloutPolicy>,
    bounds: Writer<RolloutPolicyBound>,
}

fn objects_of(dump: &str) -> Vec<Value> {
    let path = common::workspace().join("examples/deployment").join(dump);
    let set = rewind::dump::load_paths(&[path]).unwrap();
    set.iter().map(|(_, v)| v.clone()).filter(|v| v.get("kind") != Some(&json!("Event"))).collect()
}

fn harness(dump: &str) -> Harness {
    let api = FakeApi::default();
    let cache = Cache::default();
    for object in objects_of(dump) {
        api.put(object.clone());
        cache.insert(object);
    }
    for (group, kind) in rewind::controller::cluster::tree_kinds() {
        cache.mark_listed(group, kind);
    }
    cache.mark_listed(rewind::controller::decisions::GROUP, rewind::controller::decisions::KIND);
    let (policies, policies_writer) = reflector::store();
    let (bounds, bounds_writer) = reflector::store::<RolloutPolicyBound>();
    let (namespaces, _) = reflector::store::<Namespace>();
    let policies_dir = component("plugins/deployment").parent().map(ToOwned::to_owned);
    let stores =
        Stores { cache, policies, bounds: Bounds { bounds, namespaces, policies_dir: policies_dir.clone().unwrap() } };
    let runtime = PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::new(common::cache_dir()))).unwrap();
    let options = rewind::controller::run::Options { policies_dir, ..Default::default() };
    let ctx =
        Context::new(api.client(), Arc::new(runtime), Metrics::default(), options, stores, Arc::new(Queue::default()));
    Harness { api, ctx: Arc::new(ctx), policies: policies_writer, bounds: bounds_writer }
}

fn policy(name: &str, module: &str, spec: Value) -> RolloutPolicy {
    let mut base = json!({
        "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "policy": {"module": component(module).display().to_string()},
        "mode": "Enforce", "resyncSeconds": 30
    });
    rewind::actions::apply_merge_patch(&mut base, &spec);
    serde_json::from_value(json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
                     "creationTimestamp": "2024-11-06T10:00:00Z"},
        "spec": base
    }))
    .unwrap()
}

fn web() -> ObjectKey {
    ObjectKey {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some("shop".into()),
        name: "web".into(),
    }
}

impl Harness {
    /// Adds `rp`, as the RolloutPolicy watch would, and waits until its
    /// module serves (a load runs in the background).
    async fn serve(&mut self, rp: RolloutPolicy) {
        self.api.put(serde_json::to_value(&rp).unwrap());
        self.policies.apply_watcher_event(&watcher::Event::Apply(rp.clone()));
        for _ in 0..600 {
            if self.ctx.modules.policy_for(&rp).await.policy.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the module of {} did not load", rp.metadata.name.unwrap());
    }

    fn bound(&mut self, name: &str, spec: Value) {
        let bound = json!({"apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicyBound",
                           "metadata": {"name": name}, "spec": spec});
        self.bounds.apply_watcher_event(&watcher::Event::Apply(serde_json::from_value(bound).unwrap()));
    }

    async fn reconcile(&self) -> Option<Duration> {
        reconcile_workload(&web(), &self.ctx).await.unwrap()
    }

    fn decision(&self) -> Value {
        self.api.get(DECISION).unwrap_or_else(|| panic!("no decision: {:#?}", self.api.requests()))["spec"].clone()
    }

    fn image(&self) -> String {
        let deployment = self.api.get(DEPLOYMENT).unwrap();
        deployment["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap().to_string()
    }

    fn writes_to(&self, method: &str, path_part: &str) -> Vec<Recorded> {
        self.api.writes().into_iter().filter(|r| r.method == method && r.path.contains(path_part)).collect()
    }

    fn event_reasons(&self) -> Vec<String> {
        self.writes_to("POST", "/events").iter().filter_map(|r| r.body["reason"].as_str().map(str::to_string)).collect()
    }
}

#[tokio::test]
async fn a_failing_rollout_is_rolled_back_with_the_version_it_was_decided_on_and_recorded() {
    let mut h = harness("image-pull-backoff.yaml");
    h.serve(policy("web", "plugins/deployment", json!({}))).await;
    let seen_version = h.api.get(DEPLOYMENT).unwrap()["metadata"]["resourceVersion"].clone();
    h.reconcile().await;
    let replaced = h.writes_to("PUT", "/deployments/web");
    assert_eq!(replaced.len(), 1, "{:#?}", h.api.writes());
    assert_eq!(replaced[0].body["metadata"]["resourceVersion"], seen_version, "written on the version decided on");
    assert_eq!(h.image(), "registry.example.com/shop/web:1.3.1");
    let decision = h.decision();
    assert_eq!((decision["state"].as_str(), decision["release"].as_str()), (Some("failed"), Some("2")));
    assert_eq!(decision["rollbacks"].as_array().unwrap().len(), 1);
    let reasons = h.event_reasons();
    assert!(
        reasons.contains(&"RollingBack".to_string()) && reasons.contains(&"RewindAction".to_string()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn dry_run_records_the_plan_and_writes_nothing_to_the_workload() {
    let mut h = harness("image-pull-backoff.yaml");
    h.serve(policy("web", "plugins/deployment", json!({"mode": "DryRun"}))).await;
    h.reconcile().await;
    assert!(h.writes_to("PUT", "/deployments").is_empty());
    assert_eq!(h.image(), "registry.example.com/shop/web:1.4.0");
    assert_eq!(h.decision()["dryRun"], true);
    assert_eq!(h.event_reasons(), ["WouldRollback"]);
}

#[tokio::test]
async fn a_workload_changed_since_the_decision_is_decided_again_not_overwritten() {
    let mut h = harness("image-pull-backoff.yaml");
    h.serve(policy("web", "plugins/deployment", json!({}))).await;
    // Someone else wrote the Deployment after the watch saw it.
    let mut moved = h.api.get(DEPLOYMENT).unwrap();
    moved["spec"]["replicas"] = json!(5);
    h.api.put(moved.clone());
    h.api.put({
        let mut bumped = moved;
        bumped["metadata"]["resourceVersion"] = json!("999999");
        bumped
    });
    let again = h.reconcile().await;
    assert!(h.writes_to("PUT", "/deployments").is_empty(), "{:#?}", h.api.writes());
    assert!(again.is_some_and(|after| after <= Duration::from_secs(1)), "{again:?}");
    assert_eq!(h.api.get(DEPLOYMENT).unwrap()["spec"]["replicas"], 5);
}

#[tokio::test]
async fn a_refused_write_is_recorded_as_an_error_with_a_warning_event() {
    let mut h = harness("image-pull-backoff.yaml");
    h.serve(policy("web", "plugins/deployment", json!({}))).await;
    h.api.fail_next("PUT", "/deployments/web", 403);
    h.reconcile().await;
    let decision = h.decision();
    let errors: Vec<&str> = decision["errors"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(errors.iter().any(|e| e.contains("refused by the test")), "{errors:?}");
    assert!(decision["rollbacks"].as_array().unwrap().is_empty(), "a rollback not carried out is not counted");
    assert!(h.event_reasons().contains(&"RewindActionFailed".to_string()), "{:?}", h.event_reasons());
}

#[tokio::test]
async fn nothing_is_read_or_written_for_a_workload_whose_policy_is_still_loading() {
    let h = harness("image-pull-backoff.yaml");
    let rp = policy("web", "plugins/deployment", json!({}));
    let mut writer = h.policies;
    writer.apply_watcher_event(&watcher::Event::Apply(rp));
    let h = Harness { policies: writer, ..h };
    // The first reconcile starts the load and comes back soon.
    let again = reconcile_workload(&web(), &h.ctx).await.unwrap();
    assert!(again.is_some_and(|after| after <= Duration::from_secs(1)), "{again:?}");
    assert!(h.api.writes().is_empty(), "{:#?}", h.api.writes());
    assert_eq!(h.image(), "registry.example.com/shop/web:1.4.0");
}

#[tokio::test]
async fn a_write_the_policy_is_not_granted_executes_nothing_and_names_the_grant() {
    let mut h = harness("healthy.yaml");
    let attack = json!({"settings": {"attack": "scale-to-zero", "stage": "select-release"}});
    h.serve(policy("web", "tests/components/hostile", attack)).await;
    h.reconcile().await;
    assert!(h.writes_to("PUT", "/deployments").is_empty() && h.writes_to("PATCH", "/deployments").is_empty());
    let errors = h.decision()["errors"].to_string();
    assert!(
        errors.contains("`patch:Deployment:/spec/replicas`, which the policy declares but is not given"),
        "{errors}"
    );
    assert_eq!(h.event_reasons(), ["PolicyError"]);
}

#[tokio::test]
async fn a_rollback_that_restores_nothing_deletes_no_pod() {
    let mut h = harness("healthy.yaml");
    let attack = json!({"settings": {"attack": "noop-rollback-delete-serving", "stage": "select-release"}});
    h.serve(policy("web", "tests/components/hostile", attack)).await;
    h.reconcile().await;
    assert!(h.writes_to("DELETE", "/pods/").is_empty(), "{:#?}", h.api.writes());
    assert!(h.decision()["errors"].to_string().contains("only pods of the failed release"));
}

#[tokio::test]
async fn the_flap_guard_holds_after_the_limit_and_says_so_once() {
    let mut h = harness("image-pull-backoff.yaml");
    let guarded = json!({"flapGuard": {"maxRollbacks": 1, "windowSeconds": 3600}});
    h.serve(policy("web", "plugins/deployment", guarded)).await;
    h.reconcile().await;
    assert_eq!(h.writes_to("PUT", "/deployments").len(), 1);
    // The rollout fails again as before: the watch shows the old template.
    for object in objects_of("image-pull-backoff.yaml").into_iter().filter(|o| o["kind"] == "Deployment") {
        let mut again = object;
        again["metadata"]["resourceVersion"] = h.api.get(DEPLOYMENT).unwrap()["metadata"]["resourceVersion"].clone();
        h.api.put(again.clone());
        h.ctx.cache.insert(again);
    }
    h.api.forget_requests();
    h.reconcile().await;
    h.reconcile().await;
    assert!(h.writes_to("PUT", "/deployments").is_empty(), "{:#?}", h.api.writes());
    assert_eq!(h.decision()["flapGuardTripped"], true);
    assert_eq!(h.event_reasons(), ["FlapGuard"], "said once, not every resync");
}

#[tokio::test]
async fn a_workload_no_policy_covers_any_more_loses_its_decision() {
    let mut h = harness("image-pull-backoff.yaml");
    let rp = policy("web", "plugins/deployment", json!({"mode": "DryRun"}));
    h.serve(rp.clone()).await;
    h.reconcile().await;
    assert!(h.api.get(DECISION).is_some());
    h.policies.apply_watcher_event(&watcher::Event::Delete(rp));
    assert_eq!(h.reconcile().await, None);
    assert_eq!(h.writes_to("DELETE", "/rolloutdecisions/deployment-web").len(), 1);
    assert!(h.api.get(DECISION).is_none());
}

#[tokio::test]
async fn a_policy_outside_its_namespaces_bound_serves_nothing_and_its_status_says_why() {
    let mut h = harness("image-pull-backoff.yaml");
    let rp = policy("web", "plugins/deployment", json!({"grants": ["delete:Pod"]}));
    h.api.put(serde_json::to_value(&rp).unwrap());
    h.policies.apply_watcher_event(&watcher::Event::Apply(rp));
    // No policy within its bound covers the workload: nothing decides it.
    assert_eq!(h.reconcile().await, None);
    assert!(h.writes_to("PUT", "/deployments").is_empty() && h.api.get(DECISION).is_none());
    reconcile_policy("shop", "web", &h.ctx).await.unwrap();
    let status = &h.writes_to("PATCH", "/rolloutpolicies/web/status")[0].body["status"];
    let ready = status["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "PolicyReady").unwrap();
    assert_eq!((ready["status"].as_str(), ready["reason"].as_str()), (Some("False"), Some("OutsideBound")));
    assert!(ready["message"].as_str().unwrap().contains("spec.grants[0] delete:Pod"), "{ready}");
    // Widened by the operator, the same policy serves.
    h.bound("shop", json!({"grants": ["delete:Pod"]}));
    let rp = policy("web", "plugins/deployment", json!({"grants": ["delete:Pod"]}));
    h.serve(rp).await;
    h.reconcile().await;
    assert_eq!(h.writes_to("PUT", "/deployments").len(), 1);
}

#[tokio::test]
async fn a_planted_replica_set_is_not_a_release_in_the_controller_either() {
    let mut h = harness("image-pull-backoff.yaml");
    let planted = objects_of("planted/outside-selector.yaml").remove(0);
    h.api.put(planted.clone());
    h.ctx.cache.insert(planted);
    h.serve(policy("web", "plugins/deployment", json!({}))).await;
    h.reconcile().await;
    assert_eq!(h.image(), "registry.example.com/shop/web:1.3.1", "the real previous release");
    assert_eq!(h.decision()["release"], "2");
}

#[tokio::test]
async fn an_unchanged_decision_is_not_written_again() {
    let mut h = harness("healthy.yaml");
    h.serve(policy("web", "plugins/deployment", json!({}))).await;
    h.reconcile().await;
    assert_eq!(h.writes_to("PATCH", "/rolloutdecisions/").len(), 1);
    h.api.forget_requests();
    h.reconcile().await;
    h.reconcile().await;
    assert!(h.api.writes().is_empty(), "{:#?}", h.api.writes());
    assert_eq!(path_of(&h.api.get(DECISION).unwrap()), DECISION);
}

impl Harness {
    /// What the watches would show: every object as the API server now has it.
    fn sync(&self) {
        for path in self.api.paths() {
            self.ctx.cache.insert(self.api.get(&path).unwrap());
        }
    }
}

#[tokio::test]
async fn rollbacks_from_detect_failure_are_held_by_the_flap_guard_too() {
    let mut h = harness("healthy.yaml");
    let flip =
        json!({"settings": {"attack": "flip-from-detect"}, "flapGuard": {"maxRollbacks": 1, "windowSeconds": 3600}});
    h.serve(policy("web", "tests/components/hostile", flip)).await;
    h.reconcile().await;
    assert_eq!(h.writes_to("PUT", "/deployments").len(), 1, "{:#?}", h.api.writes());
    h.sync();
    h.api.forget_requests();
    h.reconcile().await;
    assert!(h.writes_to("PUT", "/deployments").is_empty(), "{:#?}", h.api.writes());
    let decision = h.decision();
    assert_eq!(decision["flapGuardTripped"], true, "{decision:#}");
    assert_eq!(decision["rollbacks"].as_array().unwrap().len(), 1);
}

/// A Deployment a Flux Kustomization applies, with the Kustomization in the
/// watch cache when `listed`: what the controller reads for its snapshot.
fn applied_by_flux(listed: bool) -> Harness {
    let h = harness("../gitops/web-flux.yaml");
    if listed {
        let owner = std::fs::read_to_string(common::workspace().join("examples/gitops/owners/kustomization.yaml"));
        h.ctx.cache.insert(serde_yaml::from_str(&owner.unwrap()).unwrap());
        h.ctx.cache.mark_listed("kustomize.toolkit.fluxcd.io", "Kustomization");
    }
    h
}

/// `gitops: report` (the default): the controller finds the Kustomization
/// in its cache and the policy refuses the rollback Flux would undo.
#[tokio::test]
async fn a_rollback_flux_would_undo_is_refused_naming_the_revision() {
    let mut h = applied_by_flux(true);
    h.serve(policy("web", "plugins/deployment", json!({"settings": {"graceSeconds": 120}}))).await;
    h.reconcile().await;
    assert!(h.writes_to("PUT", "/deployments").is_empty(), "{:#?}", h.api.writes());
    let decision = h.decision();
    assert_eq!(decision["eligible"], false, "{decision}");
    assert_eq!(decision["state"], "failed", "{decision}");
    let reason = decision["eligibilityReason"].as_str().unwrap();
    assert!(reason.contains("Flux Kustomization flux-system/apps applies revision main@sha1:1b2c3d4"), "{reason}");
}

/// A kind the controller does not list is an owner it cannot read, which
/// is not taken for an owner that does not exist.
#[tokio::test]
async fn an_owner_kind_the_controller_does_not_list_is_unreadable_not_missing() {
    let mut h = applied_by_flux(false);
    let settings = json!({"settings": {"graceSeconds": 120, "gitops": "pause"}});
    h.serve(policy("web", "plugins/deployment", settings)).await;
    h.reconcile().await;
    assert!(h.writes_to("PUT", "/deployments").is_empty(), "{:#?}", h.api.writes());
    assert_eq!(h.decision()["eligible"], false, "{}", h.decision());
    let reason = h.decision()["eligibilityReason"].as_str().unwrap().to_string();
    assert!(reason.contains("the controller does not list Kustomization.kustomize.toolkit.fluxcd.io"), "{reason}");
}

//! Metric analysis on the real API server with Debian's Prometheus
//! (`scripts/e2e.sh` runs these ignored tests): a RolloutPolicy's queries
//! run before each evaluation, a capture records their results, and a
//! Prometheus that is down or a token the controller may not read leave the
//! analysis inconclusive.

mod common;
use common::cluster::*;
use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use rewind::controller::crd::RolloutPolicy;
use serde_json::{Value, json};
use std::time::Duration;

/// A Deployment rolled out from `shop/web:1` to `shop/web:2`, every pod of
/// both Ready; returns the pod-template-hash of each revision.
async fn ready_rollout(client: &kube::Client, namespace: &str) -> (Api<Deployment>, String, String) {
    let (deployments, _pods) = rollout(client, namespace, "shop/web:2", None).await;
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let hash_of = async |image: &str| {
        let list = replica_sets.list(&ListParams::default()).await.unwrap();
        let rs = list.items.into_iter().find(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .map(|s| &s.containers[0].image)
                == Some(&Some(image.to_string()))
        });
        rs.and_then(|rs| rs.metadata.labels?.get("pod-template-hash").cloned()).expect("a ReplicaSet of the image")
    };
    let (old, new) = (hash_of("shop/web:1").await, hash_of("shop/web:2").await);
    (deployments, old, new)
}

/// The Deployment policy judging `error-rate` (above 0.05 in the latest two
/// samples) from the current release's series at `address`.
async fn analysing_policy(client: &kube::Client, namespace: &str, address: &str) {
    let allowed =
        json!({"prometheusAddresses": [address], "secrets": [{"name": "prometheus-token", "keys": ["token"]}]});
    bound_for(client, namespace, allowed).await;
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), namespace);
    let query = r#"max(http_error_ratio{namespace="{{namespace}}",pod_template_hash="{{podTemplateHash}}"})"#;
    let policy: RolloutPolicy = serde_json::from_value(json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "policy": {"module": deployment_module()},
                 "settings": {"graceSeconds": GRACE_SECONDS,
                              "analysis": [{"metric": "error-rate", "failWhen": {"above": 0.05}, "consecutive": 2}]},
                 "mode": "Enforce", "resyncSeconds": 1,
                 "metrics": {"prometheus": {"address": address, "timeoutSeconds": 2},
                             "queries": [{"name": "error-rate", "query": query,
                                          "range": {"seconds": 120, "stepSeconds": 15}}]}}
    }))
    .unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_ready_rollout_whose_error_rate_crosses_the_threshold_is_rolled_back_once() {
    use common::prometheus::{Series, TestPrometheus, every};
    let client = client().await;
    install_crd(&client).await;
    let _controller = start_controller(&client);
    let namespace = "e2e-analysis";
    let (deployments, old, new) = ready_rollout(&client, namespace).await;
    // Every pod is Ready, but since the rollout the new revision fails 20%
    // of its requests; the old one 1%, before and after.
    let now = jiff::Timestamp::now().as_second();
    let labels = |hash: &str| format!(r#"namespace="{namespace}",pod_template_hash="{hash}""#);
    let (old_labels, new_labels) = (labels(&old), labels(&new));
    let prometheus = TestPrometheus::start(&[
        Series { name: "http_error_ratio", labels: &old_labels, samples: every(15, now - 600, now + 900, |_| 0.01) },
        Series { name: "http_error_ratio", labels: &new_labels, samples: every(15, now - 60, now + 900, |_| 0.2) },
    ]);
    analysing_policy(&client, namespace, &prometheus.address).await;
    eventually("the rollback to shop/web:1", async || {
        let d = deployments.get("web").await.ok()?;
        (template_image(&d) == "shop/web:1").then_some(())
    })
    .await;
    // Revision 1's own series is well under the threshold: it stays.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:1");
    assert_eq!(events(&client, namespace, "RollingBack").await, 1, "one rollback");
    let recorded = decision(&client, namespace, "deployment-web").await.unwrap();
    assert_eq!(recorded.rollbacks.len(), 1, "{recorded:?}");
    // The rollback's event names the query, its value and the threshold.
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), namespace);
    let listed = events.list(&ListParams::default()).await.unwrap().items;
    let rolling_back = listed.iter().find(|e| e.reason.as_deref() == Some("RollingBack")).unwrap();
    let message = rolling_back.message.clone().unwrap_or_default();
    assert!(message.contains("metric error-rate is 0.2 (latest of") && message.contains("above 0.05"), "{message}");
    assert!(message.contains(&format!(r#"pod_template_hash="{new}""#)), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_prometheus_that_is_down_makes_the_analysis_inconclusive_without_a_rollback() {
    let client = client().await;
    install_crd(&client).await;
    let _controller = start_controller(&client);
    let namespace = "e2e-analysis-down";
    let (deployments, _, _) = ready_rollout(&client, namespace).await;
    let address = format!("http://127.0.0.1:{}", common::prometheus::free_port());
    analysing_policy(&client, namespace, &address).await;
    let recorded = eventually("an inconclusive decision", async || {
        let decided = decision(&client, namespace, "deployment-web").await?;
        (decided.state.as_deref() == Some("progressing")).then_some(decided)
    })
    .await;
    assert_eq!(recorded.findings, vec!["MetricInconclusive".to_string()], "{recorded:?}");
    let message = &recorded.finding_messages[0];
    assert!(message.starts_with(&format!("metric error-rate: the query failed: Prometheus at {address}")), "{message}");
    // A bearer token the controller may not read is the queries' error too
    // (the chart grants only the Secrets listed in rbac.tokenSecrets).
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), namespace);
    let token = json!({"spec": {"metrics": {"prometheus": {"bearerTokenSecret": {"name": "prometheus-token", "key": "token"}}}}});
    policies.patch("web", &PatchParams::default(), &Patch::Merge(&token)).await.unwrap();
    let refused = format!(
        "metric error-rate: the query failed: cannot read the bearer token from Secret {namespace}/prometheus-token"
    );
    eventually("the unreadable token in the decision", async || {
        let decided = decision(&client, namespace, "deployment-web").await?;
        decided.finding_messages.iter().any(|m| m.starts_with(&refused)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:2", "no rollback");
    assert_eq!(events(&client, namespace, "RollingBack").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn capture_records_the_query_results_and_backtest_replays_them() {
    use common::prometheus::{Series, TestPrometheus, every};
    let client = client().await;
    let namespace = "capture-metrics";
    let (_deployments, _old, new) = ready_rollout(&client, namespace).await;
    let now = jiff::Timestamp::now().as_second();
    let labels = format!(r#"namespace="{namespace}",pod_template_hash="{new}""#);
    let prometheus = TestPrometheus::start(&[Series {
        name: "http_error_ratio",
        labels: &labels,
        samples: every(15, now - 120, now + 600, |_| 0.2),
    }]);
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries.yaml");
    let query = r#"max(http_error_ratio{namespace="{{namespace}}",pod_template_hash="{{podTemplateHash}}"})"#;
    std::fs::write(&queries, format!("queries:\n  - name: error-rate\n    query: '{query}'\n")).unwrap();
    let kubeconfig = std::env::var("REWIND_E2E_KUBECONFIG").unwrap();
    let timeline = dir.path().join("timeline");
    let workload = ["--target", "Deployment/web", "-n", namespace];
    let capture = [
        "capture",
        "--kubeconfig",
        &kubeconfig,
        "--watch",
        timeline.to_str().unwrap(),
        "--interval",
        "1",
        "--count",
        "2",
        "--queries",
        queries.to_str().unwrap(),
        "--metrics-from",
        &prometheus.address,
    ];
    let (code, stdout, stderr) = run_rewind(&[&capture[..], &workload[..]].concat(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let first = std::fs::read_dir(&timeline).unwrap().next().unwrap().unwrap().path();
    let dump: Value = serde_yaml::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    let recorded = dump["items"].as_array().unwrap().iter().find(|o| o["kind"] == "RecordedMetrics").unwrap();
    assert_eq!(recorded["results"][0]["samples"][0]["value"], 0.2, "{recorded:#}");
    assert!(recorded["results"][0]["query"].as_str().unwrap().contains(&new), "{recorded:#}");

    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, "analysis: [{metric: error-rate, failWhen: {above: 0.05}}]\n").unwrap();
    let policy = component("plugins/deployment");
    let backtest = ["backtest", "--policy", policy.to_str().unwrap(), "--timeline", timeline.to_str().unwrap()];
    let backtest = [&backtest[..], &["--settings", settings.to_str().unwrap()]].concat();
    let (code, stdout, stderr) = run_rewind(&[&backtest[..], &workload[..]].concat(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("A: first failure 20") && stdout.contains("MetricFailed"), "{stdout}");
}

//! What a policy of each contract version the host speaks is given and may
//! answer, through real components.

mod common;
use common::*;
use rewind::objects::ObjectSet;

/// The image-pull-backoff example with results recorded for its Deployment.
fn with_recorded_metrics() -> ObjectSet {
    let mut objects = example("image-pull-backoff.yaml");
    let recorded = r#"
apiVersion: rewind.dev/v1alpha1
kind: RecordedMetrics
metadata: {name: web-metrics, namespace: shop}
target: {kind: Deployment, name: web}
results:
  - name: error-rate
    query: sum(rate(http_requests_total{code=~"5..",deployment="web"}[5m]))
    samples: [{time: "2024-11-06T14:30:00Z", value: 0.5}, {time: "2024-11-06T14:31:00Z", value: "2.25"}]
  - name: latency-p99
    query: histogram_quantile(0.99, rate(latency_bucket[5m]))
    error: Prometheus did not answer within 5 s
"#;
    rewind::dump::add_text(&mut objects, recorded, "recorded.yaml").unwrap();
    objects
}

/// A policy reads recorded metric results from its snapshot, each
/// with its query, samples in order, or its error.
#[test]
fn a_policy_reads_the_metric_results_recorded_for_its_workload() {
    let policy = runtime().load(&component("tests/components/metrics-reader"), "{}").unwrap_or_else(|e| panic!("{e}"));
    let evaluation = run(&policy, &mut with_recorded_metrics(), "2024-11-06T14:34:00Z", false);
    let failure = evaluation.report.failure.expect("answered");
    let findings: Vec<(&str, &str)> =
        failure.findings.iter().map(|f| (f.reason.as_str(), f.message.as_str())).collect();
    assert_eq!(
        findings,
        [
            (
                "error-rate",
                r#"sum(rate(http_requests_total{code=~"5..",deployment="web"}[5m])): samples [0.5@1730903400, 2.25@1730903460]"#
            ),
            (
                "latency-p99",
                "histogram_quantile(0.99, rate(latency_bucket[5m])): error Prometheus did not answer within 5 s"
            ),
        ]
    );
}

/// Policies built against 0.3.0 run unchanged: they log, read the snapshot
/// as JSON in 0.3.0's form (no metrics section, even when results were
/// recorded), and their `rollback-deployment` is the rollback of a
/// Deployment.
#[test]
fn a_policy_built_against_contract_0_3_0_runs_unchanged() {
    let policy = runtime().load(&component("tests/components/contract-0-3"), "{}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.wit, "rewind:policy@0.3.0");
    let evaluation = run(&policy, &mut with_recorded_metrics(), "2024-11-06T14:34:00Z", false);
    let report = &evaluation.report;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.logs.len(), 1);
    assert!(report.logs[0].message.starts_with("given ") && report.logs[0].message.ends_with(" snapshot bytes"));
    let failure = report.failure.as_ref().expect("detect-failure answered");
    assert_eq!(failure.findings[0].message, "the snapshot JSON has a metrics section: false");
    assert_eq!(report.selection.as_ref().and_then(|s| s.release.as_deref()), Some("1"));
    let actions: Vec<_> = evaluation.actions.iter().map(|a| serde_json::to_value(a).unwrap()).collect();
    assert_eq!(actions, [serde_json::json!({"type": "rollback", "revision": 1})]);
}

/// The image-pull-backoff example applied by a Flux Kustomization that the
/// dump holds and whose inventory lists the Deployment.
fn applied_by_flux() -> ObjectSet {
    let mut objects = with_recorded_metrics();
    let labels = serde_json::json!({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"});
    let target = objects.find_by_kind_name("Deployment", "shop", "web")[0];
    objects.get_mut(target).unwrap()["metadata"]["labels"] = labels;
    let kustomization = r#"
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 1m, suspend: false}
status:
  lastAppliedRevision: main@sha1:4f2c9e1
  inventory: {entries: [{id: shop_web_apps_Deployment, v: v1}]}
"#;
    rewind::dump::add_text(&mut objects, kustomization, "kustomization.yaml").unwrap();
    objects
}

/// Policies built against 0.4.0 run unchanged: their snapshot has the
/// metrics section and no GitOps section, even for a workload Flux applies.
#[test]
fn a_policy_built_against_contract_0_4_0_runs_unchanged() {
    let policy = runtime().load(&component("tests/components/contract-0-4"), "{}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.wit, "rewind:policy@0.4.0");
    let evaluation = run(&policy, &mut applied_by_flux(), "2024-11-06T14:34:00Z", false);
    let report = &evaluation.report;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.logs.len(), 1);
    let failure = report.failure.as_ref().expect("detect-failure answered");
    assert_eq!(failure.findings[0].message, "metrics: true, gitops: false");
    let actions: Vec<_> = evaluation.actions.iter().map(|a| serde_json::to_value(a).unwrap()).collect();
    assert_eq!(actions, [serde_json::json!({"type": "rollback", "revision": 1})]);
}

/// A 0.5.0 policy reads the GitOps object that applies its workload.
#[test]
fn a_policy_reads_the_gitops_owner_of_its_workload() {
    let policy = runtime().load(&component("tests/components/metrics-reader"), "{}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.wit, "rewind:policy@0.5.0");
    let evaluation = run(&policy, &mut applied_by_flux(), "2024-11-06T14:34:00Z", false);
    let failure = evaluation.report.failure.expect("answered");
    let gitops = failure.findings.iter().find(|f| f.reason == "gitops").expect("a gitops finding");
    assert_eq!(
        gitops.message,
        "flux-kustomization flux-system/apps (kustomize.toolkit.fluxcd.io/name): found, confirmed, not suspended, revision main@sha1:4f2c9e1"
    );
}

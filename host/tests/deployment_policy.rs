//! The Deployment policy, built as a real component and run through the
//! host on the example cluster dumps.

mod common;
use common::*;
use rewind::executor::Outcome;
use rewind::objects;

#[test]
fn image_pull_backoff_is_rolled_back_to_the_previous_revision() {
    let policy = deployment_policy();
    let mut objects = example("image-pull-backoff.yaml");
    let evaluation = run(&policy, &mut objects, "2024-11-06T14:34:00Z", true);
    let report = &evaluation.report;
    assert!(!evaluation.fatal, "{:?}", report.errors);
    let failure = report.failure.as_ref().unwrap();
    assert_eq!(failure.state, "failed");
    assert_eq!(failure.findings[0].reason, "ImagePullBackOff");
    assert_eq!(failure.findings[0].pod.as_deref(), Some("web-6b4c8d7f9-r5n8c"));
    assert_eq!(failure.findings[0].since.as_deref(), Some("2024-11-06T14:30:00Z"));
    assert_eq!(report.selection.as_ref().unwrap().release.as_deref(), Some("2"));
    assert!(matches!(report.actions[0].outcome, Some(Outcome::Applied(_))));

    let web = objects.get(objects.find_by_kind_name("Deployment", "shop", "web")[0]).unwrap();
    assert_eq!(web.pointer("/spec/template/spec/containers/0/image").unwrap(), "registry.example.com/shop/web:1.3.1");
    assert!(web.pointer("/spec/template/metadata/labels/pod-template-hash").is_none());
}

#[test]
fn the_json_report_keeps_its_contract() {
    let policy = deployment_policy();
    let mut objects = example("healthy.yaml");
    let report = run(&policy, &mut objects, "2024-11-06T14:34:00Z", false).report;
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(
        json["target"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"})
    );
    assert_eq!(json["now"], "2024-11-06T14:34:00Z");
    assert_eq!(json["policy"]["wit"], "rewind:policy@0.5.0");
    assert_eq!(json["policy"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(json["failure"]["state"], "healthy");
    assert!(json["eligibility"].is_null() && json["selection"].is_null());
    assert_eq!(json["actions"], serde_json::json!([]));
    assert_eq!(json["errors"], serde_json::json!([]));
    assert!(json.get("objects").is_none(), "objects only with --apply");
}

#[test]
fn a_policy_reads_raw_objects_only_from_its_tree() {
    // The unrelated, failing debug pod in healthy.yaml has the app's labels
    // but no owner: it must not appear in the snapshot.
    let objects = example("healthy.yaml");
    let target = rewind::evaluate::find_target(&objects, &web()).unwrap();
    let built = rewind::snapshot::build(&objects, target, 0, "{}").unwrap();
    assert!(built.snapshot.objects.iter().all(|o| o.name != "debug-web"));
    assert_eq!(built.snapshot.pods.len(), 2);
    let names: Vec<_> = built.tree.iter().map(|n| objects::name(objects.get(n.object).unwrap()).unwrap()).collect();
    assert_eq!(names[0], "web");
}

#[test]
fn a_second_runtime_loads_the_precompiled_artifact() {
    use rewind::runtime::{ArtifactCache, CacheStatus, PolicyRuntime, SandboxLimits};
    let path = component("plugins/deployment");
    let dir = tempfile::tempdir().unwrap();
    let fresh = || PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::new(dir.path().into()))).unwrap();
    assert_eq!(fresh().load(&path, "{}").unwrap().cache_status, CacheStatus::Compiled);
    assert_eq!(fresh().load(&path, "{}").unwrap().cache_status, CacheStatus::LoadedFromCache);
}

#[test]
fn settings_are_validated_at_load() {
    let err = runtime().load(&component("plugins/deployment"), r#"{"graceSeconds": -5}"#).err().unwrap().to_string();
    assert!(err.contains("rejected its settings") && err.contains("graceSeconds must not be negative"), "{err}");
    let err = runtime().load(&component("plugins/deployment"), r#"{"grace": 5}"#).err().unwrap().to_string();
    assert!(err.contains("unknown field `grace`"), "{err}");
}

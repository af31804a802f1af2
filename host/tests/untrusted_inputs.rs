//! Objects from the cluster are untrusted too: absurd annotation values and
//! garbage revisions give clear answers, never a panic or a stuck request.

mod common;
use common::*;
use rewind::evaluate::{EvalOptions, TargetSpec, evaluate};
use serde_json::json;

fn with_annotation(dump: &str, kind: &str, key: &str, value: &str) -> rewind::objects::ObjectSet {
    let mut objects = rewind::dump::load_paths(&[workspace().join("examples").join(dump)]).unwrap();
    let id = objects.iter().find(|(_, v)| v["kind"] == kind).map(|(id, _)| id).unwrap();
    let object = objects.get_mut(id).unwrap();
    object["metadata"]["annotations"][key] = json!(value);
    objects
}

#[test]
fn an_absurdly_long_rollback_request_is_answered_and_cleared() {
    let huge = "9".repeat(100_000) + "x";
    let mut objects = with_annotation("deployment/healthy.yaml", "Deployment", "rewind.dev/rollback-to", &huge);
    let evaluation = run(&deployment_policy(), &mut objects, "2024-11-06T14:34:00Z", true);
    assert!(!evaluation.fatal, "{:?}", evaluation.report.errors);
    let error = &evaluation.report.errors[0];
    assert!(error.contains("is not a revision number") && error.len() < 400, "{error}");
    let web = objects.iter().map(|(_, v)| v).find(|v| v["kind"] == "Deployment").unwrap();
    assert!(web["metadata"]["annotations"].get("rewind.dev/rollback-to").is_none());
}

#[test]
fn an_absurdly_long_blue_green_request_is_answered_and_cleared() {
    let policy = runtime().load(&component("plugins/bluegreen"), "{}").unwrap();
    let huge = "v".repeat(200_000);
    let mut objects = with_annotation("bluegreen/stable.yaml", "MetadataServices", "e6data.io/rollback-to", &huge);
    let target = TargetSpec::parse("MetadataServices/sample1", "autoscalingv2").unwrap();
    // The operator gives what the policy declares (its image tags, status).
    let options = EvalOptions::offline(rewind::time::parse("2024-11-06T15:00:00Z").unwrap(), policy.declared.clone());
    let evaluation = evaluate(&policy, &mut objects, &target, &options).unwrap();
    assert!(!evaluation.fatal, "{:?}", evaluation.report.errors);
    assert!(evaluation.report.errors.is_empty(), "{:?}", evaluation.report.errors);
    let eligibility = evaluation.report.eligibility.as_ref().expect("the request is answered");
    assert!(!eligibility.eligible && eligibility.reason.contains("not found in release history"), "{eligibility:?}");
    assert!(
        eligibility.reason.len() < 1_000,
        "the version is shortened in the answer: {} bytes",
        eligibility.reason.len()
    );
    let resource = objects.iter().map(|(_, v)| v).find(|v| v["kind"] == "MetadataServices").unwrap();
    assert!(resource["metadata"]["annotations"].get("e6data.io/rollback-to").is_none());
}

#[test]
fn garbage_revisions_are_reported_and_never_chosen() {
    let mut objects =
        rewind::dump::load_paths(&[workspace().join("examples/deployment/image-pull-backoff.yaml")]).unwrap();
    let id = objects
        .iter()
        .find(|(_, v)| {
            v["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2" && v["kind"] == "ReplicaSet"
        })
        .map(|(id, _)| id)
        .unwrap();
    objects.get_mut(id).unwrap()["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("two");
    let evaluation = run(&deployment_policy(), &mut objects, "2024-11-06T14:34:00Z", false);
    assert!(evaluation.report.warnings.iter().any(|w| w.contains("\"two\"")), "{:?}", evaluation.report.warnings);
    // Revision 1 is now the newest earlier revision.
    assert_eq!(evaluation.report.selection.unwrap().release.as_deref(), Some("1"));
}

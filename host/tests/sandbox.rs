//! The sandbox bounds, proven with a real misbehaving component: each
//! attack ends as a clear error naming the policy and the cause, no action
//! of that evaluation runs, and the next evaluation works.

mod common;
use common::*;
use rewind::evaluate::{EvalOptions, evaluate};

fn assert_contained(attack: &str, stage: &str, cause: &str) {
    let policy = hostile(attack, stage);
    let mut objects = example("image-pull-backoff.yaml");
    let before: Vec<_> = objects.iter().map(|(_, v)| v.clone()).collect();
    let evaluation = run(&policy, &mut objects, "2024-11-06T14:34:00Z", true);
    let report = &evaluation.report;
    assert!(evaluation.fatal, "{attack}: the evaluation should fail");
    assert_eq!(report.errors.len(), 1, "{attack}: {:?}", report.errors);
    let error = &report.errors[0];
    assert!(error.contains("hostile.wasm") && error.contains(stage), "{attack}: {error}");
    assert!(error.contains(cause), "{attack}: expected {cause:?} in {error}");
    assert!(report.actions.is_empty(), "{attack}: actions were reported");
    let after: Vec<_> = objects.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(before, after, "{attack}: objects changed");

    // The host still serves: the same component behaving, then another policy.
    let calm = run(&hostile("none", stage), &mut example("healthy.yaml"), "2024-11-06T14:34:00Z", false);
    assert!(!calm.fatal, "{:?}", calm.report.errors);
    let next = run(&deployment_policy(), &mut example("image-pull-backoff.yaml"), "2024-11-06T14:34:00Z", false);
    assert_eq!(next.report.selection.unwrap().release.as_deref(), Some("2"));
}

#[test]
fn an_infinite_loop_is_stopped_by_the_time_limit() {
    assert_contained("loop", "select-release", "exceeded its time limit of 250 ms");
}

#[test]
fn a_loop_of_host_calls_is_stopped_by_the_time_limit() {
    assert_contained("host-call-loop", "detect-failure", "exceeded its time limit");
}

#[test]
fn a_memory_bomb_is_stopped_by_the_memory_limit() {
    assert_contained("memory", "check-eligibility", "exceeded its memory limit of 67108864 bytes");
}

#[test]
fn a_panic_is_reported_with_its_message() {
    assert_contained("panic", "select-release", "hostile policy panics on purpose");
}

#[test]
fn deep_recursion_traps() {
    assert_contained("recursion", "detect-failure", "stack overflow");
}

#[test]
fn a_log_flood_is_stopped_by_the_log_limit() {
    assert_contained("log-flood", "detect-failure", "exceeded its log limit of 1000 messages");
}

#[test]
fn files_environment_clock_and_randomness_are_not_provided() {
    assert_contained("read-file", "detect-failure", "wasi:filesystem/preopens");
    assert_contained("env", "detect-failure", "wasi:cli/environment");
    assert_contained("clock", "detect-failure", "wasi:clocks/wall-clock");
    assert_contained("random", "detect-failure", "wasi:random/");
}

#[test]
fn a_well_behaved_evaluation_executes_every_stage_action() {
    let evaluation = run(&hostile("none", "none"), &mut example("healthy.yaml"), "2024-11-06T14:34:00Z", true);
    let reasons: Vec<_> =
        evaluation.report.actions.iter().map(|a| serde_json::to_value(&a.action).unwrap()["reason"].clone()).collect();
    assert_eq!(reasons, ["HostileDetected", "HostileSelected"]);
}

/// Attacks made with answers rather than behaviour: each is refused whole.
fn assert_refused(attack: &str, problem: &str) {
    let policy = hostile(attack, "select-release");
    let mut objects = example("healthy.yaml");
    let before: Vec<_> = objects.iter().map(|(_, v)| v.clone()).collect();
    let evaluation = run(&policy, &mut objects, "2024-11-06T14:34:00Z", true);
    assert!(evaluation.fatal, "{attack}: the evaluation should fail");
    let errors = evaluation.report.errors.join("; ");
    assert!(errors.contains(problem), "{attack}: expected {problem:?} in {errors}");
    assert!(
        errors.contains("hostile.wasm") && errors.contains("none of this evaluation's actions is executed"),
        "{attack}: {errors}"
    );
    assert!(evaluation.report.actions.is_empty(), "{attack}");
    let after: Vec<_> = objects.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(before, after, "{attack}: objects changed");
}

#[test]
fn oversized_answers_are_refused() {
    assert_refused("huge-reason", "selection reason of 4194304 bytes");
    assert_refused("many-actions", "returned 5002 actions; at most 64");
    assert_refused("deep-patch", "the patch nests 100 levels deep; at most 32 are allowed");
}

#[test]
fn actions_outside_the_workload_are_refused() {
    assert_refused(
        "foreign-namespace",
        "Pod/kube-apiserver-0 in namespace kube-system is outside the target's namespace",
    );
    assert_refused("outside-tree", "Pod/debug-web in namespace shop is not in the ownership tree");
    assert_refused("cluster-scoped", "Node/worker-1 (cluster-scoped): cluster-scoped objects are outside");
    assert_refused(
        "rename-target",
        "writes `/metadata/name` of Deployment/web in namespace shop, which no grant opens",
    );
    assert_refused("touch-uid", "writes `/metadata/uid` of Deployment/web in namespace shop, which no grant opens");
}

/// What a "rollback" policy could do once its actions are in scope: each
/// refused by default, naming the grant it lacks or why none opens it.
#[test]
fn writes_a_rollback_does_not_need_are_refused_naming_the_grant() {
    let template = "needs the grant `patch:Deployment:/spec/template/spec";
    for (attack, problem) in [
        ("image-patch", format!("{template}/containers`")),
        ("host-path", format!("{template}/volumes`")),
        ("host-network", format!("{template}/hostNetwork`")),
        ("service-account", format!("{template}/serviceAccountName`")),
        (
            "selector",
            "needs the grant `patch:Deployment:/spec/selector/matchLabels/app`, which the policy does not declare"
                .into(),
        ),
        ("pause", "needs the grant `patch:Deployment:/spec/paused`".into()),
        ("labels", "needs the grant `patch:Deployment:/metadata/labels/app`".into()),
        (
            "forge-last-applied",
            "annotation \"kubectl.kubernetes.io/last-applied-configuration\" is read by Kubernetes".into(),
        ),
        (
            "delete-history",
            "deleting ReplicaSet/web-5d8f7b9c4 in namespace shop: it needs the grant `delete:ReplicaSet`".into(),
        ),
        ("delete-serving-pods", "only pods of the failed release".into()),
        ("rollback-twice", "an evaluation may roll back once; this is its second rollback".into()),
        ("delete-before-rollback", "before the rollback: without `delete:Pod` a pod of the failed release".into()),
        ("noop-rollback-delete-serving", "only pods of the failed release".into()),
        ("noop-rollback-mark", "(none: it does not roll back)".into()),
        (
            "mark-by-patch",
            "sets rewind.dev/rolled-back-from of Deployment/web in namespace shop, which no grant opens".into(),
        ),
        ("pod-status", "needs the grant `patch:Pod:/status/conditions`".into()),
        ("scale-to-zero", "`patch:Deployment:/spec/replicas`, which the policy declares but is not given".into()),
    ] {
        assert_refused(attack, &problem);
    }
    for (attack, field) in [
        ("finalizers", "/metadata/finalizers"),
        ("deletion-timestamp", "/metadata/deletionTimestamp"),
        ("resource-version", "/metadata/resourceVersion"),
        ("managed-fields", "/metadata/managedFields"),
    ] {
        assert_refused(attack, &format!("writes `{field}` of Deployment/web in namespace shop, which no grant opens"));
    }
    assert_refused("status-through-main", "through the main resource, where the API server ignores status");
    assert_refused("bad-version", "apiVersion \"apps/..\" is not a Kubernetes group and version");
}

/// A grant the policy declares, given by the operator: the write happens,
/// and the report says which grants were in effect.
#[test]
fn a_declared_and_given_grant_lets_its_write_through() {
    let policy = hostile("scale-to-zero", "select-release");
    let declared: Vec<String> = policy.declared.iter().map(ToString::to_string).collect();
    assert_eq!(declared, ["patch:Deployment:/spec/replicas"]);
    let mut objects = example("healthy.yaml");
    let now = rewind::time::parse("2024-11-06T14:34:00Z").unwrap();
    let options = EvalOptions::offline(now, policy.declared.clone());
    let evaluation = evaluate(&policy, &mut objects, &web(), &options).unwrap();
    assert!(!evaluation.fatal, "{:?}", evaluation.report.errors);
    assert_eq!(evaluation.report.grants.effective, ["patch:Deployment:/spec/replicas"]);
    let replicas = evaluation
        .report
        .objects
        .as_ref()
        .unwrap()
        .iter()
        .find_map(|o| (o["kind"] == "Deployment").then(|| o.pointer("/spec/replicas").cloned()));
    assert_eq!(replicas, Some(Some(serde_json::json!(0))));
    assert!(evaluation.report.to_text().contains("grants:      a rollback's and patch:Deployment:/spec/replicas"));
}

/// Pooled instances keep their memory mapped between evaluations (for
/// speed); what a policy wrote there must still be gone for the next one.
#[test]
fn nothing_a_policy_writes_survives_into_its_next_evaluation() {
    let policy = hostile("remember", "detect-failure");
    let mut addresses = Vec::new();
    for _ in 0..5 {
        let evaluation = run(&policy, &mut example("healthy.yaml"), "2024-11-06T14:34:00Z", false);
        let error = &evaluation.report.errors[0];
        assert!(error.contains("remembered: statics=1 heap=1 at "), "{error}");
        let address = error.rsplit(' ').next().unwrap();
        assert!(address.starts_with("0x"), "{error}");
        addresses.push(address.to_string());
    }
    // The same address each time (and, with the pool's module affinity, the
    // same slot): the test reads the very memory an earlier evaluation wrote.
    addresses.dedup();
    assert_eq!(addresses.len(), 1, "{addresses:?}");
}

/// The control for the test above: on one instance, the attack does see its
/// own earlier write, so "none seen" there means the memory was reset.
#[test]
fn the_remember_attack_sees_state_within_one_instance() {
    use rewind::pipeline::PolicyStages;
    let policy = hostile("remember", "detect-failure");
    let objects = example("healthy.yaml");
    let target = rewind::evaluate::find_target(&objects, &web()).unwrap();
    let now = rewind::time::parse("2024-11-06T14:34:00Z").unwrap();
    let built = rewind::snapshot::build(&objects, target, now, policy.settings()).unwrap();
    let mut session = policy.session(std::sync::Arc::new(rewind::runtime::NoObjects)).unwrap();
    let first = session.detect_failure(&built.snapshot).unwrap_err().to_string();
    let second = session.detect_failure(&built.snapshot).unwrap_err().to_string();
    assert!(first.contains("statics=1 heap=1"), "{first}");
    assert!(second.contains("statics=2 heap=2"), "{second}");
}

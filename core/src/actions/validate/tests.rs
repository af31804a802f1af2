use super::*;
use crate::actions::Grant;
use crate::answers::{PolicyAction as A, Subresource};
use crate::objects::ObjectKey as Key;

fn key(kind: &str, namespace: Option<&str>, name: &str) -> Key {
    Key {
        api_version: if kind == "Pod" { "v1".into() } else { "apps/v1".into() },
        kind: kind.into(),
        namespace: namespace.map(str::to_string),
        name: name.into(),
    }
}

fn scope() -> Scope {
    scope_granting(&["patch:Deployment:/spec/replicas"], &["patch:Deployment:/spec/replicas"])
}

/// The target, one ReplicaSet and two pods: `web-1-a` of a release that
/// does not stay, `web-2-a` of the one that does.
fn scope_granting(declared: &[&str], given: &[&str]) -> Scope {
    Scope {
        target: key("Deployment", Some("shop"), "web"),
        owned: vec![
            key("ReplicaSet", Some("shop"), "web-1"),
            key("Pod", Some("shop"), "web-1-a"),
            key("Pod", Some("shop"), "web-2-a"),
        ],
        replaceable_pods: vec![key("Pod", Some("shop"), "web-1-a")],
        rolling_back_from: Some("2".into()),
        gitops_owner: None,
        current_revision: Some(3),
        grants: Grants { declared: Grant::parse_all(declared).unwrap(), granted: Grant::parse_all(given).unwrap() },
    }
}

fn rollback_deployment(revision: u64) -> A {
    A::Rollback { revision, deployment_only: true }
}

fn patch(object: Key, text: &str) -> A {
    A::MergePatch { object, subresource: Subresource::Main, patch: text.into() }
}

fn rejection(actions: &[A]) -> String {
    validate_actions(actions, &scope(), &ActionLimits::default()).unwrap_err().to_string()
}

#[test]
fn in_scope_actions_pass_in_order() {
    let actions = [
        rollback_deployment(2),
        patch(key("Deployment", Some("shop"), "web"), r#"{"spec": {"replicas": 3}}"#),
        A::DeleteObject(key("Pod", Some("shop"), "web-1-a")),
        A::RemoveAnnotation("rewind.dev/rollback-to".into()),
    ];
    let valid = validate_actions(&actions, &scope(), &ActionLimits::default()).unwrap();
    assert_eq!(valid.len(), 4);
    assert_eq!(valid[0], Action::Rollback { revision: 2 });
}

#[test]
fn objects_outside_the_tree_namespace_or_cluster_scope_are_rejected() {
    let outside = rejection(&[A::DeleteObject(key("Pod", Some("shop"), "someone-else"))]);
    assert!(outside.contains("not in the ownership tree"), "{outside}");
    let other_ns = rejection(&[A::DeleteObject(key("Pod", Some("kube-system"), "web-1-a"))]);
    assert!(other_ns.contains("outside the target's namespace"), "{other_ns}");
    let cluster = rejection(&[patch(key("Node", None, "n1"), "{}")]);
    assert!(cluster.contains("cluster-scoped"), "{cluster}");
    let target = rejection(&[A::DeleteObject(key("Deployment", Some("shop"), "web"))]);
    assert!(target.contains("target itself"), "{target}");
}

#[test]
fn one_bad_action_rejects_the_whole_list_naming_its_position() {
    let err = rejection(&[rollback_deployment(2), patch(key("Deployment", Some("shop"), "web"), "{not json")]);
    assert!(err.starts_with("action 2 (merge-patch): the patch is not valid JSON"), "{err}");
}

#[test]
fn patches_may_not_touch_identity() {
    for field in ["name", "namespace", "uid"] {
        let err = rejection(&[patch(
            key("Deployment", Some("shop"), "web"),
            &format!(r#"{{"metadata": {{"{field}": "x"}}}}"#),
        )]);
        assert!(err.contains(&format!("`/metadata/{field}`")), "{err}");
    }
    let err = rejection(&[patch(key("Deployment", Some("shop"), "web"), "[1]")]);
    assert!(err.contains("JSON object"), "{err}");
}

#[test]
fn deep_large_and_numerous_inputs_are_bounded() {
    let deep = format!("{}1{}", r#"{"a":"#.repeat(40), "}".repeat(40));
    assert!(rejection(&[patch(key("Deployment", Some("shop"), "web"), &deep)]).contains("levels deep"));
    let many: Vec<_> = (0..65).map(|_| rollback_deployment(1)).collect();
    assert!(rejection(&many).contains("65 actions"));
    let status_with_spec = A::MergePatch {
        object: key("Deployment", Some("shop"), "web"),
        subresource: Subresource::Status,
        patch: r#"{"spec": {}}"#.into(),
    };
    assert!(rejection(&[status_with_spec]).contains("only contain `status`"));
}

#[test]
fn rollback_requires_a_workload_kind_and_the_0_3_form_a_deployment() {
    let scope_of = |api_version: &str, kind: &str| Scope {
        target: Key {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some("shop".into()),
            name: "x".into(),
        },
        owned: vec![],
        replaceable_pods: vec![],
        rolling_back_from: None,
        gitops_owner: None,
        current_revision: Some(3),
        grants: Grants::default(),
    };
    let limits = ActionLimits::default();
    let lookalike = validate_actions(&[rollback_deployment(1)], &scope_of("example.io/v1", "Deployment"), &limits);
    assert!(lookalike.unwrap_err().to_string().contains("not an apps Deployment"));
    let any_kind = [A::Rollback { revision: 1, deployment_only: false }];
    for kind in ["Deployment", "StatefulSet", "DaemonSet"] {
        assert!(validate_actions(&any_kind, &scope_of("apps/v1", kind), &limits).is_ok(), "{kind}");
    }
    let err = validate_actions(&any_kind, &scope_of("example.io/v1", "Rollout"), &limits).unwrap_err();
    assert!(err.to_string().contains("not a kind rewind rolls back (Deployment, StatefulSet, DaemonSet)"), "{err}");
    let err = validate_actions(&[rollback_deployment(1)], &scope_of("apps/v1", "StatefulSet"), &limits).unwrap_err();
    assert!(err.to_string().contains("not an apps Deployment"), "{err}");
}

#[test]
fn condition_types_and_event_reasons_follow_kubernetes_rules_and_shown_text_has_no_control_characters() {
    use crate::actions::EventType;
    use crate::answers::ConditionStatus;
    let condition = |kind: &str, reason: &str, message: &str| A::SetCondition {
        kind: kind.into(),
        status: ConditionStatus::True,
        reason: reason.into(),
        message: message.into(),
    };
    let event = |reason: &str, message: &str| A::EmitEvent {
        event_type: EventType::Warning,
        reason: reason.into(),
        message: message.into(),
    };
    let fine = [
        condition("rewind.dev/RolledBack", "FailedRollout", "line one\nline two\twith a tab"),
        event("RollingBack", ""),
    ];
    assert!(validate_actions(&fine, &scope(), &ActionLimits::default()).is_ok());
    let huge = "T".repeat(8 << 20);
    assert!(rejection(&[condition(&huge, "R", "")]).contains("condition type \"TTTT"));
    assert!(rejection(&[condition("Rolled Back", "R", "")]).contains("condition type \"Rolled Back\" is invalid"));
    let phrase = [condition("RollbackInProgress", "Updating Bookkeeper", "")];
    assert!(validate_actions(&phrase, &scope(), &ActionLimits::default()).is_ok(), "a condition's reason is free text");
    assert!(rejection(&[event("Rolling-Back", "")]).contains("event reason \"Rolling-Back\" is invalid"));
    assert!(rejection(&[event(&"R".repeat(129), "")]).contains("at most 128 characters"));
    let erased = rejection(&[event("RollingBack", "done\u{1b}[2K\u{1b}[1A")]);
    assert!(erased.contains("the message holds the control character U+001B"), "{erased}");
    assert!(rejection(&[condition("Ready", "R", "evil\u{202E}txt")]).contains("U+202E"));
}

fn refused_with(scope: &Scope, action: A) -> String {
    validate_actions(&[action], scope, &ActionLimits::default()).unwrap_err().to_string()
}

#[test]
fn without_a_grant_a_policy_may_only_do_what_a_rollback_needs() {
    let none = scope_granting(&[], &[]);
    let web = || key("Deployment", Some("shop"), "web");
    for (patch_text, path) in [
        (
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"evil"}]}}}}"#,
            "/spec/template/spec/containers",
        ),
        (r#"{"spec":{"template":{"spec":{"hostNetwork":true}}}}"#, "/spec/template/spec/hostNetwork"),
        (r#"{"spec":{"template":{"spec":{"serviceAccountName":"admin"}}}}"#, "/spec/template/spec/serviceAccountName"),
        (r#"{"spec":{"selector":{"matchLabels":{"app":"x"}}}}"#, "/spec/selector/matchLabels/app"),
        (r#"{"spec":{"replicas":0}}"#, "/spec/replicas"),
        (r#"{"spec":{"paused":true}}"#, "/spec/paused"),
        (r#"{"metadata":{"labels":{"app":"x"}}}"#, "/metadata/labels/app"),
        (
            r#"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}}}"#,
            "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        ),
    ] {
        let refused = refused_with(&none, patch(web(), patch_text));
        assert!(refused.contains(&format!("needs the grant `patch:Deployment:{path}`")), "{refused}");
    }
    assert!(
        validate_actions(
            &[patch(web(), r#"{"metadata":{"annotations":{"rewind.dev/x":"y"}}}"#)],
            &none,
            &ActionLimits::default()
        )
        .is_ok()
    );
    let reserved =
        refused_with(&none, A::SetAnnotation { key: "deployment.kubernetes.io/revision".into(), value: "9".into() });
    assert!(reserved.contains("is read by Kubernetes") && reserved.contains("needs the grant"), "{reserved}");
    let history = refused_with(&none, A::DeleteObject(key("ReplicaSet", Some("shop"), "web-1")));
    assert!(history.contains("needs the grant `delete:ReplicaSet`"), "{history}");
    let serving = refused_with(&none, A::DeleteObject(key("Pod", Some("shop"), "web-2-a")));
    assert!(serving.contains("`delete:Pod`") && serving.contains("only pods of the failed release"), "{serving}");
    assert!(
        validate_actions(&[A::DeleteObject(key("Pod", Some("shop"), "web-1-a"))], &none, &ActionLimits::default())
            .is_ok()
    );
    let pod_status = A::MergePatch {
        object: key("Pod", Some("shop"), "web-1-a"),
        subresource: Subresource::Status,
        patch: r#"{"status":{"phase":"Running"}}"#.into(),
    };
    assert!(refused_with(&none, pod_status).contains("needs the grant `patch:Pod:/status/phase`"));
}

#[test]
fn identity_server_fields_and_status_through_main_are_never_writable() {
    let all = scope_granting(
        &["patch:Deployment:/spec", "patch:Deployment:/status"],
        &["patch:Deployment:/spec", "patch:Deployment:/status"],
    );
    let web = || key("Deployment", Some("shop"), "web");
    for (patch_text, field) in [
        (r#"{"metadata":{"finalizers":["x"]}}"#, "/metadata/finalizers"),
        (r#"{"metadata":{"deletionTimestamp":"2024-01-01T00:00:00Z"}}"#, "/metadata/deletionTimestamp"),
        (r#"{"metadata":{"resourceVersion":"1"}}"#, "/metadata/resourceVersion"),
        (r#"{"metadata":{"managedFields":[]}}"#, "/metadata/managedFields"),
        (r#"{"metadata":{"ownerReferences":null}}"#, "/metadata/ownerReferences"),
        (r#"{"kind":"Pod"}"#, "/kind"),
    ] {
        let refused = refused_with(&all, patch(web(), patch_text));
        assert!(refused.contains("which no grant opens") && refused.contains(field), "{refused}");
    }
    let status = refused_with(&all, patch(web(), r#"{"status":{"replicas":9}}"#));
    assert!(status.contains("through the main resource"), "{status}");
    let granted =
        A::MergePatch { object: web(), subresource: Subresource::Status, patch: r#"{"status":{"replicas":9}}"#.into() };
    assert!(validate_actions(&[granted], &all, &ActionLimits::default()).is_ok());
}

#[test]
fn object_versions_must_be_kubernetes_versions() {
    let mut odd = key("Pod", Some("shop"), "web-1-a");
    for bad in ["apps/..", "v", "apps/v01", "apps/v1gamma1", "Apps/v1", "/v1", "apps/v1beta"] {
        odd.api_version = bad.into();
        let refused = refused_with(&scope(), A::DeleteObject(odd.clone()));
        assert!(refused.contains("not a Kubernetes group and version"), "{bad}: {refused}");
    }
    for good in ["v1", "apps/v1", "example.com/v1beta2", "x.io/v2alpha1"] {
        assert!(check_api_version(good).is_ok(), "{good}");
    }
}

#[test]
fn one_rollback_per_evaluation_and_failed_pods_deleted_only_after_it() {
    let none = scope_granting(&[], &[]);
    let limits = ActionLimits::default();
    let failed_pod = || A::DeleteObject(key("Pod", Some("shop"), "web-1-a"));
    let twice = validate_actions(&[rollback_deployment(1), rollback_deployment(2)], &none, &limits).unwrap_err();
    assert!(twice.to_string().starts_with("action 2 (rollback): an evaluation may roll back once"), "{twice}");
    let before = validate_actions(&[failed_pod(), rollback_deployment(1)], &none, &limits).unwrap_err();
    assert!(before.to_string().contains("before the rollback"), "{before}");
    assert!(validate_actions(&[rollback_deployment(1), failed_pod()], &none, &limits).is_ok());
}

#[test]
fn the_rollback_mark_names_only_the_release_rolled_back_from() {
    let none = scope_granting(&[], &[]);
    let limits = ActionLimits::default();
    let mark = |value: &str| A::SetAnnotation { key: ROLLED_BACK_FROM.into(), value: value.into() };
    assert!(validate_actions(&[rollback_deployment(1), mark("2")], &none, &limits).is_ok());
    let other = validate_actions(&[rollback_deployment(1), mark("1")], &none, &limits).unwrap_err();
    assert!(other.to_string().contains("to the release it rolls back from (release 2)"), "{other}");
    let alone = Scope { rolling_back_from: None, ..scope_granting(&[], &[]) };
    let refused = validate_actions(&[mark("1")], &alone, &limits).unwrap_err();
    assert!(refused.to_string().contains("(none: it does not roll back)"), "{refused}");
    let by_patch = patch(
        key("Deployment", Some("shop"), "web"),
        r#"{"metadata":{"annotations":{"rewind.dev/rolled-back-from":"1"}}}"#,
    );
    let refused = validate_actions(std::slice::from_ref(&by_patch), &none, &limits).unwrap_err().to_string();
    assert!(refused.contains("which no grant opens"), "{refused}");
    // Not by a grant on every annotation either, nor on another object.
    let all =
        scope_granting(&["patch:Deployment:/metadata/annotations/*"], &["patch:Deployment:/metadata/annotations/*"]);
    let refused = validate_actions(&[by_patch], &all, &limits).unwrap_err().to_string();
    assert!(refused.contains("which no grant opens"), "{refused}");
    let cleared = patch(
        key("Deployment", Some("shop"), "web"),
        r#"{"metadata":{"annotations":{"rewind.dev/rolled-back-from":null}}}"#,
    );
    assert!(validate_actions(&[cleared], &none, &limits).is_ok(), "removing the mark opens nothing");
    let before = validate_actions(&[mark("2"), rollback_deployment(1)], &none, &limits).unwrap_err();
    assert!(before.to_string().contains("is set after the rollback it records"), "{before}");
}

#[test]
fn annotations_written_by_patch_follow_the_api_servers_rules() {
    let none = scope_granting(&[], &[]);
    let web = || key("Deployment", Some("shop"), "web");
    let bad_key = refused_with(&none, patch(web(), r#"{"metadata":{"annotations":{"Bad.Prefix/x":"1"}}}"#));
    assert!(bad_key.contains("annotation key \"Bad.Prefix/x\" is invalid"), "{bad_key}");
    let number = refused_with(&none, patch(web(), r#"{"metadata":{"annotations":{"rewind.dev/x":1}}}"#));
    assert!(number.contains("not a string"), "{number}");
    let cased =
        refused_with(&none, patch(web(), r#"{"metadata":{"annotations":{"deployment.Kubernetes.io/revision":"9"}}}"#));
    assert!(cased.contains("lowercase DNS subdomain"), "{cased}");
    let removal = patch(web(), r#"{"metadata":{"annotations":{"rewind.dev/x":null}}}"#);
    assert!(validate_actions(&[removal], &none, &ActionLimits::default()).is_ok());
}

#[test]
fn the_workload_controllers_conditions_and_the_controllers_event_reasons_are_not_a_policys() {
    let none = scope_granting(&[], &[]);
    let condition = |kind: &str| A::SetCondition {
        kind: kind.into(),
        status: crate::answers::ConditionStatus::True,
        reason: "Fine".into(),
        message: String::new(),
    };
    for own in ["Available", "Progressing", "ReplicaFailure"] {
        let refused = refused_with(&none, condition(own));
        assert!(
            refused.contains(&format!("condition {own} of Deployment/web in namespace shop is its Deployment")),
            "{refused}"
        );
    }
    assert!(validate_actions(&[condition("RollbackReady")], &none, &ActionLimits::default()).is_ok());
    for reason in crate::actions::controller_events::ALL {
        let event = A::EmitEvent {
            event_type: crate::actions::EventType::Normal,
            reason: reason.into(),
            message: String::new(),
        };
        assert!(refused_with(&none, event).contains("is the controller's own"));
    }
}

#[test]
fn rewinds_own_kinds_are_never_a_target() {
    assert!(crate::workloads::targetable("rewind.dev/v1alpha1", "RolloutDecision").is_err());
    assert!(crate::workloads::targetable("apps/v1", "Deployment").is_ok());
    assert!(crate::workloads::targetable("e6data.io/v1alpha1", "MetadataServices").is_ok());
}

#[test]
fn a_grant_on_a_kind_opens_that_kind_of_its_group_only() {
    let shadow = ObjectKey {
        api_version: "shadow.example.com/v1".into(),
        kind: "Deployment".into(),
        namespace: Some("shop".into()),
        name: "web-shadow".into(),
    };
    let mut scope = scope_granting(&["delete:Deployment"], &["delete:Deployment"]);
    scope.owned.push(shadow.clone());
    let refused = refused_with(&scope, A::DeleteObject(shadow.clone()));
    assert!(refused.contains("it needs the grant `delete:Deployment.shadow.example.com`"), "{refused}");
    let named = ["delete:Deployment.shadow.example.com"];
    let mut scope = scope_granting(&named, &named);
    scope.owned.push(shadow.clone());
    assert!(validate_actions(&[A::DeleteObject(shadow)], &scope, &ActionLimits::default()).is_ok());
    assert_eq!(
        Grant::parse("patch:Deployment.apps:/spec/replicas").unwrap().to_string(),
        "patch:Deployment:/spec/replicas"
    );
    assert!(Grant::parse("delete:Deployment.Shadow_Example").unwrap_err().contains("is not an API group"));
}

fn application() -> Key {
    Key {
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        namespace: Some("argocd".into()),
        name: "shop".into(),
    }
}

fn patch_of(object: Key, patch: &str) -> A {
    A::MergePatch { object, subresource: Subresource::Main, patch: patch.into() }
}

/// The confirmed GitOps owner is the one object outside the tree (and the
/// namespace) a policy may patch, and only with a grant naming its group.
#[test]
fn the_confirmed_gitops_owner_is_patched_with_a_grant_naming_its_group() {
    let self_heal = r#"{"spec": {"syncPolicy": {"automated": {"selfHeal": false}}}}"#;
    let grant = "patch:Application.argoproj.io:/spec/syncPolicy/automated/selfHeal";
    let limits = ActionLimits::default();
    let unconfirmed = scope_granting(&[grant], &[grant]);
    let err = validate_actions(&[patch_of(application(), self_heal)], &unconfirmed, &limits).unwrap_err();
    assert!(err.to_string().contains("outside the target's namespace"), "{err}");

    let confirmed = Scope { gitops_owner: Some(application()), ..scope_granting(&[grant], &[grant]) };
    assert!(validate_actions(&[patch_of(application(), self_heal)], &confirmed, &limits).is_ok());
    // The kind alone is not the grant: `Application` is a kind name other
    // projects use too.
    let kind_only = "patch:Application:/spec/syncPolicy/automated/selfHeal";
    let without_group = Scope { gitops_owner: Some(application()), ..scope_granting(&[kind_only], &[kind_only]) };
    let err = validate_actions(&[patch_of(application(), self_heal)], &without_group, &limits).unwrap_err();
    assert!(err.to_string().contains("Application.argoproj.io"), "{err}");
    // Beyond the granted path, and deleting it, stay refused.
    let prune = r#"{"spec": {"syncPolicy": {"automated": {"prune": false}}}}"#;
    assert!(validate_actions(&[patch_of(application(), prune)], &confirmed, &limits).is_err());
    assert!(validate_actions(&[A::DeleteObject(application())], &confirmed, &limits).is_err());
}

/// Flux stops applying an object annotated `kustomize.toolkit.fluxcd.io/
/// reconcile: disabled`: setting it on the target is a grant's business.
#[test]
fn annotations_flux_and_argocd_act_on_need_a_grant() {
    let limits = ActionLimits::default();
    let disable = A::SetAnnotation { key: "kustomize.toolkit.fluxcd.io/reconcile".into(), value: "disabled".into() };
    let err = validate_actions(std::slice::from_ref(&disable), &scope(), &limits).unwrap_err();
    assert!(err.to_string().contains("is read by Flux"), "{err}");
    let grant = "patch:Deployment:/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile";
    assert!(validate_actions(&[disable], &scope_granting(&[grant], &[grant]), &limits).is_ok());
    let skip = A::RemoveAnnotation("argocd.argoproj.io/sync-options".into());
    assert!(validate_actions(&[skip], &scope(), &limits).unwrap_err().to_string().contains("is read by Argo CD"));
}

#[test]
fn configuration_is_restored_for_the_current_release_or_the_one_a_later_rollback_returns_to() {
    let granted = scope_granting(&["patch:ConfigMap:/data"], &["patch:ConfigMap:/data"]);
    let check = |actions: &[A], scope: &Scope| validate_actions(actions, scope, &ActionLimits::default());
    let restore = |revision| A::RestoreConfiguration { revision };
    let rollback = |revision| A::Rollback { revision, deployment_only: false };
    assert_eq!(check(&[restore(3)], &granted).unwrap(), vec![Action::RestoreConfiguration { revision: 3 }]);
    assert!(check(&[restore(2), rollback(2)], &granted).is_ok());
    let problem = check(&[rollback(2), restore(2)], &granted).unwrap_err().to_string();
    assert!(problem.contains("action 2 (restore-configuration): revision 2 is neither the release"), "{problem}");
    let problem = check(&[restore(1), rollback(2)], &granted).unwrap_err().to_string();
    assert!(problem.contains("revision 1 is neither"), "{problem}");
    let problem = check(&[restore(3)], &scope()).unwrap_err().to_string();
    assert!(
        problem.contains("restoring the ConfigMaps of revision 3") && problem.contains("patch:ConfigMap:/data"),
        "{problem}"
    );
}

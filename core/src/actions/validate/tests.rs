use super::*;
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
    Scope {
        target: key("Deployment", Some("shop"), "web"),
        owned: vec![key("ReplicaSet", Some("shop"), "web-1"), key("Pod", Some("shop"), "web-1-a")],
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
        assert!(err.contains(&format!("metadata.{field}")), "{err}");
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
fn annotation_keys_follow_the_qualified_name_rule() {
    assert!(check_annotation_key("rewind.dev/rollback-to").is_ok());
    assert!(check_annotation_key("simple").is_ok());
    for bad in ["", "Bad.Prefix/x", "a/", "/x", "x/-y", &"n".repeat(64)] {
        assert!(check_annotation_key(bad).is_err(), "{bad:?} accepted");
    }
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

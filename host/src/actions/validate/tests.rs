use super::*;
use crate::contract::{Action as A, MergePatch, ObjectKey as Key, Subresource};

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
        target: (&key("Deployment", Some("shop"), "web")).into(),
        owned: vec![(&key("ReplicaSet", Some("shop"), "web-1")).into(), (&key("Pod", Some("shop"), "web-1-a")).into()],
    }
}

fn patch(object: Key, text: &str) -> A {
    A::MergePatch(MergePatch { object, subresource: Subresource::Main, patch: text.into() })
}

fn rejection(actions: &[A]) -> String {
    validate_actions(actions, &scope(), &ActionLimits::default()).unwrap_err().to_string()
}

#[test]
fn in_scope_actions_pass_in_order() {
    let actions = [
        A::RollbackDeployment(2),
        patch(key("Deployment", Some("shop"), "web"), r#"{"spec": {"replicas": 3}}"#),
        A::DeleteObject(key("Pod", Some("shop"), "web-1-a")),
        A::RemoveAnnotation("rewind.dev/rollback-to".into()),
    ];
    let valid = validate_actions(&actions, &scope(), &ActionLimits::default()).unwrap();
    assert_eq!(valid.len(), 4);
    assert_eq!(valid[0], Action::RollbackDeployment { revision: 2 });
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
    let err = rejection(&[A::RollbackDeployment(2), patch(key("Deployment", Some("shop"), "web"), "{not json")]);
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
    let many: Vec<_> = (0..65).map(|_| A::RollbackDeployment(1)).collect();
    assert!(rejection(&many).contains("65 actions"));
    let status_with_spec = A::MergePatch(MergePatch {
        object: key("Deployment", Some("shop"), "web"),
        subresource: Subresource::Status,
        patch: r#"{"spec": {}}"#.into(),
    });
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
fn rollback_requires_a_deployment_target() {
    let scope = Scope {
        target: (&Key {
            api_version: "example.io/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "x".into(),
        })
            .into(),
        owned: vec![],
    };
    let err = validate_actions(&[A::RollbackDeployment(1)], &scope, &ActionLimits::default()).unwrap_err();
    assert!(err.to_string().contains("not an apps Deployment"));
}

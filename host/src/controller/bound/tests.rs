use super::*;
use serde_json::json;

fn policy(spec: Value) -> RolloutPolicySpec {
    let mut base = json!({
        "target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "policy": {"module": "/policies/deployment.wasm"}
    });
    merge(&mut base, spec);
    serde_json::from_value(base).unwrap()
}

fn merge(base: &mut Value, patch: Value) {
    crate::actions::apply_merge_patch(base, &patch);
}

fn bound(spec: Value) -> BoundSpec {
    serde_json::from_value(spec).unwrap()
}

fn check(bounds: &[(String, BoundSpec)], labels: Value, spec: Value) -> Result<(), String> {
    let fallback = BoundSpec::default();
    let named = bounds.iter().map(|(name, spec)| (name.as_str(), spec));
    let selected = selecting(named, "team-a", &labels, &fallback).unwrap();
    selected.check(&policy(spec), Path::new("/policies")).map_err(|e| e.to_string())
}

#[test]
fn without_a_bound_only_the_bundled_policies_and_a_rollback_are_allowed() {
    assert_eq!(check(&[], json!({}), json!({})), Ok(()));
    let refused = |spec: Value| check(&[], json!({}), spec).unwrap_err();
    let custom = refused(json!({"policy": {"module": "/policies/custom/mine.wasm"}}));
    assert_eq!(
        custom,
        "spec.policy.module /policies/custom/mine.wasm is outside the bound of namespace team-a (no \
         RolloutPolicyBound selects it, so only the bundled policies and what a rollback needs are allowed); a \
         cluster administrator can widen it"
    );
    for (spec, what) in [
        (json!({"policy": {"module": "/etc/passwd"}}), "a path outside the policies directory /policies"),
        (json!({"policy": {"module": "/policies/../etc/x.wasm"}}), "a path outside the policies directory"),
        (json!({"policy": {"module": "oci://registry.example.com/team-a/p:1"}}), "spec.policy.module oci://"),
        (json!({"grants": ["delete:Pod"]}), "spec.grants[0] delete:Pod"),
        (json!({"target": {"apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutDecision"}}), "spec.target kind"),
        (json!({"target": {"apiVersion": "shadow.example.com/v1", "kind": "Deployment"}}), "spec.target kind"),
        (json!({"metrics": {"prometheus": {"address": "http://attacker:9090"}, "queries": []}}), "prometheus.address"),
        (json!({"policy": {"pullSecret": {"name": "operator-registry"}}}), "spec.policy.pullSecret: Secret"),
    ] {
        let refused = refused(spec);
        assert!(refused.contains(what), "{what}: {refused}");
    }
}

#[test]
fn a_bound_allows_what_it_lists_for_the_namespaces_it_selects_and_bounds_add_up() {
    let team = bound(json!({
        "namespaceSelector": {"matchLabels": {"team": "a"}},
        "modules": {"custom": true, "ociPrefixes": ["registry.example.com/team-a/"], "httpsHosts": ["policies.example.com"]},
        "grants": ["patch:MetadataServices.e6data.io:/spec", "delete:Deployment"],
        "targetKinds": [{"group": "e6data.io", "kind": "MetadataServices"}],
        "prometheusAddresses": ["http://prometheus.monitoring:9090"],
        "secrets": [{"name": "prometheus-token", "keys": ["token"]}, {"name": "registry"}]
    }));
    let metrics = bound(json!({"prometheusAddresses": ["http://other:9090"]}));
    let bounds = vec![("team-a".to_string(), team), ("everyone".to_string(), metrics)];
    let labelled = json!({"team": "a"});
    let allowed = json!({
        "target": {"apiVersion": "e6data.io/v1alpha1", "kind": "MetadataServices"},
        "policy": {"module": "oci://registry.example.com/team-a/bluegreen:1", "pullSecret": {"name": "registry"}},
        "grants": ["patch:MetadataServices.e6data.io:/spec/storage/imageTag", "delete:Deployment"],
        "metrics": {"prometheus": {"address": "http://other:9090/",
                                   "bearerTokenSecret": {"name": "prometheus-token", "key": "token"}},
                    "queries": []}
    });
    assert_eq!(check(&bounds, labelled.clone(), allowed.clone()), Ok(()));
    assert_eq!(check(&bounds, labelled.clone(), json!({"policy": {"module": "/policies/custom/x.wasm"}})), Ok(()));
    let https = json!({"policy": {"module": format!("https://policies.example.com/p.wasm#sha256={}", "0".repeat(64))}});
    assert_eq!(check(&bounds, labelled.clone(), https), Ok(()));
    // Another namespace gets only what `everyone` adds to the default.
    let elsewhere = check(&bounds, json!({"team": "b"}), allowed).unwrap_err();
    assert!(elsewhere.contains("(RolloutPolicyBound everyone)"), "{elsewhere}");
    for (spec, what) in [
        (json!({"policy": {"module": "oci://registry.example.com/team-b/p:1"}}), "oci://registry.example.com/team-b"),
        (json!({"grants": ["patch:MetadataServices.e6data.io:/metadata/labels"]}), "spec.grants[0]"),
        (json!({"grants": ["patch:MetadataServices:/spec/x"]}), "spec.grants[0] patch:MetadataServices:/spec/x"),
        (
            json!({"metrics": {"prometheus": {"address": "http://other:9090",
                                              "bearerTokenSecret": {"name": "prometheus-token", "key": "admin"}},
                               "queries": []}}),
            "Secret prometheus-token (key admin)",
        ),
    ] {
        let refused = check(&bounds, labelled.clone(), spec).unwrap_err();
        assert!(refused.contains(what) && refused.contains("RolloutPolicyBound team-a, everyone"), "{what}: {refused}");
    }
}

#[test]
fn a_symlink_in_the_policies_directory_does_not_lead_out_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.wasm"), b"\0asm").unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.wasm"), dir.path().join("link.wasm")).unwrap();
    std::fs::write(dir.path().join("in.wasm"), b"\0asm").unwrap();
    assert_eq!(placed(&dir.path().join("in.wasm"), dir.path()), Some(Placed::Bundled));
    assert_eq!(placed(&dir.path().join("link.wasm"), dir.path()), None);
    assert_eq!(placed(&dir.path().join("custom/a/b.wasm"), dir.path()), Some(Placed::Custom));
    assert_eq!(placed(Path::new("/elsewhere/x.wasm"), dir.path()), None);
}

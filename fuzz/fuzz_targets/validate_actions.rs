//! Arbitrary patch texts, annotation keys and object names through action
//! validation: a verdict, never a panic; an accepted patch is an object
//! within the depth limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewind::actions::{Action, ActionLimits, Scope, json_depth, validate_actions};
use rewind::contract::{self, MergePatch, Subresource};
use rewind::objects::ObjectKey;

fn key(namespace: &str, name: &str) -> contract::ObjectKey {
    contract::ObjectKey { api_version: "v1".into(), kind: "Pod".into(), namespace: Some(namespace.into()), name: name.into() }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{0}');
    let (patch, name, annotation) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let scope = Scope {
        target: ObjectKey { api_version: "apps/v1".into(), kind: "Deployment".into(), namespace: Some("shop".into()), name: "web".into() },
        owned: vec![(&key("shop", "web-1")).into()],
    };
    let limits = ActionLimits::default();
    let actions = [
        contract::Action::MergePatch(MergePatch { object: key("shop", name), subresource: Subresource::Status, patch: patch.into() }),
        contract::Action::MergePatch(MergePatch { object: key("shop", "web-1"), subresource: Subresource::Main, patch: patch.into() }),
        contract::Action::SetAnnotation((annotation.into(), patch.into())),
        contract::Action::RemoveAnnotation(annotation.into()),
        contract::Action::DeleteObject(key(annotation, name)),
    ];
    for action in &actions {
        if let Ok(valid) = validate_actions(std::slice::from_ref(action), &scope, &limits) {
            if let Action::MergePatch { patch, .. } = &valid[0] {
                assert!(patch.is_object() && json_depth(patch) <= limits.max_json_depth);
            }
        }
    }
});

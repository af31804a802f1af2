//! Deployment and ReplicaSet semantics shared by the snapshot builder and
//! the rollback executor, so both agree on what "current" and "same
//! template" mean.

use crate::objects::{self, ObjectId, ObjectKey, ObjectSet};
use serde_json::Value;
use std::collections::HashSet;

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// The revision a ReplicaSet carries, compared as a number (10 > 9).
pub fn revision(replica_set: &Value) -> Result<Option<u64>, String> {
    match crate::objects::annotation(replica_set, REVISION_ANNOTATION) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("annotation {REVISION_ANNOTATION}={text:?} is not a revision number")),
    }
}

/// A pod template without the `pod-template-hash` label the Deployment
/// controller adds to its ReplicaSets' templates.
pub fn template_without_hash(template: &Value) -> Value {
    let mut template = template.clone();
    if let Some(labels) = template.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    template
}

/// Whether a ReplicaSet's template is the Deployment's, ignoring the hash
/// label (`kubectl rollout undo` compares the same way).
pub fn same_template(replica_set: &Value, deployment: &Value) -> bool {
    match (replica_set.pointer("/spec/template"), deployment.pointer("/spec/template")) {
        (Some(rs), Some(d)) => template_without_hash(rs) == template_without_hash(d),
        _ => false,
    }
}

pub fn is_paused(deployment: &Value) -> bool {
    deployment.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false)
}

/// The ReplicaSets among `candidates` that `deployment` owns (by uid, in its
/// namespace): what `kubectl rollout undo` chooses a revision from.
pub fn owned_replica_sets<'a>(deployment: &Value, candidates: impl IntoIterator<Item = &'a Value>) -> Vec<&'a Value> {
    let uid = objects::uid(deployment).unwrap_or_default();
    candidates
        .into_iter()
        .filter(|v| {
            objects::kind(v) == Some("ReplicaSet")
                && objects::namespace(v) == objects::namespace(deployment)
                && objects::owner_references(v).iter().any(|o| o.uid == uid)
        })
        .collect()
}

/// Pods of `deployment` whose ReplicaSet the set lacks, as in a dump of
/// `kubectl get deployment,pods`: controlled by a ReplicaSet named
/// `<deployment>-<suffix>` that is not in the set, in the Deployment's
/// namespace, carrying every label of its `spec.selector.matchLabels`.
/// Returns them with the missing ReplicaSet's name, skipping `taken` ones.
pub fn pods_of_missing_replica_sets<'s>(
    set: &'s ObjectSet,
    deployment: &Value,
    taken: &HashSet<ObjectId>,
) -> Vec<(ObjectId, &'s str)> {
    let (Some(name), namespace) = (objects::name(deployment), objects::namespace(deployment)) else {
        return Vec::new();
    };
    let Some(selector) = deployment.pointer("/spec/selector/matchLabels").and_then(Value::as_object) else {
        return Vec::new();
    };
    if selector.is_empty() {
        return Vec::new();
    }
    let prefix = format!("{name}-");
    set.iter()
        .filter(|(id, pod)| {
            !taken.contains(id) && objects::kind(pod) == Some("Pod") && objects::namespace(pod) == namespace
        })
        .filter_map(|(id, pod)| {
            let owner = pod
                .pointer("/metadata/ownerReferences")?
                .as_array()?
                .iter()
                .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))?;
            let owner_name = owner.get("name")?.as_str()?;
            if owner.get("kind")?.as_str()? != "ReplicaSet" || !owner_name.starts_with(&prefix) {
                return None;
            }
            // ReplicaSets were served by extensions/v1beta1 before apps/v1.
            let present = ["apps/v1", "extensions/v1beta1"].iter().any(|api_version| {
                let key = ObjectKey {
                    api_version: api_version.to_string(),
                    kind: "ReplicaSet".into(),
                    namespace: namespace.map(str::to_string),
                    name: owner_name.to_string(),
                };
                set.find_key(&key).is_some()
            });
            let labels = pod.pointer("/metadata/labels")?.as_object()?;
            let selected = selector.iter().all(|(k, v)| labels.get(k) == Some(v));
            (selected && !present).then_some((id, owner_name))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revisions_compare_as_numbers_and_garbage_is_named() {
        let rs = |r: &str| json!({"metadata": {"annotations": {REVISION_ANNOTATION: r}}});
        assert!(revision(&rs("10")).unwrap() > revision(&rs("9")).unwrap());
        assert!(revision(&rs("ten")).unwrap_err().contains("\"ten\""));
        assert_eq!(revision(&json!({"metadata": {}})).unwrap(), None);
    }

    #[test]
    fn templates_match_ignoring_the_hash_label() {
        let d = json!({"spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"image": "a"}]}}}});
        let rs = json!({"spec": {"template": {"metadata": {"labels": {"app": "web", POD_TEMPLATE_HASH: "abc"}}, "spec": {"containers": [{"image": "a"}]}}}});
        assert!(same_template(&rs, &d));
        let other = json!({"spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"image": "b"}]}}}});
        assert!(!same_template(&other, &d));
    }
}

//! Deployments: their history is their ReplicaSets, numbered by the
//! `deployment.kubernetes.io/revision` annotation; the current release is
//! the ReplicaSet whose template (less its hash label) is the Deployment's.

use super::{Counts, UndoError, UndoOutcome, Workload};
use crate::objects::{self, ObjectKey, ObjectSet};
use crate::tree::TreeNode;
use rewind_snapshot::{Release, Text};
use serde_json::{Map, Value};

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// The Deployment's own annotations that a rollback keeps; every other
/// annotation comes from the restored ReplicaSet, as `kubectl rollout undo`
/// does (so `kubectl rollout history` shows the restored change cause).
const KEPT_ANNOTATIONS: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

pub struct Deployment;

impl Workload for Deployment {
    fn kind(&self) -> &'static str {
        "Deployment"
    }

    fn groups(&self) -> &'static [&'static str] {
        &["apps", "extensions"]
    }

    fn history_kind(&self) -> &'static str {
        "ReplicaSet"
    }

    /// Compared as a number (10 > 9).
    fn revision(&self, replica_set: &Value) -> Result<Option<u64>, String> {
        revision(replica_set)
    }

    fn selects_history(&self) -> bool {
        true
    }

    fn controller_conditions(&self) -> &'static [&'static str] {
        &["Available", "Progressing", "ReplicaFailure"]
    }

    /// One release per ReplicaSet the Deployment directly owns. A
    /// ReplicaSet whose revision is not a number is left out with a warning.
    fn releases(&self, set: &ObjectSet, tree: &[TreeNode]) -> Result<(Vec<Release<'static>>, Vec<String>), String> {
        let deployment = set.get(tree[0].object).ok_or("the target is not in the object set")?;
        let mut warnings = Vec::new();
        let mut releases = Vec::new();
        for entry in super::history_entries(self, set, tree, &mut warnings)? {
            let (value, name, revision) = (entry.value, entry.name, entry.revision);
            let template = objects::at(value, &["spec", "template"]);
            let count = |field: &str| objects::count(objects::at(value, &["status", field]));
            releases.push(Release {
                id: revision.map(|r| r.to_string()).unwrap_or_else(|| name.to_string()).into(),
                revision,
                object: Some(entry.position as u32),
                // Read as text whatever its JSON type: a hand-written dump
                // may give the hash unquoted, which YAML reads as a number.
                pod_template_hash: template
                    .and_then(|t| objects::at(t, &["metadata", "labels", POD_TEMPLATE_HASH]))
                    .and_then(|hash| match hash {
                        Value::String(text) => Some(Text::copied(text)),
                        Value::Number(number) => Some(Text::from(number.to_string())),
                        _ => None,
                    }),
                images: super::images(template),
                created: super::created(value, "ReplicaSet")?,
                replicas: count("replicas"),
                ready_replicas: count("readyReplicas"),
                current: same_template(value, deployment),
            });
        }
        if !releases.iter().any(|r| r.current)
            && let Some(named) = revision_the_controller_named(deployment)
            && let Some(release) = releases.iter_mut().find(|r| r.revision == Some(named))
        {
            release.current = true;
            warnings.push(format!(
                "no ReplicaSet's pod template equals the Deployment's (a trimmed or edited dump?); revision {named}, \
                 which the Deployment's {REVISION_ANNOTATION} annotation names, is taken as current"
            ));
        }
        super::sort_oldest_first(&mut releases);
        Ok((releases, warnings))
    }

    fn counts(&self, target: &Value) -> Result<Counts, String> {
        super::counts_at(
            target,
            ["/spec/replicas", "/status/readyReplicas", "/status/updatedReplicas", "/status/availableReplicas"],
        )
    }

    fn is_paused(&self, target: &Value) -> bool {
        target.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false)
    }

    /// A dump of a Deployment and its pods without their ReplicaSets still
    /// shows the pods' states: they are placed directly under the
    /// Deployment, and the warning says why.
    fn adopt_pods(&self, set: &ObjectSet, target: &Value, tree: &mut Vec<TreeNode>, warnings: &mut Vec<String>) {
        let mut missing: Vec<&str> = Vec::new();
        for (pod, replica_set) in pods_of_missing_replica_sets(set, target, &super::in_tree(tree)) {
            tree.push(TreeNode { object: pod, owner: Some(0) });
            if !missing.contains(&replica_set) {
                missing.push(replica_set);
            }
        }
        for replica_set in missing {
            warnings.push(format!(
                "ReplicaSet {replica_set} is not in the dump: its pods that carry the Deployment's selector are \
                 taken as the Deployment's own, without a revision"
            ));
        }
    }

    /// The chosen ReplicaSet's template (less its hash label) and its
    /// annotations, except the six the Deployment keeps; the Deployment
    /// controller then renumbers that ReplicaSet as the newest revision.
    fn plan_undo(&self, target: &Value, history: &[&Value], revision: u64) -> Result<UndoOutcome, UndoError> {
        let name = objects::name(target).unwrap_or("?").to_string();
        if self.is_paused(target) {
            return Err(UndoError::Paused { kind: "Deployment", name });
        }
        let chosen = super::find_revision(self, target, history, revision)?;
        let from = objects::name(chosen).unwrap_or("?").to_string();
        let template = chosen
            .pointer("/spec/template")
            .ok_or_else(|| UndoError::NoTemplate { history: "ReplicaSet", name: from.clone() })?;
        if same_template(chosen, target) {
            return Ok(UndoOutcome::AlreadyCurrent { from });
        }
        let mut updated = super::with_template(target, template_without_hash(template))?;
        updated["metadata"]["annotations"] = Value::Object(restored_annotations(target, chosen));
        Ok(UndoOutcome::Restore { updated, from })
    }
}

fn revision(replica_set: &Value) -> Result<Option<u64>, String> {
    match objects::annotation(replica_set, REVISION_ANNOTATION) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("annotation {REVISION_ANNOTATION}={text:?} is not a revision number")),
    }
}

fn restored_annotations(deployment: &Value, replica_set: &Value) -> Map<String, Value> {
    let own = deployment.pointer("/metadata/annotations").and_then(Value::as_object);
    let restored = replica_set.pointer("/metadata/annotations").and_then(Value::as_object);
    let kept = own.into_iter().flatten().filter(|(k, _)| KEPT_ANNOTATIONS.contains(&k.as_str()));
    let copied = restored.into_iter().flatten().filter(|(k, _)| !KEPT_ANNOTATIONS.contains(&k.as_str()));
    kept.chain(copied).map(|(k, v)| (k.clone(), v.clone())).collect()
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

/// The revision the Deployment controller last gave the Deployment, once it
/// has observed the Deployment's current generation (before that, the
/// annotation may still name the revision before a template change).
fn revision_the_controller_named(deployment: &Value) -> Option<u64> {
    super::observed_latest(deployment).then(|| revision(deployment).ok().flatten()).flatten()
}

/// Pods of `deployment` whose ReplicaSet the set lacks, as in a dump of
/// `kubectl get deployment,pods`: controlled by a ReplicaSet named
/// `<deployment>-<suffix>` that is not in the set, in the Deployment's
/// namespace, carrying every label of its `spec.selector.matchLabels`.
/// Returns them with the missing ReplicaSet's name, skipping those already
/// in the tree.
fn pods_of_missing_replica_sets<'s>(
    set: &'s ObjectSet,
    deployment: &Value,
    in_tree: &std::collections::HashSet<crate::objects::ObjectId>,
) -> Vec<(crate::objects::ObjectId, &'s str)> {
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
            !in_tree.contains(id) && objects::kind(pod) == Some("Pod") && objects::namespace(pod) == namespace
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
    use crate::fixtures::{deployment, replica_set};
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

    #[test]
    fn an_undo_restores_the_template_and_the_replica_sets_annotations() {
        let mut d = deployment("web:3");
        d["metadata"]["annotations"]["kubernetes.io/change-cause"] = json!("image web:3");
        d["metadata"]["annotations"]["team"] = json!("shop");
        let mut rs2 = replica_set("2", "web:2");
        rs2["metadata"]["annotations"]["kubernetes.io/change-cause"] = json!("image web:2");
        let rs3 = replica_set("3", "web:3");
        let UndoOutcome::Restore { updated, from } = Deployment.plan_undo(&d, &[&rs2, &rs3], 2).unwrap() else {
            panic!("expected a restore");
        };
        assert_eq!(from, "web-h2");
        assert_eq!(updated.pointer("/spec/template/spec/containers/0/image").unwrap(), "web:2");
        assert!(updated.pointer("/spec/template/metadata/labels/pod-template-hash").is_none());
        assert_eq!(
            updated["metadata"]["annotations"],
            json!({REVISION_ANNOTATION: "3", "kubernetes.io/change-cause": "image web:2"})
        );
    }

    #[test]
    fn an_undo_skips_an_equal_template_and_refuses_paused_deployments_and_unknown_revisions() {
        let mut d = deployment("web:3");
        let rs3 = replica_set("3", "web:3");
        assert_eq!(
            Deployment.plan_undo(&d, &[&rs3], 3).unwrap(),
            UndoOutcome::AlreadyCurrent { from: "web-h3".into() }
        );
        let err = Deployment.plan_undo(&d, &[&rs3], 7).unwrap_err();
        assert_eq!(err.to_string(), "Deployment web has no ReplicaSet with revision 7 (known revisions: 3)");
        d["spec"]["paused"] = json!(true);
        assert!(matches!(Deployment.plan_undo(&d, &[&rs3], 3), Err(UndoError::Paused { .. })));
    }
}

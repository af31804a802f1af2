//! The releases of a Deployment: its own ReplicaSets, oldest revision first.

use super::tree::TreeNode;
use crate::contract::{Release, Text};
use crate::deployment;
use crate::objects::{self, ObjectSet};
use serde_json::Value;

/// One release per ReplicaSet directly owned by the target (tree position 0).
/// A ReplicaSet whose revision annotation is not a number is left out and
/// named in the returned warnings; the current release is the one whose pod
/// template is the Deployment's.
pub fn deployment_releases(set: &ObjectSet, tree: &[TreeNode]) -> Result<(Vec<Release<'static>>, Vec<String>), String> {
    let deployment = set.get(tree[0].object).ok_or("target vanished")?;
    let mut releases = Vec::new();
    let mut warnings = Vec::new();
    for (position, node) in tree.iter().enumerate() {
        let value = set.get(node.object).ok_or("tree object vanished")?;
        if node.owner != Some(0) || objects::kind(value) != Some("ReplicaSet") {
            continue;
        }
        let name = objects::name(value).unwrap_or_default();
        let revision = match deployment::revision(value) {
            Ok(r) => r,
            Err(problem) => {
                warnings.push(format!("ReplicaSet {name}: {problem}; it is not offered as a release"));
                continue;
            }
        };
        let template = objects::at(value, &["spec", "template"]);
        let count = |field: &str| objects::count(objects::at(value, &["status", field]));
        releases.push(Release {
            id: revision.map(|r| r.to_string()).unwrap_or_else(|| name.to_string()).into(),
            revision,
            object: Some(position as u32),
            // Read as text whatever its JSON type: a hand-written dump may
            // give the hash unquoted, which YAML reads as a number.
            pod_template_hash: template
                .and_then(|t| objects::at(t, &["metadata", "labels", deployment::POD_TEMPLATE_HASH]))
                .and_then(|hash| match hash {
                    Value::String(text) => Some(Text::copied(text)),
                    Value::Number(number) => Some(Text::from(number.to_string())),
                    _ => None,
                }),
            images: template
                .and_then(|t| objects::at(t, &["spec", "containers"]))
                .and_then(Value::as_array)
                .map(|containers| {
                    containers.iter().filter_map(|c| c.get("image")?.as_str()).map(Text::copied).collect()
                })
                .unwrap_or_default(),
            created: objects::at(value, &["metadata", "creationTimestamp"])
                .and_then(Value::as_str)
                .map(|t| {
                    crate::time::parse(t).map_err(|e| format!("ReplicaSet {name}: /metadata/creationTimestamp: {e}"))
                })
                .transpose()?,
            replicas: count("replicas"),
            ready_replicas: count("readyReplicas"),
            current: deployment::same_template(value, deployment),
        });
    }
    if !releases.iter().any(|r| r.current)
        && let Some(named) = revision_the_controller_named(deployment)
        && let Some(release) = releases.iter_mut().find(|r| r.revision == Some(named))
    {
        release.current = true;
        warnings.push(format!(
            "no ReplicaSet's pod template equals the Deployment's (a trimmed or edited dump?); revision {named}, \
             which the Deployment's {} annotation names, is taken as current",
            deployment::REVISION_ANNOTATION
        ));
    }
    // Unnumbered ReplicaSets (none in a healthy cluster) sort first, as the
    // oldest: nothing should prefer them as "the previous revision".
    releases.sort_by_key(|r| (r.revision.is_some(), r.revision));
    Ok((releases, warnings))
}

/// The revision the Deployment controller last gave the Deployment, once it
/// has observed the Deployment's current generation (before that, the
/// annotation may still name the revision before a template change).
fn revision_the_controller_named(deployment_value: &Value) -> Option<u64> {
    let generation = deployment_value.pointer("/metadata/generation").and_then(Value::as_i64)?;
    let observed = deployment_value.pointer("/status/observedGeneration").and_then(Value::as_i64)?;
    (observed >= generation).then(|| deployment::revision(deployment_value).ok().flatten()).flatten()
}

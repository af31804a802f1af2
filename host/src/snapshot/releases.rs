//! The releases of a Deployment: its own ReplicaSets, oldest revision first.

use super::tree::TreeNode;
use crate::contract::{Release, Text};
use crate::deployment;
use crate::objects::{self, ObjectSet};
use k8s_openapi::api::apps::v1::ReplicaSet;

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
        let rs: ReplicaSet = serde_json::from_value(value.clone()).map_err(|e| format!("ReplicaSet {name}: {e}"))?;
        let spec = rs.spec.unwrap_or_default();
        let status = rs.status.unwrap_or_default();
        let template = spec.template.unwrap_or_default();
        releases.push(Release {
            id: revision.map(|r| r.to_string()).unwrap_or_else(|| name.to_string()).into(),
            revision,
            object: Some(position as u32),
            pod_template_hash: template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.as_ref())
                .and_then(|l| l.get(deployment::POD_TEMPLATE_HASH))
                .map(|hash| Text::copied(hash)),
            images: template
                .spec
                .map(|s| s.containers.into_iter().filter_map(|c| c.image.map(Text::from)).collect())
                .unwrap_or_default(),
            created: rs.metadata.creation_timestamp.as_ref().map(|t| crate::time::from_jiff(&t.0)),
            replicas: status.replicas.max(0) as u32,
            ready_replicas: status.ready_replicas.unwrap_or(0).max(0) as u32,
            current: deployment::same_template(value, deployment),
        });
    }
    // Unnumbered ReplicaSets (none in a healthy cluster) sort first, as the
    // oldest: nothing should prefer them as "the previous revision".
    releases.sort_by_key(|r| (r.revision.is_some(), r.revision));
    Ok((releases, warnings))
}

//! The GitOps objects that apply workloads (Flux Kustomizations and
//! HelmReleases, Argo CD Applications), for the snapshot's GitOps section:
//! watched like the tree's kinds wherever the cluster serves them, and put
//! beside a workload's objects when its marks name one. Where a kind is not
//! listed (not installed, or the controller may not list it) the snapshot
//! says the owner is unreadable, and why, rather than missing.

use super::cache::Cache;
use crate::gitops::{self, ArgoCdTracking, LookupResult};
use crate::objects::{ObjectSet, Origin};
use serde_json::Value;

/// Adds the owner `workload`'s marks name to `objects`: the object from
/// the watch cache, or the record of why it is not there.
pub fn add_owner(cache: &Cache, workload: &Value, objects: &mut ObjectSet, argocd: &ArgoCdTracking) {
    let Some(claim) = gitops::claim(workload, argocd) else { return };
    let (group, kind) = (claim.tool.group(), claim.tool.kind());
    let origin = || Origin("the watch cache".into());
    let result = if !cache.is_synced(group, kind) {
        LookupResult::Unreadable(format!(
            "the controller does not list {kind}.{group}: the cluster does not serve it, or the controller's \
             RBAC does not let it list them"
        ))
    } else {
        match cache.get(group, kind, &claim.namespace, &claim.name) {
            Some(owner) => {
                // Already in the set only if the owner is in the tree,
                // which a GitOps object never is.
                let _ = objects.insert_shared(owner, origin());
                return;
            }
            None => LookupResult::Missing,
        }
    };
    let _ = objects.insert(gitops::lookup_record(&claim, &result), origin());
}

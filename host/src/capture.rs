//! `rewind capture`: a workload's ownership tree read from a live cluster
//! and written as a dump that `rewind eval`, `rewind test` and
//! `rewind backtest` read. Secrets are never written, and server-side
//! bookkeeping (`managedFields`) is left out as `kubectl get` does. With
//! declared queries, the dump also holds their results at that moment (a
//! RecordedMetrics object), so a timeline replays its metrics too. The
//! GitOps object the workload's marks name is written beside it, or the
//! record of why it could not be read.

use crate::controller::cluster::{Cluster, ClusterError};
use crate::evaluate::TargetSpec;
use crate::objects::{self, ObjectKey};
use crate::queries::LiveQueries;
use crate::snapshot::ownership_tree;
use kube::api::ApiResource;
use kube::discovery::Discovery;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("the cluster serves no kind named {0:?} (see kubectl api-resources)")]
    UnknownKind(String),
    #[error("{kind:?} names {count} kinds of different API groups; write Kind.group, e.g. Deployment.apps")]
    AmbiguousKind { kind: String, count: usize },
    #[error("{0} is not in the cluster")]
    NotFound(TargetSpec),
    #[error("discovery failed: {0}")]
    Discovery(#[from] kube::Error),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// The dump of `target`'s ownership tree as it is now: a YAML `List`, the
/// target first, then the results of `queries` if given. `resource` is the
/// target kind's, from [`resource_of`].
pub async fn capture(
    cluster: &Cluster,
    resource: &ApiResource,
    target: &TargetSpec,
    queries: Option<&LiveQueries>,
    argocd: &crate::gitops::ArgoCdTracking,
) -> Result<String, CaptureError> {
    let now = jiff::Timestamp::now().as_second();
    let workload = cluster
        .workloads(resource, &target.namespace, Some(&target.name), None)
        .await?
        .pop()
        .ok_or_else(|| CaptureError::NotFound(target.clone()))?;
    let key = ObjectKey::of(&workload).ok_or_else(|| CaptureError::NotFound(target.clone()))?;
    let set = cluster.objects_for(workload).await?;
    let root = set.find_key(&key).expect("objects_for keeps the workload");
    let mut items: Vec<Value> = ownership_tree(&set, root)
        .iter()
        .filter_map(|node| set.get(node.object))
        .filter(|object| objects::kind(object) != Some("Secret"))
        .map(without_bookkeeping)
        .collect();
    if let Some(owner) = gitops_owner(cluster, set.get(root).expect("the root is in the set"), argocd).await {
        items.push(owner);
    }
    if let Some(queries) = queries {
        items.push(queries.record(&set, root, now).await);
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let recorded = if queries.is_some() { " and its metric query results" } else { "" };
    let header = format!(
        "# {} captured by rewind capture at {}: its ownership tree{recorded}, secrets excluded\n",
        target,
        crate::time::format(now)
    );
    Ok(header + &serde_yaml::to_string(&list).expect("JSON values serialize as YAML"))
}

/// The GitOps object `workload`'s marks name, as the cluster has it, or the
/// lookup record saying it does not exist or cannot be read.
async fn gitops_owner(cluster: &Cluster, workload: &Value, argocd: &crate::gitops::ArgoCdTracking) -> Option<Value> {
    use crate::gitops::{self, LookupResult};
    let claim = gitops::claim(workload, argocd)?;
    let read = async {
        let resource = cluster.resource(claim.tool.api_version(), claim.tool.kind()).await?;
        cluster.workloads(&resource, &claim.namespace, Some(&claim.name), None).await
    };
    let result = match read.await {
        Ok(mut found) => match found.pop() {
            Some(owner) => return Some(without_bookkeeping(&owner)),
            None => LookupResult::Missing,
        },
        Err(error) => LookupResult::Unreadable(error.to_string()),
    };
    Some(gitops::lookup_record(&claim, &result))
}

/// The API resource a target's kind names (`Deployment`, `deployments`,
/// `Deployment.apps`), found through discovery of every group.
pub async fn resource_of(cluster: &Cluster, kind: &str) -> Result<ApiResource, CaptureError> {
    let discovery = Discovery::new(cluster.client.clone()).run().await?;
    let mut matches: Vec<ApiResource> = discovery
        .groups()
        .flat_map(|group| group.recommended_resources())
        .map(|(resource, _)| resource)
        .filter(|r| objects::names_kind(kind, &r.kind, &r.api_version))
        .collect();
    match matches.len() {
        0 => Err(CaptureError::UnknownKind(kind.to_string())),
        1 => Ok(matches.remove(0)),
        count => Err(CaptureError::AmbiguousKind { kind: kind.to_string(), count }),
    }
}

fn without_bookkeeping(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    object
}

//! The API server side: reading a workload's objects into an [`ObjectSet`]
//! and executing validated actions with optimistic concurrency. Executes
//! the same pure pieces as the in-memory executor ([`plan_undo`],
//! [`apply_merge_patch`], [`upsert_condition`], [`event_object`]).

use crate::actions::{Action, UndoOutcome, plan_undo};
use crate::executor::{
    Executed, ExecutionContext, ExecutionError, Executor, Outcome, annotation_patch, event_object, upsert_condition,
};
use crate::objects::{self, ObjectKey, ObjectSet, Origin};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
};
use kube::core::GroupVersionKind;
use kube::{Client, discovery};
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    Api(#[from] kube::Error),
    #[error("{what} changed since it was evaluated; re-reading it")]
    Conflict { what: String },
    #[error("{0}")]
    Invalid(String),
}

impl ClusterError {
    fn from_write(error: kube::Error, what: &ObjectKey) -> ClusterError {
        match &error {
            kube::Error::Api(status) if status.code == 409 => ClusterError::Conflict { what: what.to_string() },
            _ => ClusterError::Api(error),
        }
    }
}

/// Kinds that can sit in a workload's ownership tree, listed per namespace.
const TREE_KINDS: &[(&str, &str, &str)] = &[
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("apps", "v1", "ReplicaSet"),
    ("apps", "v1", "ControllerRevision"),
    ("", "v1", "Pod"),
];

pub struct Cluster {
    pub client: Client,
}

fn group_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// A listed object as the JSON a dump would hold (lists omit each item's
/// apiVersion and kind).
fn as_value(object: DynamicObject, resource: &ApiResource) -> Value {
    let mut value = serde_json::to_value(object).expect("API objects serialize");
    value["apiVersion"] = json!(resource.api_version);
    value["kind"] = json!(resource.kind);
    value
}

impl Cluster {
    /// The API resource of a kind, found through discovery.
    pub async fn resource(&self, api_version: &str, kind: &str) -> Result<ApiResource, ClusterError> {
        let (group, version) = group_version(api_version);
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, _) = discovery::pinned_kind(&self.client, &gvk).await?;
        Ok(resource)
    }

    fn api(&self, resource: &ApiResource, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, resource)
    }

    /// The workloads a selector covers in a namespace.
    pub async fn workloads(
        &self,
        resource: &ApiResource,
        namespace: &str,
        name: Option<&str>,
        labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> Result<Vec<Value>, ClusterError> {
        let api = self.api(resource, namespace);
        if let Some(name) = name {
            return Ok(api.get_opt(name).await?.map(|o| as_value(o, resource)).into_iter().collect());
        }
        let selector = labels.map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","));
        let params = match &selector {
            Some(s) => ListParams::default().labels(s),
            None => ListParams::default(),
        };
        Ok(api.list(&params).await?.items.into_iter().map(|o| as_value(o, resource)).collect())
    }

    /// The workload and every object of the tree kinds in its namespace;
    /// the snapshot builder keeps those its ownerReferences reach.
    pub async fn objects_for(&self, workload: Value) -> Result<ObjectSet, ClusterError> {
        let namespace = objects::namespace(&workload).unwrap_or("default").to_string();
        let workload_key =
            ObjectKey::of(&workload).ok_or_else(|| ClusterError::Invalid("workload without a key".into()))?;
        let mut set = ObjectSet::new();
        set.insert(workload, Origin("the API server".into())).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        for (group, version, kind) in TREE_KINDS {
            let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
            for object in self.api(&resource, &namespace).list(&ListParams::default()).await?.items {
                let value = as_value(object, &resource);
                if ObjectKey::of(&value).is_some_and(|k| k.same_object(&workload_key)) {
                    continue;
                }
                set.insert(value, Origin("the API server".into())).map_err(|e| ClusterError::Invalid(e.to_string()))?;
            }
        }
        Ok(set)
    }
}

/// Executes validated actions against the API server. The first write to
/// an object carries the resourceVersion the decision was made on: if
/// anyone changed the object since, the API server answers 409 and the
/// evaluation is re-run on fresh state instead of overwriting. Later
/// actions on an object this evaluation already wrote (removing the
/// rollback annotation after the rollback) read it fresh, since the
/// Deployment controller updates it in between.
pub struct KubeExecutor<'a> {
    pub cluster: &'a Cluster,
    /// The objects the decision was made on.
    pub objects: &'a ObjectSet,
    written: std::collections::HashSet<String>,
    resources: HashMap<(String, String), ApiResource>,
}

impl<'a> KubeExecutor<'a> {
    pub fn new(cluster: &'a Cluster, objects: &'a ObjectSet) -> Self {
        KubeExecutor { cluster, objects, written: Default::default(), resources: HashMap::new() }
    }

    async fn resource(&mut self, key: &ObjectKey) -> Result<ApiResource, ClusterError> {
        let id = (key.api_version.clone(), key.kind.clone());
        if let Some(r) = self.resources.get(&id) {
            return Ok(r.clone());
        }
        let resource = self.cluster.resource(&key.api_version, &key.kind).await?;
        self.resources.insert(id, resource.clone());
        Ok(resource)
    }

    /// The resourceVersion the decision saw, for objects not yet written.
    fn decided_version(&self, key: &ObjectKey) -> Option<String> {
        if self.written.contains(&key.to_string()) {
            return None;
        }
        let id = self.objects.find_key(key)?;
        objects::metadata(self.objects.get(id)?)?.get("resourceVersion")?.as_str().map(str::to_string)
    }

    fn remember(&mut self, key: &ObjectKey) {
        self.written.insert(key.to_string());
    }

    async fn patch(&mut self, key: &ObjectKey, mut patch: Value, status: bool) -> Result<(), ClusterError> {
        let resource = self.resource(key).await?;
        if let Some(version) = self.decided_version(key) {
            patch["metadata"]["resourceVersion"] = json!(version);
        }
        let api = self.cluster.api(&resource, key.namespace.as_deref().unwrap_or("default"));
        let params = PatchParams::default();
        if status {
            api.patch_status(&key.name, &params, &Patch::Merge(&patch)).await
        } else {
            api.patch(&key.name, &params, &Patch::Merge(&patch)).await
        }
        .map_err(|e| ClusterError::from_write(e, key))?;
        self.remember(key);
        Ok(())
    }

    async fn current(&mut self, key: &ObjectKey) -> Result<Value, ClusterError> {
        let resource = self.resource(key).await?;
        let api = self.cluster.api(&resource, key.namespace.as_deref().unwrap_or("default"));
        let object = api.get(&key.name).await?;
        let value = as_value(object, &resource);
        let version = objects::metadata(&value).and_then(|m| m.get("resourceVersion")).and_then(Value::as_str);
        if let (Some(expected), Some(found)) = (self.decided_version(key), version)
            && expected != found
        {
            return Err(ClusterError::Conflict { what: key.to_string() });
        }
        Ok(value)
    }

    async fn execute_one(&mut self, context: &ExecutionContext, action: &Action) -> Result<Outcome, ClusterError> {
        let target = &context.target;
        match action {
            Action::RollbackDeployment { revision } => {
                let deployment = self.current(target).await?;
                let replica_sets = self
                    .cluster
                    .workloads(
                        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "ReplicaSet")),
                        target.namespace.as_deref().unwrap_or(""),
                        None,
                        None,
                    )
                    .await?;
                let owned = crate::deployment::owned_replica_sets(&deployment, &replica_sets);
                match plan_undo(&deployment, &owned, *revision).map_err(|e| ClusterError::Invalid(e.to_string()))? {
                    UndoOutcome::AlreadyCurrent { replica_set } => Ok(Outcome::Skipped(format!(
                        "revision {revision} ({replica_set}) is already the Deployment's template"
                    ))),
                    UndoOutcome::Restore { template, replica_set } => {
                        let mut updated = deployment;
                        updated["spec"]["template"] = template;
                        let resource = self.resource(target).await?;
                        let api = self.cluster.api(&resource, target.namespace.as_deref().unwrap_or("default"));
                        let object: DynamicObject =
                            serde_json::from_value(updated).map_err(|e| ClusterError::Invalid(e.to_string()))?;
                        api.replace(&target.name, &PostParams::default(), &object)
                            .await
                            .map_err(|e| ClusterError::from_write(e, target))?;
                        self.remember(target);
                        Ok(Outcome::Applied(format!("rolled back to revision {revision} ({replica_set})")))
                    }
                }
            }
            Action::MergePatch { object, subresource, patch } => {
                self.patch(object, patch.clone(), subresource.as_deref() == Some("status")).await?;
                Ok(Outcome::Applied(format!("patched {object}")))
            }
            Action::DeleteObject { object } => {
                let resource = self.resource(object).await?;
                let api = self.cluster.api(&resource, object.namespace.as_deref().unwrap_or("default"));
                let uid = self.objects.find_key(object).and_then(|id| self.objects.get(id)).and_then(objects::uid);
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: uid.map(str::to_string),
                        resource_version: self.decided_version(object),
                    }),
                    ..DeleteParams::background()
                };
                api.delete(&object.name, &params).await.map_err(|e| ClusterError::from_write(e, object))?;
                Ok(Outcome::Applied(format!("deleted {object}")))
            }
            Action::SetAnnotation { key, value } => {
                self.patch(target, annotation_patch(key, Some(value)), false).await?;
                Ok(Outcome::Applied(format!("set annotation {key}")))
            }
            Action::RemoveAnnotation { key } => {
                self.patch(target, annotation_patch(key, None), false).await?;
                Ok(Outcome::Applied(format!("removed annotation {key}")))
            }
            Action::SetCondition { condition } => {
                // Read-modify-write of the status: the write carries the
                // version just read, so a concurrent change is a conflict.
                let current = self.current(target).await?;
                let conditions = upsert_condition(current.pointer("/status/conditions"), condition, context.now);
                let version = objects::metadata(&current).and_then(|m| m.get("resourceVersion")).cloned();
                let patch = json!({"metadata": {"resourceVersion": version}, "status": {"conditions": conditions}});
                let resource = self.resource(target).await?;
                let api = self.cluster.api(&resource, target.namespace.as_deref().unwrap_or("default"));
                api.patch_status(&target.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| ClusterError::from_write(e, target))?;
                self.remember(target);
                Ok(Outcome::Applied(format!("set condition {}={}", condition.kind, condition.status)))
            }
            Action::EmitEvent { event_type, reason, message } => {
                // Events do not change the workload: no read, no precondition.
                let id =
                    self.objects.find_key(target).ok_or_else(|| ClusterError::Invalid(format!("{target} vanished")))?;
                let about = self.objects.get(id).expect("found above");
                emit(self.cluster, event_object(about, *event_type, reason, message, context.now, 0)).await?;
                Ok(Outcome::Applied(format!("{event_type:?} event {reason}")))
            }
        }
    }
}

impl Executor for KubeExecutor<'_> {
    /// Executes in order and stops at the first failure, reporting the
    /// outcomes of the actions before it (writes to an API server cannot be
    /// taken back).
    async fn execute(&mut self, context: &ExecutionContext, actions: &[Action]) -> Executed {
        let mut outcomes = Vec::new();
        for (i, action) in actions.iter().enumerate() {
            match self.execute_one(context, action).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    let failure = ExecutionError {
                        index: i + 1,
                        action: action.type_name(),
                        conflict: matches!(error, ClusterError::Conflict { .. }),
                        message: error.to_string(),
                    };
                    return Executed { outcomes, failure: Some(failure) };
                }
            }
        }
        Executed { outcomes, failure: None }
    }
}

/// Creates a core/v1 Event; the API server names it (`generateName`), so
/// events of one evaluation never collide.
pub async fn emit(cluster: &Cluster, mut event: Value) -> Result<(), ClusterError> {
    let namespace = objects::namespace(&event).unwrap_or("default").to_string();
    let involved = event["involvedObject"]["name"].as_str().unwrap_or("object").to_string();
    let metadata = &mut event["metadata"];
    metadata.as_object_mut().map(|m| m.remove("name"));
    metadata["generateName"] = json!(format!("{involved}.rewind."));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Event"));
    let object: DynamicObject = serde_json::from_value(event).map_err(|e| ClusterError::Invalid(e.to_string()))?;
    cluster.api(&resource, &namespace).create(&PostParams::default(), &object).await?;
    Ok(())
}

//! The API server side: reading a workload's objects into an [`ObjectSet`]
//! and carrying out validated actions with optimistic concurrency. Each
//! action's change is the one [`crate::change::plan`] computes, as for the
//! in-memory executor; only the I/O is this module's.

use crate::actions::Action;
use crate::change::{Change, Planned, plan};
use crate::executor::{Executed, ExecutionContext, ExecutionError, Executor, Outcome, RollbackGate};
use crate::objects::{self, ObjectKey, ObjectSet, Origin};
use crate::workloads;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
};
use kube::core::GroupVersionKind;
use kube::runtime::events::{Event as RecordedEvent, EventType as RecordedType, Recorder, Reporter};
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
    pub(crate) fn from_write(error: kube::Error, what: &ObjectKey) -> ClusterError {
        match &error {
            kube::Error::Api(status) if status.code == 409 => ClusterError::Conflict { what: what.to_string() },
            _ => ClusterError::Api(error),
        }
    }
}

/// Kinds that can sit in a workload's ownership tree, as `(group, version,
/// kind)`: every workload kind rewind knows (a custom resource may own
/// them), their history kinds, and Pods. `rewind capture` lists them; the
/// controller watches them.
pub fn tree_resources() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut kinds: Vec<(&str, &str, &str)> = Vec::new();
    for workload in workloads::all() {
        let ((group, version), (history_group, history_version)) =
            (workload.group_version(), workload.history_group_version());
        for kind in [(group, version, workload.kind()), (history_group, history_version, workload.history_kind())] {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    kinds.push(("", "v1", "Pod"));
    kinds
}

/// [`tree_resources`] as `(group, kind)`, how the caches key them.
pub fn tree_kinds() -> Vec<(&'static str, &'static str)> {
    tree_resources().into_iter().map(|(group, _, kind)| (group, kind)).collect()
}

pub struct Cluster {
    pub client: Client,
    /// Events go through kube-runtime's recorder (events.k8s.io/v1, a
    /// repeated event counted in its series rather than created again).
    recorder: Recorder,
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
    pub fn new(client: Client) -> Self {
        let instance = std::env::var("POD_NAME").ok().or_else(|| std::env::var("HOSTNAME").ok());
        let reporter = Reporter { controller: "rewind".into(), instance };
        Cluster { recorder: Recorder::new(client.clone(), reporter), client }
    }

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
        for (group, version, kind) in tree_resources() {
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
/// evaluation is re-run on fresh state instead of overwriting. An action
/// that reads the target ([`Action::reads_target`]) reads it fresh: after
/// this evaluation's own write (removing the rollback annotation after the
/// rollback) the workload's controller updates it in between.
pub struct KubeExecutor<'a> {
    pub cluster: &'a Cluster,
    /// Where a rollback reads the workload's history: the watch cache in
    /// the controller; the API server (a LIST) without one.
    history_cache: Option<&'a super::cache::Cache>,
    /// The objects the decision was made on, with what this execution read
    /// since.
    known: ObjectSet,
    written: std::collections::HashSet<String>,
    /// Objects read again after this execution wrote them.
    read_since_write: std::collections::HashSet<String>,
    resources: HashMap<(String, String), ApiResource>,
}

impl<'a> KubeExecutor<'a> {
    pub fn new(cluster: &'a Cluster, objects: &ObjectSet) -> Self {
        KubeExecutor {
            cluster,
            history_cache: None,
            known: objects.clone(),
            written: Default::default(),
            read_since_write: Default::default(),
            resources: HashMap::new(),
        }
    }

    /// Reads the workloads' history from `cache` instead of listing it.
    pub fn with_history_from(mut self, cache: &'a super::cache::Cache) -> Self {
        self.history_cache = Some(cache);
        self
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

    /// The resourceVersion a write to `key` must carry: the one the
    /// decision saw, until this execution wrote it. After that first write
    /// the decision is committed, and the workload's controller updates the
    /// object on its own (a new generation's status): a precondition on
    /// each later patch would race it. A replace still carries the version
    /// it read, in the object it writes back.
    fn expected_version(&self, key: &ObjectKey) -> Option<String> {
        if self.written.contains(&key.to_string()) {
            return None;
        }
        self.known_version(key)
    }

    /// The resourceVersion of the copy of `key` known now.
    fn known_version(&self, key: &ObjectKey) -> Option<String> {
        let id = self.known.find_key(key)?;
        objects::metadata(self.known.get(id)?)?.get("resourceVersion")?.as_str().map(str::to_string)
    }

    /// Puts `value` in the known objects in place of its older copy.
    fn learn(&mut self, value: Value) -> Result<(), ClusterError> {
        if let Some(id) = ObjectKey::of(&value).and_then(|key| self.known.find_key(&key)) {
            self.known.remove(id);
        }
        self.known.insert(value, Origin("the API server".into())).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        Ok(())
    }

    /// Reads the target as it is now. Before this execution wrote it, a
    /// version other than the decision's is a conflict.
    async fn refresh_target(&mut self, target: &ObjectKey) -> Result<Value, ClusterError> {
        let resource = self.resource(target).await?;
        let api = self.cluster.api(&resource, namespace_of(target));
        let value = as_value(api.get(&target.name).await?, &resource);
        let found = objects::metadata(&value).and_then(|m| m.get("resourceVersion")).and_then(Value::as_str);
        if let (Some(expected), Some(found)) = (self.expected_version(target), found)
            && expected != found
        {
            return Err(ClusterError::Conflict { what: target.to_string() });
        }
        if self.written.contains(&target.to_string()) {
            self.read_since_write.insert(target.to_string());
        }
        self.learn(value.clone())?;
        Ok(value)
    }

    /// The workload's history objects as they are now: those known from the
    /// decision are dropped first, since one may have been deleted since.
    async fn refresh_history(&mut self, target: &ObjectKey, workload: Value) -> Result<(), ClusterError> {
        let Some(kind) = workloads::of(target) else { return Ok(()) };
        let known: Vec<usize> = {
            let values = self.known.iter().map(|(_, v)| v);
            let owned: Vec<ObjectKey> =
                workloads::owned_history(kind, &workload, values).into_iter().filter_map(ObjectKey::of).collect();
            owned.iter().filter_map(|key| self.known.find_key(key)).collect()
        };
        for id in known {
            self.known.remove(id);
        }
        let listed: Vec<Value> = match self.history_cache {
            Some(cache) => {
                let (group, _) = kind.history_group_version();
                cache.list(group, kind.history_kind(), namespace_of(target)).iter().map(|v| (**v).clone()).collect()
            }
            None => {
                let (group, version) = kind.history_group_version();
                let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind.history_kind()));
                self.cluster.workloads(&resource, namespace_of(target), None, None).await?
            }
        };
        for history in workloads::owned_history(kind, &workload, &listed) {
            self.learn(history.clone())?;
        }
        Ok(())
    }

    async fn execute_one(&mut self, context: &ExecutionContext, action: &Action) -> Result<Outcome, ClusterError> {
        if action.reads_target() {
            let target = self.refresh_target(&context.target).await?;
            if matches!(action, Action::Rollback { .. }) {
                self.refresh_history(&context.target, target).await?;
            }
        }
        match plan(&self.known, context, action).map_err(ClusterError::Invalid)? {
            Planned::Skip(why) => Ok(Outcome::Skipped(why)),
            Planned::Change { change, done } => {
                self.make(change).await?;
                Ok(Outcome::Applied(done))
            }
        }
    }

    /// Carries out `change` as API requests.
    async fn make(&mut self, change: Change) -> Result<(), ClusterError> {
        match change {
            Change::Replace { object, updated } => {
                let resource = self.resource(&object).await?;
                let api = self.cluster.api(&resource, namespace_of(&object));
                let updated: DynamicObject = serde_json::from_value(updated)
                    .map_err(|e| ClusterError::Invalid(format!("{object} cannot be written back: {e}")))?;
                api.replace(&object.name, &PostParams::default(), &updated)
                    .await
                    .map_err(|e| ClusterError::from_write(e, &object))?;
                self.written.insert(object.to_string());
                self.read_since_write.remove(&object.to_string());
            }
            Change::MergePatch { object, status, mut patch } => {
                let resource = self.resource(&object).await?;
                // A status patch replaces `status.conditions` whole, which
                // the workload's controller writes too: it is made on the
                // version just read (a condition reads the target first),
                // so a write in between is a conflict, not lost.
                let read_since_write = self.read_since_write.contains(&object.to_string());
                let version = if status && read_since_write {
                    self.known_version(&object)
                } else {
                    self.expected_version(&object)
                };
                if let Some(version) = version {
                    patch["metadata"]["resourceVersion"] = json!(version);
                }
                let api = self.cluster.api(&resource, namespace_of(&object));
                let params = PatchParams::default();
                if status {
                    api.patch_status(&object.name, &params, &Patch::Merge(&patch)).await
                } else {
                    api.patch(&object.name, &params, &Patch::Merge(&patch)).await
                }
                .map_err(|e| ClusterError::from_write(e, &object))?;
                self.written.insert(object.to_string());
                self.read_since_write.remove(&object.to_string());
            }
            Change::Delete { object, uid } => {
                let resource = self.resource(&object).await?;
                let api = self.cluster.api(&resource, namespace_of(&object));
                let params = DeleteParams {
                    preconditions: Some(Preconditions { uid, resource_version: self.expected_version(&object) }),
                    ..DeleteParams::background()
                };
                api.delete(&object.name, &params).await.map_err(|e| ClusterError::from_write(e, &object))?;
            }
            // Events do not change the workload: no read, no precondition.
            Change::Create { object } => emit(self.cluster, object).await?,
            Change::Configuration { writes } => {
                for write in writes {
                    self.write_config_map(write).await?;
                }
            }
        }
        Ok(())
    }

    /// One ConfigMap of a restore. A replace carries the version read, so a
    /// change made since is a conflict; an immutable one is deleted (on its
    /// uid) and created again.
    async fn write_config_map(&mut self, write: crate::configuration::Write) -> Result<(), ClusterError> {
        use crate::configuration::Write;
        let key = write.key().clone();
        let resource = self.resource(&key).await?;
        let api = self.cluster.api(&resource, namespace_of(&key));
        let as_object = |value: Value| {
            serde_json::from_value::<DynamicObject>(value)
                .map_err(|e| ClusterError::Invalid(format!("{key} cannot be written: {e}")))
        };
        match write {
            Write::Replace { updated, .. } => {
                api.replace(&key.name, &PostParams::default(), &as_object(updated)?)
                    .await
                    .map_err(|e| ClusterError::from_write(e, &key))?;
            }
            Write::Create { object, delete_first, .. } => {
                if let Some(uid) = delete_first {
                    let params = DeleteParams {
                        preconditions: Some(Preconditions { uid: Some(uid), resource_version: None }),
                        ..DeleteParams::background()
                    };
                    api.delete(&key.name, &params).await.map_err(|e| ClusterError::from_write(e, &key))?;
                }
                api.create(&PostParams::default(), &as_object(object)?)
                    .await
                    .map_err(|e| ClusterError::from_write(e, &key))?;
            }
        }
        self.written.insert(key.to_string());
        Ok(())
    }
}

fn namespace_of(key: &ObjectKey) -> &str {
    key.namespace.as_deref().unwrap_or("default")
}

impl Executor for KubeExecutor<'_> {
    /// Executes in order and stops at the first failure, reporting the
    /// outcomes of the actions before it (writes to an API server cannot be
    /// taken back).
    async fn execute(&mut self, context: &ExecutionContext, actions: &[Action]) -> Executed {
        let mut outcomes = Vec::new();
        let mut gate = RollbackGate::default();
        for (i, action) in actions.iter().enumerate() {
            let outcome = match gate.holds(context, action) {
                Some(held) => Ok(held),
                None => {
                    let (context, action) = context.resolve(action);
                    self.execute_one(&context, action).await
                }
            };
            match outcome {
                Ok(outcome) => {
                    gate.record(context, action, &outcome);
                    outcomes.push(outcome);
                }
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

/// Records an Event (in the form [`crate::change::event_object`] makes)
/// about the object it names, through the recorder.
pub async fn emit(cluster: &Cluster, event: Value) -> Result<(), ClusterError> {
    let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str).map(str::to_string);
    let reference = ObjectReference {
        api_version: text("/involvedObject/apiVersion"),
        kind: text("/involvedObject/kind"),
        name: text("/involvedObject/name"),
        namespace: text("/involvedObject/namespace"),
        uid: text("/involvedObject/uid"),
        ..Default::default()
    };
    let reason = text("/reason").unwrap_or_default();
    let recorded = RecordedEvent {
        type_: if text("/type").as_deref() == Some("Warning") { RecordedType::Warning } else { RecordedType::Normal },
        // The API server refuses a note over 1 kB.
        note: text("/message").map(|m| truncate(&m, 1000)),
        action: truncate(&reason, 128),
        reason: truncate(&reason, 128),
        secondary: None,
    };
    cluster.recorder.publish(&recorded, &reference).await?;
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

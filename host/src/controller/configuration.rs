//! Each release's configuration ([`crate::configuration`]): the
//! ConfigMaps a workload's releases reference are put beside its objects
//! from the watch cache, and the record of the release it runs is written
//! (a `ReleaseConfiguration` owned by the release, so it goes with it).
//! Secrets are not read: the controller's RBAC holds no Secret rights, so
//! records leave them out and the snapshot says they are not recorded.

use super::cache::Cache;
use super::cluster::{Cluster, ClusterError};
use crate::configuration::{self, RecordWrite};
use crate::objects::{self, ObjectKey, ObjectSet, Origin};
use kube::CustomResource;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use rewind_snapshot::ConfigKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The schema of what [`configuration::record`] writes; the controller
/// writes the record as built there.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "rewind.dev",
    version = "v1alpha1",
    kind = "ReleaseConfiguration",
    doc = "The ConfigMaps (and which versions of the Secrets) one release of a workload ran with, recorded by the controller while the release was current. Owned by the release's ReplicaSet or ControllerRevision, and deleted with it. Written only by the controller.",
    namespaced,
    shortname = "relconf"
)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseConfigurationSpec {
    /// The ReplicaSet or ControllerRevision this records.
    pub release: ReleaseReference,
    /// When the record was made (RFC 3339).
    pub recorded_at: String,
    /// Each ConfigMap the release's pod template references.
    #[serde(default)]
    pub config_maps: Vec<ConfigMapRecord>,
    /// Each Secret it references that the controller read: which object and
    /// version, never its data.
    #[serde(default)]
    pub secrets: Vec<RecordedObject>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseReference {
    /// `apps/v1`.
    pub api_version: String,
    /// `ReplicaSet` or `ControllerRevision`.
    pub kind: String,
    /// The release's name, which the record shares.
    pub name: String,
    /// The release's uid: a record is read only for the release it names
    /// and that owns it.
    pub uid: String,
}

/// Which object a record's entry names, and which version of it.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordedObject {
    /// The object's name, in the release's namespace.
    pub name: String,
    /// The object did not exist while the release was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    /// Its uid when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Its resourceVersion when recorded. A Secret is compared by it: any
    /// write since, to its data or its metadata, reads as a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapRecord {
    #[serde(flatten)]
    pub object: RecordedObject,
    /// A SHA-256 of `data` and `binaryData`, whatever their key order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The ConfigMap was immutable: a restore creates it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// Its `data` as recorded, unless over the cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Its `binaryData` (base64) as recorded, unless over the cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_data: Option<BTreeMap<String, String>>,
    /// Why the data is not kept (over the record's size cap); the
    /// ConfigMap is then reported, not restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted: Option<String>,
}

/// Adds to `objects` the ConfigMaps the releases in it reference, from the
/// cache, or the lookup record of one the API server does not have. While
/// the ConfigMap watch has not listed, nothing is added, and the snapshot
/// says they could not be read. Says whether any release references a
/// ConfigMap or Secret: without one there is no record to keep.
pub fn add_config_maps(cache: &Cache, objects: &mut ObjectSet) -> bool {
    let referenced: Vec<(String, configuration::Reference)> = objects
        .iter()
        .filter_map(|(_, value)| {
            let namespace = objects::namespace(value)?;
            let template = configuration::release_template(value)?;
            Some(configuration::references(template).into_iter().map(move |r| (namespace.to_string(), r)))
        })
        .flatten()
        .collect();
    if referenced.is_empty() || !cache.is_synced("", "ConfigMap") {
        return !referenced.is_empty();
    }
    let mut wanted: Vec<(String, String)> = referenced
        .into_iter()
        .filter(|(_, r)| r.kind == ConfigKind::ConfigMap)
        .map(|(namespace, r)| (namespace, r.name))
        .collect();
    wanted.sort();
    wanted.dedup();
    let origin = || Origin("the watch cache".into());
    for (namespace, name) in wanted {
        let _ = match cache.get("", "ConfigMap", &namespace, &name) {
            Some(config_map) => objects.insert_shared(config_map, origin()),
            None => objects.insert(configuration::lookup_record(ConfigKind::ConfigMap, &namespace, &name), origin()),
        };
    }
    true
}

/// Writes the record `write` says the running release needs.
pub async fn write_record(cluster: &Cluster, write: RecordWrite) -> Result<(), ClusterError> {
    let (RecordWrite::Create(value) | RecordWrite::Replace(value)) = &write;
    let key = ObjectKey::of(value).ok_or_else(|| ClusterError::Invalid("a record without a name".into()))?;
    let resource = ApiResource::erase::<ReleaseConfiguration>(&());
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), key.namespace.as_deref().unwrap_or_default(), &resource);
    let object: DynamicObject = serde_json::from_value(value.clone())
        .map_err(|e| ClusterError::Invalid(format!("{key} cannot be written: {e}")))?;
    let written = match write {
        RecordWrite::Create(_) => api.create(&PostParams::default(), &object).await,
        RecordWrite::Replace(_) => api.replace(&key.name, &PostParams::default(), &object).await,
    };
    written.map(|_| ()).map_err(|e| ClusterError::from_write(e, &key))
}

/// The record write for the workload `target` of `objects`, if any.
pub fn needed(objects: &ObjectSet, target: &Value, healthy: bool, now: i64) -> Option<RecordWrite> {
    let id = objects.find_key(&ObjectKey::of(target)?)?;
    let tree = crate::snapshot::ownership_tree(objects, id);
    let workload = crate::workloads::of_value(target)?;
    let (releases, _) = workload.releases(objects, &tree).ok()?;
    configuration::record_write(objects, target, &tree, &releases, healthy, &crate::time::format(now))
}

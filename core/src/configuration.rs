//! A release's configuration: the ConfigMaps and Secrets its pod template
//! references, the record the controller keeps of them while the release
//! is current, and what restoring that record writes.
//!
//! A record is a `ReleaseConfiguration` (rewind.dev) owned by the release's
//! ReplicaSet or ControllerRevision, so Kubernetes deletes it with the
//! release and history stays bounded by `revisionHistoryLimit`. Its kind is
//! rewind's own: a namespace's writers who may create ConfigMaps or
//! ReplicaSets cannot forge one, and a restore writes only ConfigMaps the
//! release's template references, with what the record holds.
//!
//! ConfigMap data is kept up to [`MAX_RECORDED_BYTES`]; above it only the
//! version and a hash are, and the ConfigMap is reported, not restored.
//! Secrets are never copied: their uid and resourceVersion are kept, so a
//! Secret written since the release was recorded is reported.

use crate::objects::{self, ObjectKey, ObjectSet, at};
use crate::tree::TreeNode;
use rewind_snapshot::{ConfigKind, ConfigSource, Live, Recorded, Release, ReleaseConfiguration, Text};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const API_VERSION: &str = "rewind.dev/v1alpha1";
pub const KIND: &str = "ReleaseConfiguration";
/// The most ConfigMap data (keys and values, all ConfigMaps of one release
/// together) a record keeps. A ConfigMap holds at most 1 MiB; a record is
/// one object too, so it keeps a quarter of that.
pub const MAX_RECORDED_BYTES: usize = 256 * 1024;
/// The kind of record that says a referenced ConfigMap or Secret was looked
/// up and does not exist, written by the controller and `rewind capture`
/// beside the objects it read.
pub const LOOKUP_KIND: &str = "ConfigLookup";

/// One ConfigMap or Secret a pod template references.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub kind: ConfigKind,
    pub name: String,
    /// Every reference to it says `optional: true`.
    pub optional: bool,
}

/// The ConfigMaps and Secrets `template` (a pod template) references, by
/// kind then name: volumes, projected volumes, and each container's
/// `envFrom` and `env[].valueFrom`, init and ephemeral containers too.
pub fn references(template: &Value) -> Vec<Reference> {
    let mut found: BTreeMap<(ConfigKind, String), bool> = BTreeMap::new();
    let mut note = |kind: ConfigKind, source: &Value, name_field: &str| {
        let Some(name) = source.get(name_field).and_then(Value::as_str).filter(|n| !n.is_empty()) else { return };
        let optional = source.get("optional").and_then(Value::as_bool) == Some(true);
        let entry = found.entry((kind, name.to_string())).or_insert(true);
        *entry &= optional;
    };
    let list = |value: &Value, path: &[&str]| at(value, path).and_then(Value::as_array).cloned().unwrap_or_default();
    for volume in list(template, &["spec", "volumes"]) {
        if let Some(source) = volume.get("configMap") {
            note(ConfigKind::ConfigMap, source, "name");
        }
        if let Some(source) = volume.get("secret") {
            note(ConfigKind::Secret, source, "secretName");
        }
        for projected in list(&volume, &["projected", "sources"]) {
            if let Some(source) = projected.get("configMap") {
                note(ConfigKind::ConfigMap, source, "name");
            }
            if let Some(source) = projected.get("secret") {
                note(ConfigKind::Secret, source, "name");
            }
        }
    }
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        for container in list(template, &["spec", field]) {
            for from in list(&container, &["envFrom"]) {
                if let Some(source) = from.get("configMapRef") {
                    note(ConfigKind::ConfigMap, source, "name");
                }
                if let Some(source) = from.get("secretRef") {
                    note(ConfigKind::Secret, source, "name");
                }
            }
            for env in list(&container, &["env"]) {
                if let Some(source) = at(&env, &["valueFrom", "configMapKeyRef"]) {
                    note(ConfigKind::ConfigMap, source, "name");
                }
                if let Some(source) = at(&env, &["valueFrom", "secretKeyRef"]) {
                    note(ConfigKind::Secret, source, "name");
                }
            }
        }
    }
    found.into_iter().map(|((kind, name), optional)| Reference { kind, name, optional }).collect()
}

/// The pod template of a release's history object: a ReplicaSet's
/// `spec.template`, a ControllerRevision's `data.spec.template`.
pub fn release_template(history: &Value) -> Option<&Value> {
    at(history, &["spec", "template"]).or_else(|| at(history, &["data", "spec", "template"]))
}

pub fn kind_name(kind: ConfigKind) -> &'static str {
    match kind {
        ConfigKind::ConfigMap => "ConfigMap",
        ConfigKind::Secret => "Secret",
    }
}

/// A hash of a ConfigMap's `data` and `binaryData`, independent of key
/// order: what a record compares the live object with.
pub fn data_hash(config_map: &Value) -> String {
    let mut hasher = Sha256::new();
    for field in ["data", "binaryData"] {
        hasher.update(field.as_bytes());
        let entries: BTreeMap<&String, &Value> =
            config_map.get(field).and_then(Value::as_object).map(|m| m.iter().collect()).unwrap_or_default();
        for (key, value) in entries {
            hasher.update((key.len() as u64).to_le_bytes());
            hasher.update(key.as_bytes());
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn data_bytes(config_map: &Value) -> usize {
    ["data", "binaryData"]
        .iter()
        .filter_map(|field| config_map.get(*field).and_then(Value::as_object))
        .flat_map(|m| m.iter())
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum()
}

fn resource_version(object: &Value) -> Option<&str> {
    objects::metadata(object)?.get("resourceVersion")?.as_str()
}

/// What the controller found of one reference when recording.
pub enum Found<'v> {
    Object(&'v Value),
    Absent,
    /// Not read (the controller reads no Secrets unless allowed): left out
    /// of the record, so the snapshot says it is not recorded.
    Unread,
}

/// The record of `history` (a release's ReplicaSet or ControllerRevision)
/// as its references are now, recorded at `now` (RFC 3339). Data is kept
/// for ConfigMaps while the release's total stays within
/// [`MAX_RECORDED_BYTES`], in reference order.
pub fn record<'v>(history: &Value, found: &dyn Fn(&Reference) -> Found<'v>, now: &str) -> Option<Value> {
    let template = release_template(history)?;
    let key = ObjectKey::of(history)?;
    let uid = objects::uid(history)?;
    let mut budget = MAX_RECORDED_BYTES;
    let (mut config_maps, mut secrets) = (Vec::new(), Vec::new());
    for reference in references(template) {
        let mut entry = Map::new();
        entry.insert("name".into(), json!(reference.name));
        match found(&reference) {
            Found::Unread => continue,
            Found::Absent => {
                entry.insert("absent".into(), json!(true));
            }
            Found::Object(object) => {
                // Absent fields are left out: a CRD schema takes no nulls.
                if let Some(uid) = objects::uid(object) {
                    entry.insert("uid".into(), json!(uid));
                }
                if let Some(version) = resource_version(object) {
                    entry.insert("resourceVersion".into(), json!(version));
                }
                if reference.kind == ConfigKind::ConfigMap {
                    entry.insert("sha256".into(), json!(data_hash(object)));
                    entry.insert("immutable".into(), json!(object.get("immutable") == Some(&Value::Bool(true))));
                    let size = data_bytes(object);
                    if size <= budget {
                        budget -= size;
                        for field in ["data", "binaryData"] {
                            if let Some(value) = object.get(field) {
                                entry.insert(field.into(), value.clone());
                            }
                        }
                    } else {
                        entry.insert(
                            "omitted".into(),
                            json!(format!(
                                "its data ({size} bytes) is over what is left of the record's {MAX_RECORDED_BYTES}-byte cap"
                            )),
                        );
                    }
                }
            }
        }
        match reference.kind {
            ConfigKind::ConfigMap => config_maps.push(Value::Object(entry)),
            ConfigKind::Secret => secrets.push(Value::Object(entry)),
        }
    }
    Some(json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": key.name,
            "namespace": key.namespace,
            "labels": {"rewind.dev/release-uid": uid},
            "ownerReferences": [{
                "apiVersion": key.api_version, "kind": key.kind, "name": key.name, "uid": uid,
            }],
        },
        "spec": {
            "release": {"apiVersion": key.api_version, "kind": key.kind, "name": key.name, "uid": uid},
            "recordedAt": now,
            "configMaps": config_maps,
            "secrets": secrets,
        },
    }))
}

/// What the record of the release a workload runs needs.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordWrite {
    /// The release has none yet.
    Create(Value),
    /// Its record holds other configuration than the cluster does, and the
    /// workload is healthy with what the cluster holds: the record takes
    /// it, at the record's version. While the workload fails, the record
    /// keeps the configuration it last ran well with.
    Replace(Value),
}

/// The write that keeps the record of the release `target` (in `set`) runs
/// current, if one is needed: none for a release that references no
/// ConfigMap or Secret, and none while a referenced ConfigMap is neither
/// in the set nor known to be absent (it could not be read). A Secret not
/// read is left out of the record.
pub fn record_write(
    set: &ObjectSet,
    target: &Value,
    tree: &[TreeNode],
    releases: &[Release<'_>],
    healthy: bool,
    now: &str,
) -> Option<RecordWrite> {
    let current = releases.iter().find(|r| r.current)?;
    let history = set.get(tree.get(current.object? as usize)?.object)?;
    let namespace = objects::namespace(target)?;
    let template = release_template(history)?;
    let references = references(template);
    // A release that reads no ConfigMap or Secret has nothing to record,
    // and costs no object.
    let config_maps_read =
        references.iter().all(|r| r.kind == ConfigKind::Secret || live_object(set, namespace, r).is_ok());
    if references.is_empty() || !config_maps_read {
        return None;
    }
    let found = |reference: &Reference| match live_object(set, namespace, reference) {
        Ok(Some(object)) => Found::Object(object),
        Ok(None) => Found::Absent,
        Err(_) => Found::Unread,
    };
    let fresh = record(history, &found, now)?;
    match find_record(set, history) {
        None => Some(RecordWrite::Create(fresh)),
        Some(existing) if healthy && !same_configuration(existing, &fresh) => {
            let mut updated = fresh;
            updated["metadata"]["resourceVersion"] = json!(resource_version(existing));
            Some(RecordWrite::Replace(updated))
        }
        Some(_) => None,
    }
}

/// Whether two records hold the same configuration, whenever recorded: the
/// same objects, ConfigMaps with the same data, Secrets at the same version.
fn same_configuration(a: &Value, b: &Value) -> bool {
    let digest = |record: &Value| -> Vec<String> {
        ["configMaps", "secrets"]
            .iter()
            .flat_map(|field| at(record, &["spec", field]).and_then(Value::as_array).cloned().unwrap_or_default())
            .map(|entry| {
                let text = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                let version = if entry.get("sha256").is_some() { text("sha256") } else { text("resourceVersion") };
                [text("name"), text("uid"), version].join("\u{0}")
            })
            .collect()
    };
    digest(a) == digest(b)
}

/// The record of the release whose history object is `history`: a
/// [`KIND`] in its namespace naming its uid, owned by it.
pub fn find_record<'s>(set: &'s ObjectSet, history: &Value) -> Option<&'s Value> {
    let uid = objects::uid(history)?;
    let namespace = objects::namespace(history)?;
    let name = objects::name(history)?;
    set.find_by_kind_name(KIND, namespace, name).into_iter().filter_map(|id| set.get(id)).find(|record| {
        objects::group_of(record.get("apiVersion").and_then(Value::as_str).unwrap_or_default()) == "rewind.dev"
            && at(record, &["spec", "release", "uid"]).and_then(Value::as_str) == Some(uid)
            && objects::owner_references(record).iter().any(|o| o.uid == uid)
    })
}

/// A record's entry for `reference`.
fn recorded_entry<'r>(record: &'r Value, reference: &Reference) -> Option<&'r Value> {
    let field = match reference.kind {
        ConfigKind::ConfigMap => "configMaps",
        ConfigKind::Secret => "secrets",
    };
    at(record, &["spec", field])?
        .as_array()?
        .iter()
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(reference.name.as_str()))
}

/// The live object `reference` names, in `namespace`, as the set holds it:
/// the object, absent (a lookup record says the API server has none), or
/// unknown.
fn live_object<'s>(set: &'s ObjectSet, namespace: &str, reference: &Reference) -> Result<Option<&'s Value>, String> {
    let kind = kind_name(reference.kind);
    let in_core = |object: &&Value| object.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if let Some(object) =
        set.find_by_kind_name(kind, namespace, &reference.name).into_iter().filter_map(|id| set.get(id)).find(in_core)
    {
        return Ok(Some(object));
    }
    let looked_up = set
        .find_by_kind_name(LOOKUP_KIND, namespace, &reference.name)
        .into_iter()
        .filter_map(|id| set.get(id))
        .any(|lookup| lookup.get("lookedUp").and_then(Value::as_str) == Some(kind));
    if looked_up { Ok(None) } else { Err(format!("{kind} {} is not among the objects read", reference.name)) }
}

/// The lookup record saying `kind`/`name` in `namespace` does not exist.
pub fn lookup_record(kind: ConfigKind, namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": API_VERSION, "kind": LOOKUP_KIND,
        "metadata": {"name": name, "namespace": namespace},
        "lookedUp": kind_name(kind), "result": "Missing",
    })
}

fn compare(
    entry: Option<&Value>,
    live: Result<Option<&Value>, String>,
    kind: ConfigKind,
) -> (Recorded<'static>, Live<'static>) {
    let recorded = match entry {
        None => Recorded::NotRecorded,
        Some(e) if e.get("absent") == Some(&Value::Bool(true)) => Recorded::Absent,
        Some(_) if kind == ConfigKind::Secret => Recorded::VersionOnly(Text::copied("a Secret's data is never copied")),
        Some(e) => match e.get("omitted").and_then(Value::as_str) {
            Some(why) => Recorded::VersionOnly(Text::copied(why)),
            None => Recorded::Data,
        },
    };
    let live = match (live, entry) {
        (Err(why), _) => Live::Unknown(Text::copied(&why)),
        (Ok(None), _) => Live::Missing,
        (Ok(Some(_)), None) => Live::Present,
        (Ok(Some(_)), Some(e)) if e.get("absent") == Some(&Value::Bool(true)) => Live::Changed,
        (Ok(Some(object)), Some(e)) => {
            let same = match kind {
                ConfigKind::ConfigMap => e.get("sha256").and_then(Value::as_str) == Some(data_hash(object).as_str()),
                ConfigKind::Secret => {
                    e.get("uid").and_then(Value::as_str) == objects::uid(object)
                        && e.get("resourceVersion").and_then(Value::as_str) == resource_version(object)
                }
            };
            if same { Live::Matches } else { Live::Changed }
        }
    };
    (recorded, live)
}

/// The snapshot's configuration section: for each release with a history
/// object, its references, its record and the live objects against it.
pub fn section(set: &ObjectSet, tree: &[TreeNode], releases: &[Release<'_>]) -> Vec<ReleaseConfiguration<'static>> {
    let Some(namespace) = tree.first().and_then(|n| set.get(n.object)).and_then(objects::namespace) else {
        return Vec::new();
    };
    releases
        .iter()
        .filter_map(|release| {
            let history = set.get(tree.get(release.object? as usize)?.object)?;
            let template = release_template(history)?;
            let record = find_record(set, history);
            let recorded = record
                .and_then(|r| at(r, &["spec", "recordedAt"]))
                .and_then(Value::as_str)
                .and_then(|t| crate::time::parse(t).ok());
            let sources = references(template)
                .into_iter()
                .map(|reference| {
                    let entry = record.and_then(|r| recorded_entry(r, &reference));
                    let (recorded, live) = compare(entry, live_object(set, namespace, &reference), reference.kind);
                    ConfigSource {
                        kind: reference.kind,
                        name: Text::copied(&reference.name),
                        optional: reference.optional,
                        recorded,
                        live,
                    }
                })
                .collect();
            Some(ReleaseConfiguration { release: release.id.clone().into_owned(), recorded, sources })
        })
        .collect()
}

/// One write of a restore.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// The ConfigMap exists and may change: its data replaced, at the
    /// version read.
    Replace { key: ObjectKey, updated: Value },
    /// It is gone, or immutable and different: (re)created from the record.
    Create { key: ObjectKey, object: Value, delete_first: Option<String> },
}

impl Write {
    pub fn key(&self) -> &ObjectKey {
        match self {
            Write::Replace { key, .. } | Write::Create { key, .. } => key,
        }
    }
}

/// What restoring the configuration recorded for `history` writes: each
/// recorded ConfigMap whose live data differs. ConfigMaps the record keeps
/// no data of are left, and named in `left`.
pub fn plan_restore(set: &ObjectSet, history: &Value) -> Result<(Vec<Write>, Vec<String>), String> {
    let name = objects::name(history).unwrap_or_default();
    let namespace = objects::namespace(history).ok_or("the release has no namespace")?;
    let record = find_record(set, history).ok_or_else(|| format!("release {name} has no recorded configuration"))?;
    let template = release_template(history).ok_or_else(|| format!("release {name} has no pod template"))?;
    let (mut writes, mut left) = (Vec::new(), Vec::new());
    for reference in references(template).into_iter().filter(|r| r.kind == ConfigKind::ConfigMap) {
        let Some(entry) = recorded_entry(record, &reference) else {
            left.push(format!("ConfigMap {} (not in the record)", reference.name));
            continue;
        };
        if entry.get("absent") == Some(&Value::Bool(true)) {
            continue;
        }
        if entry.get("omitted").is_some() {
            left.push(format!("ConfigMap {} (its data is not recorded)", reference.name));
            continue;
        }
        let key = ObjectKey {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some(namespace.to_string()),
            name: reference.name.clone(),
        };
        let recorded_fields: Vec<(&str, Value)> = ["data", "binaryData"]
            .into_iter()
            .map(|field| (field, entry.get(field).cloned().unwrap_or(Value::Null)))
            .collect();
        let fresh = |immutable: bool| {
            let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": reference.name, "namespace": namespace}});
            for (field, value) in &recorded_fields {
                if !value.is_null() {
                    object[*field] = value.clone();
                }
            }
            if immutable {
                object["immutable"] = json!(true);
            }
            object
        };
        let live = live_object(set, namespace, &reference)?;
        match live {
            None => writes.push(Write::Create {
                key,
                object: fresh(entry.get("immutable") == Some(&Value::Bool(true))),
                delete_first: None,
            }),
            Some(object) if entry.get("sha256").and_then(Value::as_str) == Some(data_hash(object).as_str()) => {}
            Some(object) if object.get("immutable") == Some(&Value::Bool(true)) => writes.push(Write::Create {
                key,
                object: fresh(true),
                delete_first: objects::uid(object).map(str::to_string),
            }),
            Some(object) => {
                let mut updated = object.clone();
                for (field, value) in &recorded_fields {
                    match value {
                        Value::Null => {
                            updated.as_object_mut().map(|m| m.remove(*field));
                        }
                        value => updated[*field] = value.clone(),
                    }
                }
                writes.push(Write::Replace { key, updated });
            }
        }
    }
    Ok((writes, left))
}

#[cfg(test)]
mod tests;

//! Kubernetes objects as JSON values, and the set of them a cluster dump or
//! an API read provides.
//!
//! Objects stay `serde_json::Value` so custom resources keep every field;
//! typed views are taken where a field's meaning is known.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Names one object: group/version, kind, namespace (none when
/// cluster-scoped) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// The key of an object, if it has `apiVersion`, `kind` and a name.
    pub fn of(object: &Value) -> Option<ObjectKey> {
        Some(ObjectKey {
            api_version: object.get("apiVersion")?.as_str()?.to_string(),
            kind: object.get("kind")?.as_str()?.to_string(),
            namespace: namespace(object).map(str::to_string),
            name: name(object)?.to_string(),
        })
    }

    /// The API group (`apps`, or empty for the core group).
    pub fn group(&self) -> &str {
        group_of(&self.api_version)
    }

    /// Same object: equal group, kind, namespace and name. The version is
    /// ignored because one object is served under several versions.
    pub fn same_object(&self, other: &ObjectKey) -> bool {
        self.group() == other.group()
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{} in namespace {ns}", self.kind, self.name),
            None => write!(f, "{}/{} (cluster-scoped)", self.kind, self.name),
        }
    }
}

pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

/// The value at a path of object keys. Unlike `Value::pointer` it
/// allocates nothing, which matters on the per-pod hot path.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// A count (replicas, restarts) as the snapshot holds it: a JSON number
/// clamped to `u32`, 0 when absent or not a non-negative integer.
pub fn count(value: Option<&Value>) -> u32 {
    value.and_then(Value::as_u64).map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

pub fn metadata(object: &Value) -> Option<&Value> {
    object.get("metadata")
}

pub fn name(object: &Value) -> Option<&str> {
    metadata(object)?.get("name")?.as_str()
}

pub fn namespace(object: &Value) -> Option<&str> {
    metadata(object)?.get("namespace")?.as_str()
}

pub fn uid(object: &Value) -> Option<&str> {
    metadata(object)?.get("uid")?.as_str()
}

pub fn kind(object: &Value) -> Option<&str> {
    object.get("kind")?.as_str()
}

/// A string map under `metadata` (`labels`, `annotations`), in key order.
pub fn string_map(object: &Value, field: &str) -> rewind_snapshot::Pairs<'static> {
    metadata(object)
        .and_then(|m| m.get(field))
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(k, v)| {
                    (k.clone().into(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()).into())
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    metadata(object)?.get("annotations")?.get(key)?.as_str()
}

pub fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    metadata(object)?.get("labels")?.get(key)?.as_str()
}

/// One entry of `metadata.ownerReferences`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerReference {
    pub api_version: String,
    pub uid: String,
    pub kind: String,
    pub name: String,
    pub controller: bool,
}

pub fn owner_references(object: &Value) -> Vec<OwnerReference> {
    metadata(object)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| {
                    Some(OwnerReference {
                        api_version: r.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string(),
                        uid: r.get("uid")?.as_str()?.to_string(),
                        kind: r.get("kind").and_then(Value::as_str).unwrap_or_default().to_string(),
                        name: r.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                        controller: r.get("controller").and_then(Value::as_bool).unwrap_or(false),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where an object came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(pub String);

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The objects one evaluation sees. Indices are stable for the life of the
/// set: a deleted object leaves a hole rather than shifting the others.
#[derive(Clone, Debug, Default)]
pub struct ObjectSet {
    /// Shared, so cloning a set (the executor's working copy, the raw JSON
    /// handed to a policy) costs a reference count per object; a write
    /// copies only the object written.
    slots: Vec<Option<(Arc<Value>, Origin)>>,
    /// Identity (group, kind, namespace, name) → slot, so lookups and
    /// duplicate checks stay constant-time on large dumps.
    index: HashMap<Identity, ObjectId>,
}

type Identity = (String, String, Option<String>, String);

fn identity(key: &ObjectKey) -> Identity {
    (key.group().to_string(), key.kind.clone(), key.namespace.clone(), key.name.clone())
}

/// Stable index of an object in an [`ObjectSet`].
pub type ObjectId = usize;

impl ObjectSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an object; an object with the same key already present is an
    /// error naming both origins, so nothing is silently overwritten.
    pub fn insert(&mut self, object: Value, origin: Origin) -> Result<ObjectId, DuplicateObject> {
        self.insert_shared(Arc::new(object), origin)
    }

    /// [`Self::insert`] of an object shared with its owner (a watch cache),
    /// without copying it.
    pub fn insert_shared(&mut self, object: Arc<Value>, origin: Origin) -> Result<ObjectId, DuplicateObject> {
        let id = self.slots.len();
        if let Some(key) = ObjectKey::of(&object) {
            if let Some(&existing) = self.index.get(&identity(&key)) {
                return Err(DuplicateObject {
                    key: key.to_string(),
                    first: self.origin(existing).clone(),
                    second: origin,
                });
            }
            self.index.insert(identity(&key), id);
        }
        self.slots.push(Some((object, origin)));
        Ok(id)
    }

    pub fn get(&self, id: ObjectId) -> Option<&Value> {
        self.slots.get(id)?.as_ref().map(|(v, _)| v.as_ref())
    }

    /// The object itself, shared.
    pub fn get_shared(&self, id: ObjectId) -> Option<Arc<Value>> {
        self.slots.get(id)?.as_ref().map(|(v, _)| v.clone())
    }

    /// Mutable access for changes that keep the object's identity (actions
    /// are validated not to touch kind, name or namespace).
    pub fn get_mut(&mut self, id: ObjectId) -> Option<&mut Value> {
        self.slots.get_mut(id)?.as_mut().map(|(v, _)| Arc::make_mut(v))
    }

    pub fn origin(&self, id: ObjectId) -> &Origin {
        static UNKNOWN: std::sync::LazyLock<Origin> = std::sync::LazyLock::new(|| Origin(String::from("(deleted)")));
        self.slots.get(id).and_then(|s| s.as_ref()).map(|(_, o)| o).unwrap_or(&UNKNOWN)
    }

    pub fn remove(&mut self, id: ObjectId) -> Option<Value> {
        let (value, _) = self.slots.get_mut(id)?.take()?;
        if let Some(key) = ObjectKey::of(&value) {
            self.index.remove(&identity(&key));
        }
        Some(Arc::unwrap_or_clone(value))
    }

    pub fn iter(&self) -> impl Iterator<Item = (ObjectId, &Value)> {
        self.slots.iter().enumerate().filter_map(|(id, s)| s.as_ref().map(|(v, _)| (id, v.as_ref())))
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn find_key(&self, key: &ObjectKey) -> Option<ObjectId> {
        self.index.get(&identity(key)).copied()
    }

    /// Objects whose kind matches `kind` case-insensitively (singular or
    /// plural, optionally `kind.group`) with this namespace and name.
    pub fn find_by_kind_name(&self, kind: &str, namespace: &str, name: &str) -> Vec<ObjectId> {
        self.iter()
            .filter(|(_, v)| {
                self::name(v) == Some(name)
                    && self::namespace(v).is_none_or(|ns| ns == namespace)
                    && kind_matches(v, kind)
            })
            .map(|(id, _)| id)
            .collect()
    }
}

fn kind_matches(object: &Value, wanted: &str) -> bool {
    let Some(kind) = self::kind(object) else {
        return false;
    };
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    names_kind(wanted, kind, api_version)
}

/// Whether `wanted`, as a user writes a target's kind (`Deployment`,
/// `deployments`, `Deployment.apps`; any case), names this kind.
pub fn names_kind(wanted: &str, kind: &str, api_version: &str) -> bool {
    let (wanted_kind, wanted_group) = match wanted.split_once('.') {
        Some((k, g)) => (k, Some(g)),
        None => (wanted, None),
    };
    let kind_ok = kind.eq_ignore_ascii_case(wanted_kind) || format!("{kind}s").eq_ignore_ascii_case(wanted_kind);
    kind_ok && wanted_group.is_none_or(|g| group_of(api_version).eq_ignore_ascii_case(g))
}

#[derive(Debug, thiserror::Error)]
#[error("{key} appears twice: in {first} and in {second}")]
pub struct DuplicateObject {
    pub key: String,
    pub first: Origin,
    pub second: Origin,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(ns: &str, name: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns}})
    }

    #[test]
    fn duplicate_objects_are_refused_naming_both_origins() {
        let mut set = ObjectSet::new();
        set.insert(deployment("shop", "web"), Origin("a.yaml".into())).unwrap();
        let err = set.insert(deployment("shop", "web"), Origin("b.yaml".into())).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("a.yaml") && message.contains("b.yaml"), "{message}");
    }

    #[test]
    fn kind_lookup_accepts_plural_lowercase_and_group() {
        let mut set = ObjectSet::new();
        set.insert(deployment("shop", "web"), Origin("a".into())).unwrap();
        assert_eq!(set.find_by_kind_name("deployments", "shop", "web").len(), 1);
        assert_eq!(set.find_by_kind_name("Deployment.apps", "shop", "web").len(), 1);
        assert!(set.find_by_kind_name("Deployment.batch", "shop", "web").is_empty());
        assert!(set.find_by_kind_name("Deployment", "other", "web").is_empty());
    }

    #[test]
    fn removal_keeps_other_indices_stable() {
        let mut set = ObjectSet::new();
        let a = set.insert(deployment("shop", "a"), Origin("x".into())).unwrap();
        let b = set.insert(deployment("shop", "b"), Origin("x".into())).unwrap();
        set.remove(a);
        assert_eq!(name(set.get(b).unwrap()), Some("b"));
        assert_eq!(set.len(), 1);
    }
}

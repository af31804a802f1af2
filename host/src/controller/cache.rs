//! Watch caches: every object of the kinds a workload's ownership tree can
//! hold, kept current by one watch per kind (a LIST when the watch starts or
//! restarts, then events only). Objects are stored as the JSON a dump would
//! hold, without `managedFields`, and indexed by uid and by owner uid, so
//! building one workload's object set reads only its own tree: no API
//! request, and no walk over the rest of its namespace.

use crate::objects::{self, ObjectKey, ObjectSet, Origin};
use crate::snapshot::{KnownViews, ObjectViews};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, RwLock};

/// `(group, kind, namespace, name)`: one object, whatever version it was
/// read in.
pub type CacheKey = (String, String, Option<String>, String);

fn key_of(value: &Value) -> Option<CacheKey> {
    let key = ObjectKey::of(value)?;
    Some((key.group().to_string(), key.kind.clone(), key.namespace.clone(), key.name.clone()))
}

#[derive(Default)]
struct Index {
    objects: HashMap<CacheKey, Arc<Value>>,
    /// uid → the object's snapshot views, made once per version of it.
    views: HashMap<String, Arc<VersionViews>>,
    /// uid → key.
    by_uid: HashMap<String, CacheKey>,
    /// Owner uid → the keys of the objects that name it as an owner.
    children: HashMap<String, HashSet<CacheKey>>,
    /// Kinds whose watch has listed once.
    synced: HashSet<(String, String)>,
}

/// The views of one version of an object.
pub struct VersionViews {
    resource_version: Option<String>,
    views: ObjectViews,
}

fn resource_version(value: &Value) -> Option<&str> {
    value.pointer("/metadata/resourceVersion").and_then(Value::as_str)
}

impl Index {
    fn insert(&mut self, value: Value) -> Option<CacheKey> {
        let key = key_of(&value)?;
        self.remove(&key);
        if let Some(uid) = objects::uid(&value) {
            self.by_uid.insert(uid.to_string(), key.clone());
            let views = VersionViews {
                resource_version: resource_version(&value).map(str::to_string),
                views: ObjectViews::of(&value),
            };
            self.views.insert(uid.to_string(), Arc::new(views));
        }
        for owner in objects::owner_references(&value) {
            self.children.entry(owner.uid).or_default().insert(key.clone());
        }
        self.objects.insert(key.clone(), Arc::new(value));
        Some(key)
    }

    fn remove(&mut self, key: &CacheKey) -> Option<Arc<Value>> {
        let old = self.objects.remove(key)?;
        if let Some(uid) = objects::uid(&old) {
            self.by_uid.remove(uid);
            self.views.remove(uid);
        }
        for owner in objects::owner_references(&old) {
            if let Some(children) = self.children.get_mut(&owner.uid) {
                children.remove(key);
                if children.is_empty() {
                    self.children.remove(&owner.uid);
                }
            }
        }
        Some(old)
    }
}

/// The caches, shared by the watches that fill them and the reconciles
/// that read them.
#[derive(Clone, Default)]
pub struct Cache {
    index: Arc<RwLock<Index>>,
}

/// What a change touched: the object and every owner above it that the
/// cache holds, nearest first.
pub type Touched = Vec<Arc<Value>>;

impl Cache {
    pub fn get(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let key = (group.to_string(), kind.to_string(), Some(namespace.to_string()), name.to_string());
        self.index.read().expect("cache lock").objects.get(&key).cloned()
    }

    /// Objects of a kind in a namespace.
    pub fn list(&self, group: &str, kind: &str, namespace: &str) -> Vec<Arc<Value>> {
        let index = self.index.read().expect("cache lock");
        index
            .objects
            .iter()
            .filter(|((g, k, ns, _), _)| g == group && k == kind && ns.as_deref() == Some(namespace))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Puts `value` in the cache as a watch event would: for a source other
    /// than a watch (a test's API server in memory).
    pub fn insert(&self, value: Value) {
        self.index.write().expect("cache lock").insert(value);
    }

    /// Takes the objects of a kind inserted so far as all there are, as a
    /// watch's first listing does.
    pub fn mark_listed(&self, group: &str, kind: &str) {
        self.index.write().expect("cache lock").synced.insert((group.to_string(), kind.to_string()));
    }

    /// Drops every object of a kind no longer watched, and its listing.
    pub fn forget_kind(&self, group: &str, kind: &str) {
        let mut index = self.index.write().expect("cache lock");
        let keys: Vec<CacheKey> =
            index.objects.keys().filter(|(g, k, _, _)| g == group && k == kind).cloned().collect();
        for key in keys {
            index.remove(&key);
        }
        index.synced.remove(&(group.to_string(), kind.to_string()));
    }

    pub fn is_synced(&self, group: &str, kind: &str) -> bool {
        self.index.read().expect("cache lock").synced.contains(&(group.to_string(), kind.to_string()))
    }

    /// The workload and everything its ownerReferences reach, as the object
    /// set its snapshot is built from, with the views already made of them.
    pub fn tree_of(&self, workload: &Arc<Value>) -> (ObjectSet, TreeViews) {
        let index = self.index.read().expect("cache lock");
        let mut set = ObjectSet::new();
        let mut views = TreeViews(HashMap::new());
        let mut keep_views = |value: &Value| {
            if let Some(uid) = objects::uid(value)
                && let Some(known) = index.views.get(uid)
            {
                views.0.insert(uid.to_string(), known.clone());
            }
        };
        let origin = || Origin("the watch cache".into());
        let _ = set.insert_shared(workload.clone(), origin());
        keep_views(workload);
        let mut queue: VecDeque<String> = objects::uid(workload).map(str::to_string).into_iter().collect();
        let mut seen: HashSet<String> = queue.iter().cloned().collect();
        while let Some(uid) = queue.pop_front() {
            for key in index.children.get(&uid).into_iter().flatten() {
                let Some(child) = index.objects.get(key) else { continue };
                let Some(child_uid) = objects::uid(child) else { continue };
                if seen.insert(child_uid.to_string()) {
                    let _ = set.insert_shared(child.clone(), origin());
                    keep_views(child);
                    queue.push_back(child_uid.to_string());
                }
            }
        }
        (set, views)
    }

    /// The trees of several workloads (an application's members) in one set.
    pub fn trees_of(&self, workloads: &[Arc<Value>]) -> (ObjectSet, TreeViews) {
        let mut set = ObjectSet::new();
        let mut views = TreeViews(HashMap::new());
        for workload in workloads {
            let (tree, tree_views) = self.tree_of(workload);
            for (id, _) in tree.iter() {
                // Trees of distinct workloads do not overlap; an object
                // owned by two members is kept once.
                let _ = set.insert_shared(tree.get_shared(id).expect("listed above"), tree.origin(id).clone());
            }
            views.0.extend(tree_views.0);
        }
        (set, views)
    }

    /// Applies one watch event of `resource` and says what it touched:
    /// each changed object with the owners above it. `listed` holds what
    /// the current relist returned so far.
    fn apply(
        &self,
        resource: &ApiResource,
        event: watcher::Event<DynamicObject>,
        listed: &mut HashSet<CacheKey>,
    ) -> Vec<Touched> {
        let mut index = self.index.write().expect("cache lock");
        let kind = (resource.group.clone(), resource.kind.clone());
        let changed: Vec<Arc<Value>> = match event {
            watcher::Event::Apply(object) => {
                let key = index.insert(stored(object, resource));
                key.and_then(|k| index.objects.get(&k).cloned()).into_iter().collect()
            }
            watcher::Event::InitApply(object) => {
                let key = index.insert(stored(object, resource));
                key.and_then(|k| {
                    listed.insert(k.clone());
                    index.objects.get(&k).cloned()
                })
                .into_iter()
                .collect()
            }
            watcher::Event::Delete(object) => {
                let value = stored(object, resource);
                key_of(&value).and_then(|k| index.remove(&k)).into_iter().collect()
            }
            watcher::Event::Init => {
                listed.clear();
                Vec::new()
            }
            // A relist: what it did not return is gone (deleted while the
            // watch was down).
            watcher::Event::InitDone => {
                let stale: Vec<CacheKey> = index
                    .objects
                    .keys()
                    .filter(|(g, k, _, _)| (g, k) == (&kind.0, &kind.1))
                    .filter(|key| !listed.contains(*key))
                    .cloned()
                    .collect();
                index.synced.insert(kind);
                listed.clear();
                stale.iter().filter_map(|key| index.remove(key)).collect()
            }
        };
        changed.into_iter().map(|object| with_owners(&index, object)).collect()
    }

    /// Keeps `resource` (all namespaces) current for as long as the process
    /// runs, calling `changed` with what each event touched.
    pub async fn watch(self, api: Api<DynamicObject>, resource: ApiResource, changed: impl Fn(Touched)) {
        let mut listed = HashSet::new();
        let config = watcher::Config::default();
        // Backing off on errors: a restarting API server is not hammered.
        let mut events = std::pin::pin!(watcher::watcher(api, config).default_backoff());
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    for touched in self.apply(&resource, event, &mut listed) {
                        changed(touched);
                    }
                }
                Err(error) => tracing::warn!(kind = %resource.kind, %error, "watch error; the watch restarts"),
            }
        }
    }
}

/// `object` and the owners above it that the cache holds, nearest first
/// (bounded against ownership cycles).
fn with_owners(index: &Index, object: Arc<Value>) -> Touched {
    let mut touched = vec![object.clone()];
    let mut at = object;
    for _ in 0..8 {
        let owner = objects::owner_references(&at).into_iter().find(|o| o.controller);
        let Some(owner) = owner.and_then(|o| index.by_uid.get(&o.uid)).and_then(|k| index.objects.get(k)) else {
            break;
        };
        touched.push(owner.clone());
        at = owner.clone();
    }
    touched
}

/// The views of one tree's objects, for the snapshot of its workload: used
/// only for the very versions they were made of.
pub struct TreeViews(HashMap<String, Arc<VersionViews>>);

impl KnownViews for TreeViews {
    fn of(&self, value: &Value) -> Option<&ObjectViews> {
        let known = self.0.get(objects::uid(value)?)?;
        (known.resource_version.as_deref() == resource_version(value)).then_some(&known.views)
    }
}

/// A watched object as a dump would hold it, without the bulk no decision
/// reads: `managedFields` grow with every writer and are most of a small
/// object's size.
fn stored(object: DynamicObject, resource: &ApiResource) -> Value {
    let mut value = serde_json::to_value(object).expect("API objects serialize");
    value["apiVersion"] = json!(resource.api_version);
    value["kind"] = json!(resource.kind);
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    value
}

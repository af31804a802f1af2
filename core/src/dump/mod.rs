//! Cluster dumps: the YAML or JSON that `kubectl get -o yaml` writes (a
//! `List` of items), or several objects as YAML documents, read into an
//! [`ObjectSet`].

mod unique_keys;

use crate::objects::{DuplicateObject, ObjectSet, Origin};
use serde::de::DeserializeSeed;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("cannot read cluster dump {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}: not valid YAML/JSON: {message}")]
    Parse { origin: String, message: String },
    #[error("{origin}: {problem}")]
    BadObject { origin: String, problem: String },
    #[error(transparent)]
    Duplicate(#[from] DuplicateObject),
    #[error("cluster dump directory {0} holds no .yaml, .yml or .json file")]
    EmptyDirectory(PathBuf),
}

/// Reads every dump at `paths` (files, or directories whose `.yaml`, `.yml`
/// and `.json` files are read in name order) into one set.
pub fn load_paths(paths: &[PathBuf]) -> Result<ObjectSet, DumpError> {
    let mut set = ObjectSet::new();
    for path in paths {
        for file in dump_files(path)? {
            let text =
                std::fs::read_to_string(&file).map_err(|source| DumpError::Read { path: file.clone(), source })?;
            add_text(&mut set, &text, &file.display().to_string())?;
        }
    }
    Ok(set)
}

fn dump_files(path: &Path) -> Result<Vec<PathBuf>, DumpError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let read_err = |source| DumpError::Read { path: path.to_path_buf(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let file = entry.map_err(read_err)?.path();
        let is_dump = matches!(file.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"));
        if is_dump && file.is_file() {
            files.push(file);
        }
    }
    if files.is_empty() {
        return Err(DumpError::EmptyDirectory(path.to_path_buf()));
    }
    files.sort();
    Ok(files)
}

/// Adds the objects of one dump text. `source` names it in errors.
///
/// A text that is one JSON document (`kubectl get -o json`, an API
/// server's list response) is read by the JSON parser, several times faster
/// than the YAML one on the same text; anything else, including JSON the
/// JSON parser refuses, goes through the YAML parser, which reports errors.
/// Either way a mapping with a key twice is refused.
pub fn add_text(set: &mut ObjectSet, text: &str, source: &str) -> Result<(), DumpError> {
    let document = |index: usize| format!("{source} (document {})", index + 1);
    if text.trim_start().starts_with('{')
        && let Ok(value) = unique_keys::from_json(text)
    {
        return add_value(set, value, &document(0), None);
    }
    for (index, yaml) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let origin = document(index);
        let value = unique_keys::UniqueKeys
            .deserialize(yaml)
            .map_err(|e| DumpError::Parse { origin: origin.clone(), message: e.to_string() })?;
        add_value(set, value, &origin, None)?;
    }
    Ok(())
}

/// The type a typed list (`DeploymentList`, as client-go serialises one)
/// gives its items, which then carry no `apiVersion` or `kind` of their own.
struct ItemType {
    api_version: Option<Value>,
    kind: String,
}

impl ItemType {
    fn of_list(list: &serde_json::Map<String, Value>) -> Option<ItemType> {
        let kind = list.get("kind")?.as_str()?.strip_suffix("List").filter(|k| !k.is_empty())?;
        Some(ItemType { api_version: list.get("apiVersion").cloned(), kind: kind.to_string() })
    }

    fn fill(&self, item: &mut Value) {
        let Value::Object(map) = item else { return };
        if let Some(api_version) = &self.api_version {
            map.entry("apiVersion").or_insert_with(|| api_version.clone());
        }
        map.entry("kind").or_insert_with(|| Value::from(self.kind.as_str()));
    }
}

/// Kinds by the resource name an API path uses for them, for objects
/// whose type is known only from their `metadata.selfLink`.
const KINDS_BY_RESOURCE: [(&str, &str); 10] = [
    ("pods", "Pod"),
    ("deployments", "Deployment"),
    ("replicasets", "ReplicaSet"),
    ("statefulsets", "StatefulSet"),
    ("daemonsets", "DaemonSet"),
    ("controllerrevisions", "ControllerRevision"),
    ("jobs", "Job"),
    ("services", "Service"),
    ("configmaps", "ConfigMap"),
    ("events", "Event"),
];

/// The type an object's `metadata.selfLink` (`/apis/apps/v1/namespaces/n/
/// deployments/web`, written by API servers before 1.20) names, for items
/// that lost `apiVersion` and `kind` on the way into a dump.
fn type_from_self_link(object: &Value) -> Option<ItemType> {
    let link = object.pointer("/metadata/selfLink")?.as_str()?;
    let parts: Vec<&str> = link.trim_start_matches('/').split('/').collect();
    let (api_version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (version.to_string(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    let resource = match rest {
        ["namespaces", _, resource, _name] | [resource, _name] => *resource,
        _ => return None,
    };
    let kind = KINDS_BY_RESOURCE.iter().find(|(r, _)| *r == resource)?.1;
    Some(ItemType { api_version: Some(Value::from(api_version)), kind: kind.to_string() })
}

fn add_value(
    set: &mut ObjectSet,
    mut value: Value,
    origin: &str,
    item_type: Option<&ItemType>,
) -> Result<(), DumpError> {
    let bad = |problem: String| DumpError::BadObject { origin: origin.to_string(), problem };
    if let Some(item_type) = item_type {
        item_type.fill(&mut value);
    }
    let typed = |field: &str| value.get(field).is_some_and(Value::is_string);
    if !(typed("apiVersion") && typed("kind"))
        && let Some(linked) = type_from_self_link(&value)
    {
        linked.fill(&mut value);
    }
    match value {
        // An empty YAML document (e.g. a trailing `---`).
        Value::Null => Ok(()),
        Value::Object(mut map) if is_list(&map) => {
            let Some(Value::Array(items)) = map.remove("items") else {
                return Err(bad("a List without an `items` array".into()));
            };
            let item_type = ItemType::of_list(&map);
            for (i, item) in items.into_iter().enumerate() {
                add_value(set, item, &format!("{origin} item {}", i + 1), item_type.as_ref())?;
            }
            Ok(())
        }
        // A JSON array of objects, as some tools print several objects.
        Value::Array(items) if items.iter().all(Value::is_object) => {
            for (i, item) in items.into_iter().enumerate() {
                add_value(set, item, &format!("{origin} item {}", i + 1), None)?;
            }
            Ok(())
        }
        Value::Object(ref map) => {
            if !map.contains_key("metadata") && !map.contains_key("apiVersion") && !map.contains_key("kind") {
                let fields: Vec<&str> = map.keys().map(String::as_str).collect();
                return Err(bad(format!(
                    "a fragment ({}), not a whole object: a dump needs objects with apiVersion, kind and metadata",
                    fields.join(", ")
                )));
            }
            for field in ["apiVersion", "kind"] {
                if !map.get(field).is_some_and(Value::is_string) {
                    let which = crate::objects::name(&value).map_or_else(String::new, |n| format!(" ({n})"));
                    return Err(bad(format!(
                        "object{which} without a string `{field}` (in a plain List every item needs its own, \
                         or a `metadata.selfLink` naming its type)"
                    )));
                }
            }
            if crate::objects::name(&value).is_none() {
                return Err(bad(format!("{} without `metadata.name`", map["kind"].as_str().unwrap_or_default())));
            }
            let origin = Origin(origin.to_string());
            set.insert(value, origin)?;
            Ok(())
        }
        other => Err(bad(format!("expected a Kubernetes object, found {}", json_type(&other)))),
    }
}

fn is_list(map: &serde_json::Map<String, Value>) -> bool {
    map.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k == "List" || (k.ends_with("List") && map.contains_key("items")))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kubectl_lists_and_multi_document_yaml() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: n}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: n}\n---\n";
        let mut set = ObjectSet::new();
        add_text(&mut set, text, "dump.yaml").unwrap();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn errors_name_the_document_and_item() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {namespace: n}\n";
        let err = add_text(&mut ObjectSet::new(), text, "dump.yaml").unwrap_err().to_string();
        assert!(err.contains("dump.yaml (document 1) item 1") && err.contains("metadata.name"), "{err}");
        let err = add_text(&mut ObjectSet::new(), "a: [", "x.yaml").unwrap_err().to_string();
        assert!(err.starts_with("x.yaml (document 1): not valid"), "{err}");
        let err = add_text(&mut ObjectSet::new(), "- 1\n", "x.yaml").unwrap_err().to_string();
        assert!(err.contains("found a list"), "{err}");
    }

    #[test]
    fn json_documents_read_like_their_yaml_and_fail_with_the_same_errors() {
        let yaml =
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: n}\n";
        let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "n"}}]}"#;
        let (mut from_yaml, mut from_json) = (ObjectSet::new(), ObjectSet::new());
        add_text(&mut from_yaml, yaml, "dump").unwrap();
        add_text(&mut from_json, json, "dump").unwrap();
        let objects = |set: &ObjectSet| set.iter().map(|(_, object)| object.clone()).collect::<Vec<_>>();
        assert_eq!(objects(&from_yaml), objects(&from_json));

        let nameless = r#"{"kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {}}]}"#;
        let err = add_text(&mut ObjectSet::new(), nameless, "d.json").unwrap_err().to_string();
        assert!(err.contains("d.json (document 1) item 1") && err.contains("metadata.name"), "{err}");
        let err = add_text(&mut ObjectSet::new(), r#"{"kind": "List", "items": 3}"#, "d.json").unwrap_err().to_string();
        assert!(err.contains("without an `items` array"), "{err}");
        // Broken JSON is reported by the YAML parser, with its position.
        let err = add_text(&mut ObjectSet::new(), r#"{"kind": "Pod", "#, "d.json").unwrap_err().to_string();
        assert!(err.starts_with("d.json (document 1): not valid"), "{err}");
    }

    #[test]
    fn typed_lists_give_their_items_kind_and_api_version() {
        // client-go serialises a DeploymentList without each item's type.
        let json = r#"{"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [
            {"metadata": {"name": "web", "namespace": "shop"}, "spec": {}}]}"#;
        let mut set = ObjectSet::new();
        add_text(&mut set, json, "d.json").unwrap();
        let (_, web) = set.iter().next().unwrap();
        assert_eq!((web["apiVersion"].as_str(), web["kind"].as_str()), (Some("apps/v1"), Some("Deployment")));
        // A plain List cannot say what its items are: refused, naming the item.
        let plain = "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: web, namespace: shop}\n";
        let err = add_text(&mut ObjectSet::new(), plain, "d.yaml").unwrap_err().to_string();
        assert!(err.contains("item 1") && err.contains("(web)") && err.contains("`apiVersion`"), "{err}");
    }

    #[test]
    fn a_json_array_of_objects_is_a_dump() {
        let json = r#"[{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "n"}},
                       {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "n"}}]"#;
        let mut set = ObjectSet::new();
        add_text(&mut set, json, "d.json").unwrap();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn unquoted_timestamps_stay_text() {
        // YAML 1.1 readers turn these into dates; rewind's reader keeps the text.
        let yaml =
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: n, creationTimestamp: 2019-08-14T10:02:09Z}\n";
        let mut set = ObjectSet::new();
        add_text(&mut set, yaml, "d.yaml").unwrap();
        let (_, pod) = set.iter().next().unwrap();
        assert_eq!(pod.pointer("/metadata/creationTimestamp").unwrap(), "2019-08-14T10:02:09Z");
    }

    #[test]
    fn a_self_link_gives_an_untyped_item_its_type() {
        let json = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"metadata": {"name": "web", "namespace": "shop", "selfLink": "/apis/apps/v1/namespaces/shop/deployments/web"}},
            {"metadata": {"name": "web-1", "namespace": "shop", "selfLink": "/api/v1/namespaces/shop/pods/web-1"}}]}"#;
        let mut set = ObjectSet::new();
        add_text(&mut set, json, "d.json").unwrap();
        let types: Vec<_> = set.iter().map(|(_, o)| (o["apiVersion"].clone(), o["kind"].clone())).collect();
        assert_eq!(types, [("apps/v1".into(), "Deployment".into()), ("v1".into(), "Pod".into())]);
        let unknown =
            r#"{"kind": "List", "items": [{"metadata": {"name": "x", "selfLink": "/apis/x.io/v1/widgets/x"}}]}"#;
        let err = add_text(&mut ObjectSet::new(), unknown, "d.json").unwrap_err().to_string();
        assert!(err.contains("(x)") && err.contains("selfLink"), "{err}");
    }

    #[test]
    fn a_mapping_with_a_key_twice_is_refused_naming_it() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: n}\nstatus: {}\nstatus:\n  replicas: 1\n";
        let err = add_text(&mut ObjectSet::new(), yaml, "d.yaml").unwrap_err().to_string();
        assert!(err.contains("d.yaml (document 1)") && err.contains("`status` appears twice"), "{err}");
    }

    #[test]
    fn a_json_object_with_a_key_twice_is_refused_too() {
        let json = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "name": "b"}}"#;
        let err = add_text(&mut ObjectSet::new(), json, "d.json").unwrap_err().to_string();
        assert!(err.contains("`name` appears twice"), "{err}");
    }
}

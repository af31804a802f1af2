//! The ownership tree: the target and every object reachable from it by
//! following `ownerReferences` uids downwards. Labels play no part, so an
//! unrelated object that happens to match a selector is never picked up.

use crate::objects::{self, ObjectId, ObjectSet};
use std::collections::{HashMap, HashSet, VecDeque};

/// One node: the object and its owner's position in the tree (none for the
/// target, which is always at position 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeNode {
    pub object: ObjectId,
    pub owner: Option<usize>,
}

/// Walks the tree breadth-first from `target`. Only objects in the target's
/// namespace are followed (ownership never crosses namespaces); cycles and
/// objects owned twice are visited once.
pub fn ownership_tree(set: &ObjectSet, target: ObjectId) -> Vec<TreeNode> {
    let Some(target_value) = set.get(target) else {
        return Vec::new();
    };
    let namespace = objects::namespace(target_value);
    let mut children_by_owner_uid: HashMap<&str, Vec<ObjectId>> = HashMap::new();
    for (id, value) in set.iter() {
        if id == target || objects::namespace(value) != namespace {
            continue;
        }
        for uid in owner_uids(value) {
            children_by_owner_uid.entry(uid).or_default().push(id);
        }
    }

    let mut nodes = vec![TreeNode { object: target, owner: None }];
    let mut visited: HashSet<ObjectId> = HashSet::from([target]);
    // Tree position of each visited owner, by uid.
    let mut position_of_uid: HashMap<&str, usize> = HashMap::new();
    let mut queue = VecDeque::from([0usize]);
    while let Some(position) = queue.pop_front() {
        let object = nodes[position].object;
        let Some(uid) = set.get(object).and_then(objects::uid) else {
            continue;
        };
        position_of_uid.entry(uid).or_insert(position);
        let Some(children) = children_by_owner_uid.get(uid) else {
            continue;
        };
        for &child in children {
            if !visited.insert(child) {
                continue;
            }
            let child_position = nodes.len();
            nodes.push(TreeNode {
                object: child,
                owner: Some(controlling_owner(set, child, &position_of_uid).unwrap_or(position)),
            });
            if let Some(child_uid) = set.get(child).and_then(objects::uid) {
                position_of_uid.entry(child_uid).or_insert(child_position);
            }
            queue.push_back(child_position);
        }
    }
    nodes
}

/// Owner uids borrowed from the object, so the index allocates no strings.
fn owner_uids(value: &serde_json::Value) -> impl Iterator<Item = &str> {
    objects::at(value, &["metadata", "ownerReferences"])
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid")?.as_str())
}

/// The tree position of the owner marked `controller: true`, if that owner
/// has been reached already.
fn controlling_owner(set: &ObjectSet, child: ObjectId, position_of_uid: &HashMap<&str, usize>) -> Option<usize> {
    let references = objects::at(set.get(child)?, &["metadata", "ownerReferences"])?.as_array()?;
    let controller =
        references.iter().find(|r| r.get("controller").and_then(serde_json::Value::as_bool) == Some(true))?;
    position_of_uid.get(controller.get("uid")?.as_str()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Origin;
    use serde_json::{Value, json};

    fn object(kind: &str, name: &str, uid: &str, owner: Option<&str>) -> Value {
        let mut o = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "shop", "uid": uid, "labels": {"app": "web"}}});
        if let Some(owner) = owner {
            o["metadata"]["ownerReferences"] = json!([{"kind": "X", "name": "x", "uid": owner, "controller": true}]);
        }
        o
    }

    fn set_of(objects: Vec<Value>) -> ObjectSet {
        let mut set = ObjectSet::new();
        for o in objects {
            set.insert(o, Origin("test".into())).unwrap();
        }
        set
    }

    fn names(set: &ObjectSet, tree: &[TreeNode]) -> Vec<String> {
        tree.iter().map(|n| objects::name(set.get(n.object).unwrap()).unwrap().to_string()).collect()
    }

    #[test]
    fn follows_owner_uids_not_labels() {
        let set = set_of(vec![
            object("Deployment", "web", "d1", None),
            object("ReplicaSet", "web-1", "r1", Some("d1")),
            object("Pod", "web-1-a", "p1", Some("r1")),
            // Same labels, no owner reference: not part of the tree.
            object("Pod", "impostor", "p9", None),
            // Owned by a uid that is not in the tree.
            object("Pod", "orphan", "p8", Some("gone")),
        ]);
        let tree = ownership_tree(&set, 0);
        assert_eq!(names(&set, &tree), ["web", "web-1", "web-1-a"]);
        assert_eq!(tree[2].owner, Some(1));
        assert_eq!(tree[1].owner, Some(0));
    }

    #[test]
    fn ownership_cycles_terminate() {
        let set = set_of(vec![
            object("Deployment", "web", "d1", Some("r1")),
            object("ReplicaSet", "web-1", "r1", Some("d1")),
        ]);
        let tree = ownership_tree(&set, 0);
        assert_eq!(names(&set, &tree), ["web", "web-1"]);
    }

    #[test]
    fn other_namespaces_are_not_followed() {
        let mut stray = object("Pod", "stray", "p2", Some("d1"));
        stray["metadata"]["namespace"] = json!("other");
        let set = set_of(vec![object("Deployment", "web", "d1", None), stray]);
        assert_eq!(ownership_tree(&set, 0).len(), 1);
    }
}

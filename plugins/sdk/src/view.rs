//! Reading the snapshot: the target, its releases, the ownership tree.

use crate::{Condition, ConditionStatus, ObjectInfo, Pod, Release, Snapshot};
use serde_json::Value;

/// Looks a key up in a label or annotation list.
pub fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn condition<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.kind == kind)
}

/// Whether a condition of this type has this status.
pub fn condition_is(conditions: &[Condition], kind: &str, status: ConditionStatus) -> bool {
    condition(conditions, kind).is_some_and(|c| c.status == status)
}

impl Snapshot {
    pub fn object(&self, index: u32) -> Option<&ObjectInfo> {
        self.objects.get(index as usize)
    }

    /// The name of a pod's object.
    pub fn pod_name(&self, pod: &Pod) -> &str {
        self.object(pod.object).map_or("", |o| o.name.as_str())
    }

    pub fn target_annotation(&self, key: &str) -> Option<&str> {
        lookup(&self.target.annotations, key)
    }

    pub fn target_condition(&self, kind: &str) -> Option<&Condition> {
        condition(&self.target.conditions, kind)
    }

    /// The release the workload runs now (for a Deployment: the ReplicaSet
    /// whose template is the Deployment's).
    pub fn current_release(&self) -> Option<&Release> {
        self.releases.iter().find(|r| r.current)
    }

    /// The newest release older than the current one, by revision.
    pub fn previous_release(&self) -> Option<&Release> {
        let current = self.current_release()?.revision?;
        self.releases.iter().filter(|r| r.revision.is_some_and(|rev| rev < current)).max_by_key(|r| r.revision)
    }

    pub fn release_by_revision(&self, revision: u64) -> Option<&Release> {
        self.releases.iter().find(|r| r.revision == Some(revision))
    }

    /// Whether `object` is `ancestor` or lies below it in the ownership tree.
    pub fn descends_from(&self, object: u32, ancestor: u32) -> bool {
        let mut at = Some(object);
        // The tree has no cycles (the host builds it breadth-first), but a
        // bound keeps a malformed snapshot from looping.
        for _ in 0..=self.objects.len() {
            match at {
                Some(i) if i == ancestor => return true,
                Some(i) => at = self.object(i).and_then(|o| o.owner),
                None => return false,
            }
        }
        false
    }

    /// Pods at or below `ancestor` (the pods of a ReplicaSet, or of a
    /// Deployment through its ReplicaSets).
    pub fn pods_under(&self, ancestor: u32) -> impl Iterator<Item = &Pod> {
        self.pods.iter().filter(move |p| self.descends_from(p.object, ancestor))
    }

    /// Tree objects of a kind directly owned by `owner`.
    pub fn children_of_kind<'a>(&'a self, owner: u32, kind: &'a str) -> impl Iterator<Item = (u32, &'a ObjectInfo)> {
        self.objects
            .iter()
            .enumerate()
            .filter(move |(_, o)| o.owner == Some(owner) && o.kind == kind)
            .map(|(i, o)| (i as u32, o))
    }

    /// The full JSON of a tree object, fetched from the host on demand.
    pub fn raw_object(&self, index: u32) -> Option<Value> {
        let text = crate::host::get_object(index)?;
        serde_json::from_str(&text).ok()
    }

    /// The target's full JSON (index 0 of the tree).
    pub fn target_raw(&self) -> Result<crate::raw::RawObject, String> {
        self.raw_object(0)
            .map(crate::raw::RawObject::new)
            .ok_or_else(|| format!("the host did not provide the JSON of {}/{}", self.target.kind, self.target.name))
    }

    /// Seconds from `since` to the evaluation time (0 if `since` is later).
    pub fn seconds_since(&self, since: i64) -> i64 {
        (self.now - since).max(0)
    }

    /// Tree objects carrying a label, with their index.
    pub fn objects_with_label<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> impl Iterator<Item = (u32, &'a ObjectInfo)> {
        self.objects
            .iter()
            .enumerate()
            .filter(move |(_, o)| lookup(&o.labels, key) == Some(value))
            .map(|(i, o)| (i as u32, o))
    }

    /// Pods grouped by the value of one of their labels (pods without it
    /// are left out), in label order.
    pub fn pods_by_label(&self, key: &str) -> std::collections::BTreeMap<&str, Vec<&Pod>> {
        let mut groups: std::collections::BTreeMap<&str, Vec<&Pod>> = Default::default();
        for pod in &self.pods {
            if let Some(value) = self.object(pod.object).and_then(|o| lookup(&o.labels, key)) {
                groups.entry(value).or_default().push(pod);
            }
        }
        groups
    }
}

/// At most `max_chars` characters of `text`, marked when cut: for quoting
/// untrusted input (an annotation value, say) in reasons and events.
pub fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

/// Reads a value by JSON pointer (`/status/activeStrategy`) as a string.
pub fn pointer_str<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer)?.as_str()
}

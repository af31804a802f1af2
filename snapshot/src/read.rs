//! Reading a snapshot: the target, its releases, the ownership tree. Pure
//! lookups, shared by the host and every policy.

use crate::{
    Condition, ConditionStatus, Metric, ObjectIndex, ObjectInfo, Pod, Release, ReleaseConfiguration, Snapshot, Text,
};
use std::collections::BTreeMap;

/// Looks a key up in a label or annotation list.
pub fn lookup<'s>(pairs: &'s [(Text<'_>, Text<'_>)], key: &str) -> Option<&'s str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The condition of this type, if present.
pub fn condition<'s, 'a>(conditions: &'s [Condition<'a>], kind: &str) -> Option<&'s Condition<'a>> {
    conditions.iter().find(|c| c.kind == kind)
}

/// Whether a condition of this type has this status.
pub fn condition_is(conditions: &[Condition<'_>], kind: &str, status: ConditionStatus) -> bool {
    condition(conditions, kind).is_some_and(|c| c.status == status)
}

impl<'a> Snapshot<'a> {
    pub fn object(&self, index: ObjectIndex) -> Option<&ObjectInfo<'a>> {
        self.objects.get(index as usize)
    }

    /// The name of a pod's object.
    pub fn pod_name(&self, pod: &Pod<'_>) -> &str {
        self.object(pod.object).map_or("", |o| o.name.as_str())
    }

    pub fn target_annotation(&self, key: &str) -> Option<&str> {
        lookup(&self.target.annotations, key)
    }

    pub fn target_condition(&self, kind: &str) -> Option<&Condition<'a>> {
        condition(&self.target.conditions, kind)
    }

    /// The release the workload runs now (for a Deployment: the ReplicaSet
    /// whose template is the Deployment's).
    pub fn current_release(&self) -> Option<&Release<'a>> {
        self.releases.iter().find(|r| r.current)
    }

    /// The newest release older than the current one, by revision.
    pub fn previous_release(&self) -> Option<&Release<'a>> {
        let current = self.current_release()?.revision?;
        self.releases.iter().filter(|r| r.revision.is_some_and(|rev| rev < current)).max_by_key(|r| r.revision)
    }

    /// The pods made from `release`: those its ReplicaSet owns, or (for a
    /// release kept in a ControllerRevision, which owns no pods) the
    /// target's pods whose `controller-revision-hash` label is the
    /// release's hash.
    pub fn pods_of<'s>(&'s self, release: &'s Release<'a>) -> Box<dyn Iterator<Item = &'s Pod<'a>> + 's> {
        let Some(object) = release.object else {
            return Box::new(std::iter::empty());
        };
        if self.object(object).is_some_and(|o| o.kind == "ReplicaSet") {
            return Box::new(self.pods_under(object));
        }
        let Some(hash) = release.pod_template_hash.as_ref() else {
            return Box::new(std::iter::empty());
        };
        Box::new(self.pods.iter().filter(move |pod| {
            self.object(pod.object).is_some_and(|o| {
                o.owner == Some(0) && lookup(&o.labels, "controller-revision-hash") == Some(hash.as_str())
            })
        }))
    }

    /// The result of the metric query named `name`, if the snapshot has one.
    pub fn metric(&self, name: &str) -> Option<&Metric<'a>> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The recorded configuration of `release` (contract 0.5.0 on).
    pub fn configuration_of(&self, release: &Release<'_>) -> Option<&ReleaseConfiguration<'a>> {
        self.configuration.iter().find(|c| c.release == release.id)
    }

    pub fn release_by_revision(&self, revision: u64) -> Option<&Release<'a>> {
        self.releases.iter().find(|r| r.revision == Some(revision))
    }

    /// Whether `object` is `ancestor` or lies below it in the ownership tree.
    pub fn descends_from(&self, object: ObjectIndex, ancestor: ObjectIndex) -> bool {
        let mut at = Some(object);
        // The host builds the tree breadth-first, without cycles; the bound
        // keeps a malformed snapshot from looping.
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
    pub fn pods_under(&self, ancestor: ObjectIndex) -> impl Iterator<Item = &Pod<'a>> {
        self.pods.iter().filter(move |p| self.descends_from(p.object, ancestor))
    }

    /// Tree objects of a kind directly owned by `owner`, with their index.
    pub fn children_of_kind<'s>(
        &'s self,
        owner: ObjectIndex,
        kind: &'s str,
    ) -> impl Iterator<Item = (ObjectIndex, &'s ObjectInfo<'a>)> {
        self.objects
            .iter()
            .enumerate()
            .filter(move |(_, o)| o.owner == Some(owner) && o.kind == kind)
            .map(|(i, o)| (i as ObjectIndex, o))
    }

    /// Tree objects carrying a label, with their index.
    pub fn objects_with_label<'s>(
        &'s self,
        key: &'s str,
        value: &'s str,
    ) -> impl Iterator<Item = (ObjectIndex, &'s ObjectInfo<'a>)> {
        self.objects
            .iter()
            .enumerate()
            .filter(move |(_, o)| lookup(&o.labels, key) == Some(value))
            .map(|(i, o)| (i as ObjectIndex, o))
    }

    /// Pods grouped by the value of one of their labels (pods without it
    /// are left out), in label order.
    pub fn pods_by_label(&self, key: &str) -> BTreeMap<&str, Vec<&Pod<'a>>> {
        let mut groups: BTreeMap<&str, Vec<&Pod<'a>>> = BTreeMap::new();
        for pod in &self.pods {
            if let Some(value) = self.object(pod.object).and_then(|o| lookup(&o.labels, key)) {
                groups.entry(value).or_default().push(pod);
            }
        }
        groups
    }

    /// Seconds from `since` to the evaluation time (0 if `since` is later).
    pub fn seconds_since(&self, since: i64) -> i64 {
        (self.now - since).max(0)
    }
}

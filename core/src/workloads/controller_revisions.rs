//! History kept in ControllerRevisions, as StatefulSets and DaemonSets keep
//! it: each revision's `data` is `{"spec": {"template": {…, "$patch":
//! "replace"}}}`, its number is `.revision`, and the pods made from it
//! carry a `controller-revision-hash` label. The kinds differ only in that
//! label's value, in whether the status names the revision being rolled
//! out, and in where they keep their counts; a [`RevisionHistoryKind`]
//! holds those differences.

use super::{Counts, UndoError, UndoOutcome, Workload};
use crate::objects::{self, ObjectSet};
use crate::pods::conditions;
use crate::tree::TreeNode;
use rewind_snapshot::{ConditionStatus, Release, Text};
use serde_json::Value;

pub const HASH_LABEL: &str = "controller-revision-hash";
const KIND: &str = "ControllerRevision";

/// A workload kind whose history is kept in ControllerRevisions.
pub struct RevisionHistoryKind {
    pub kind: &'static str,
    pub groups: &'static [&'static str],
    /// The `controller-revision-hash` value pods of a revision carry.
    pub pod_label: fn(revision: &Value, target: &Value) -> Option<String>,
    /// The revision's name the target's status says it is rolling out to.
    pub update_revision: fn(target: &Value) -> Option<&str>,
    /// Where the kind keeps its desired, ready, updated and available counts.
    pub counts: [&'static str; 4],
    /// An annotation the API server increments on every template change.
    pub template_generation: Option<&'static str>,
}

impl Workload for RevisionHistoryKind {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn groups(&self) -> &'static [&'static str] {
        self.groups
    }

    fn history_kind(&self) -> &'static str {
        KIND
    }

    fn revision(&self, history: &Value) -> Result<Option<u64>, String> {
        match history.get("revision") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| format!("`revision` is {v}, not a revision number")),
        }
    }

    /// One release per ControllerRevision the target directly owns; each
    /// counts the target's pods that carry its hash label. The current one
    /// is the revision the status names, else the one holding the target's
    /// template, else (a dump whose templates were edited or trimmed) the
    /// highest, once the controller has seen the latest spec.
    fn releases(&self, set: &ObjectSet, tree: &[TreeNode]) -> Result<(Vec<Release<'static>>, Vec<String>), String> {
        let target = set.get(tree[0].object).ok_or("the target is not in the object set")?;
        let target_name = objects::name(target).unwrap_or_default();
        let mut warnings = Vec::new();
        let pods: Vec<&Value> = tree
            .iter()
            .filter(|n| n.owner == Some(0))
            .filter_map(|n| set.get(n.object))
            .filter(|v| objects::kind(v) == Some("Pod"))
            .collect();
        fn pod_hash(pod: &Value) -> Option<&str> {
            objects::at(pod, &["metadata", "labels", HASH_LABEL]).and_then(Value::as_str)
        }
        let unlabelled: Vec<&str> =
            pods.iter().filter(|p| pod_hash(p).is_none()).filter_map(|p| objects::name(p)).collect();
        if !unlabelled.is_empty() {
            warnings.push(format!(
                "pods {} of {} {target_name} have no {HASH_LABEL} label: they are counted in no release",
                unlabelled.join(", "),
                self.kind
            ));
        }
        let update_revision = super::observed_latest(target).then(|| (self.update_revision)(target)).flatten();
        let mut releases = Vec::new();
        for entry in super::history_entries(self, set, tree, &mut warnings)? {
            let hash = (self.pod_label)(entry.value, target);
            let of_release: Vec<&&Value> =
                pods.iter().filter(|p| hash.is_some() && pod_hash(p) == hash.as_deref()).collect();
            let ready = of_release.iter().filter(|p| is_ready(p)).count();
            let template = template(entry.value);
            releases.push(Release {
                id: entry.revision.map(|r| r.to_string()).unwrap_or_else(|| entry.name.to_string()).into(),
                revision: entry.revision,
                object: Some(entry.position as u32),
                pod_template_hash: hash.map(Text::from),
                images: super::images(template.as_ref()),
                created: super::created(entry.value, KIND)?,
                replicas: of_release.len() as u32,
                ready_replicas: ready as u32,
                current: match update_revision {
                    Some(update) => update == entry.name,
                    None => template.is_some() && template.as_ref() == target.pointer("/spec/template"),
                },
            });
        }
        super::sort_oldest_first(&mut releases);
        if !releases.is_empty() && !releases.iter().any(|r| r.current) {
            let highest = releases.iter_mut().rev().find(|r| r.revision.is_some());
            match highest {
                Some(release) if super::observed_latest(target) => {
                    release.current = true;
                    warnings.push(format!(
                        "no {KIND} of {} {target_name} holds its pod template exactly (a trimmed or edited dump?); \
                         the highest, revision {}, is taken as current since its controller has seen the latest spec",
                        self.kind, release.id
                    ));
                }
                _ => warnings.push(format!(
                    "no {KIND} of {} {target_name} holds its pod template (a trimmed or edited dump?): no release is \
                     current",
                    self.kind
                )),
            }
        }
        Ok((releases, warnings))
    }

    fn counts(&self, target: &Value) -> Result<Counts, String> {
        super::counts_at(target, self.counts)
    }

    fn on_template_change(&self, object: &mut Value) {
        let Some(key) = self.template_generation else { return };
        let Some(annotations) = object.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) else {
            return;
        };
        let next = annotations.get(key).and_then(Value::as_str).and_then(|g| g.parse::<u64>().ok()).map(|g| g + 1);
        if let Some(next) = next {
            annotations.insert(key.into(), Value::String(next.to_string()));
        }
    }

    /// What `kubectl rollout undo` applies: the revision's template
    /// replaces the target's, and nothing else changes.
    fn plan_undo(&self, target: &Value, history: &[&Value], wanted: u64) -> Result<UndoOutcome, UndoError> {
        let chosen = super::find_revision(self, target, history, wanted)?;
        let from = objects::name(chosen).unwrap_or("?").to_string();
        let restored = template(chosen).ok_or_else(|| UndoError::NoTemplate { history: KIND, name: from.clone() })?;
        if Some(&restored) == target.pointer("/spec/template") {
            return Ok(UndoOutcome::AlreadyCurrent { from });
        }
        Ok(UndoOutcome::Restore { updated: super::with_template(target, restored)?, from })
    }
}

/// The pod template a revision restores.
fn template(history: &Value) -> Option<Value> {
    let mut template = history.pointer("/data/spec/template")?.clone();
    template.as_object_mut()?.remove("$patch");
    Some(template)
}

fn is_ready(pod: &Value) -> bool {
    conditions(objects::at(pod, &["status", "conditions"]))
        .iter()
        .any(|c| c.kind.as_str() == "Ready" && c.status == ConditionStatus::True)
}

/// A revision name in the target's status.
pub fn status_name<'a>(target: &'a Value, field: &str) -> Option<&'a str> {
    target.get("status")?.get(field)?.as_str()
}

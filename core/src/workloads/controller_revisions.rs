//! History kept in ControllerRevisions, as StatefulSets and DaemonSets keep
//! it: each revision's `data` is `{"spec": {"template": {…, "$patch":
//! "replace"}}}`, its number is `.revision`, and the pods made from it
//! carry a `controller-revision-hash` label. The kinds differ only in that
//! label's value and in whether the status names the revision being rolled
//! out; [`Flavour`] holds those differences.

use super::{Counts, UndoError, UndoOutcome, Workload};
use crate::objects::{self, ObjectSet};
use crate::snapshot::{TreeNode, conditions};
use rewind_snapshot::{ConditionStatus, Release, Text};
use serde_json::Value;

pub const HASH_LABEL: &str = "controller-revision-hash";
const KIND: &str = "ControllerRevision";

/// A kind whose history is kept in ControllerRevisions.
pub struct Flavour {
    pub kind: &'static str,
    /// The `controller-revision-hash` value pods of a revision carry.
    pub pod_label: fn(revision: &Value, target: &Value) -> Option<String>,
    /// The revision's name the target's status says it is rolling out to,
    /// once the controller has seen the target's current generation.
    pub update_revision: fn(target: &Value) -> Option<&str>,
    /// Where the kind keeps its desired, ready, updated and available counts.
    pub counts: [&'static str; 4],
}

impl Workload for Flavour {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn history_kind(&self) -> &'static str {
        KIND
    }

    fn revision(&self, history: &Value) -> Result<Option<u64>, String> {
        revision(history)
    }

    fn releases(&self, set: &ObjectSet, tree: &[TreeNode]) -> Result<(Vec<Release<'static>>, Vec<String>), String> {
        releases(self, set, tree)
    }

    fn counts(&self, target: &Value) -> Result<Counts, String> {
        super::counts_at(target, self.counts)
    }

    fn plan_undo(&self, target: &Value, history: &[&Value], revision: u64) -> Result<UndoOutcome, UndoError> {
        plan_undo(self, target, history, revision)
    }
}

fn revision(history: &Value) -> Result<Option<u64>, String> {
    match history.get("revision") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| format!("`revision` is {v}, not a revision number")),
    }
}

/// The pod template a revision restores.
pub fn template(history: &Value) -> Option<Value> {
    let mut template = history.pointer("/data/spec/template")?.clone();
    template.as_object_mut()?.remove("$patch");
    Some(template)
}

fn same_template(history: &Value, target: &Value) -> bool {
    template(history).is_some_and(|t| Some(&t) == target.pointer("/spec/template"))
}

/// One release per ControllerRevision the target directly owns; each
/// release counts the target's pods that carry its hash label.
fn releases(
    flavour: &Flavour,
    set: &ObjectSet,
    tree: &[TreeNode],
) -> Result<(Vec<Release<'static>>, Vec<String>), String> {
    let target = set.get(tree[0].object).ok_or("target vanished")?;
    let mut releases = Vec::new();
    let mut warnings = Vec::new();
    let pods: Vec<&Value> = tree
        .iter()
        .filter(|n| n.owner == Some(0))
        .filter_map(|n| set.get(n.object))
        .filter(|v| objects::kind(v) == Some("Pod"))
        .collect();
    let update_revision = (flavour.update_revision)(target);
    for (position, node) in tree.iter().enumerate() {
        let value = set.get(node.object).ok_or("tree object vanished")?;
        if node.owner != Some(0) || objects::kind(value) != Some(KIND) {
            continue;
        }
        let name = objects::name(value).unwrap_or_default();
        let revision = match revision(value) {
            Ok(r) => r,
            Err(problem) => {
                warnings.push(format!("{KIND} {name}: {problem}; it is not offered as a release"));
                continue;
            }
        };
        let hash = (flavour.pod_label)(value, target);
        let of_release: Vec<&&Value> = pods
            .iter()
            .filter(|p| {
                hash.is_some()
                    && objects::at(p, &["metadata", "labels", HASH_LABEL]).and_then(Value::as_str) == hash.as_deref()
            })
            .collect();
        let ready = of_release
            .iter()
            .filter(|p| {
                conditions(objects::at(p, &["status", "conditions"]))
                    .iter()
                    .any(|c| c.kind.as_str() == "Ready" && c.status == ConditionStatus::True)
            })
            .count();
        let template = template(value);
        releases.push(Release {
            id: revision.map(|r| r.to_string()).unwrap_or_else(|| name.to_string()).into(),
            revision,
            object: Some(position as u32),
            pod_template_hash: hash.map(Text::from),
            images: super::images(template.as_ref()),
            created: super::created(value, KIND)?,
            replicas: of_release.len() as u32,
            ready_replicas: ready as u32,
            current: match update_revision {
                Some(update) => update == name,
                None => same_template(value, target),
            },
        });
    }
    if !releases.is_empty() && !releases.iter().any(|r| r.current) {
        warnings.push(format!(
            "no {KIND} of {} {} holds its current pod template (a trimmed or edited dump?): no release is current",
            flavour.kind,
            objects::name(target).unwrap_or_default()
        ));
    }
    super::sort_oldest_first(&mut releases);
    Ok((releases, warnings))
}

/// What `kubectl rollout undo` applies: the revision's template replaces
/// the target's, and nothing else changes.
fn plan_undo(
    workload: &dyn Workload,
    target: &Value,
    history: &[&Value],
    wanted: u64,
) -> Result<UndoOutcome, UndoError> {
    let chosen = super::find_revision(workload, target, history, wanted)?;
    let from = objects::name(chosen).unwrap_or("?").to_string();
    let restored = template(chosen).ok_or_else(|| UndoError::NoTemplate { history: KIND, name: from.clone() })?;
    if Some(&restored) == target.pointer("/spec/template") {
        return Ok(UndoOutcome::AlreadyCurrent { from });
    }
    let mut updated = target.clone();
    updated["spec"]["template"] = restored;
    Ok(UndoOutcome::Restore { updated, from })
}

/// The status field naming a revision, once `status.observedGeneration`
/// has caught up with `metadata.generation`.
pub fn observed_status_name<'a>(target: &'a Value, field: &str) -> Option<&'a str> {
    let generation = target.pointer("/metadata/generation").and_then(Value::as_i64)?;
    let observed = target.pointer("/status/observedGeneration").and_then(Value::as_i64)?;
    if observed < generation {
        return None;
    }
    target.get("status")?.get(field)?.as_str()
}

//! What each workload kind means to rewind: where its history lives, which
//! release is current, how its pods are counted, and what rolling it back
//! to a revision changes. One file per kind; the snapshot builder, the
//! action validator, the executors and the cluster edge ask [`of`] and
//! never name a kind themselves.

mod claim;
mod controller_revisions;
pub mod daemonset;
pub mod deployment;
pub mod statefulset;

use crate::objects::{self, ObjectId, ObjectKey, ObjectSet};
use crate::tree::TreeNode;
pub use claim::selects;
use rewind_snapshot::Release;
use serde_json::Value;
use std::collections::HashSet;

/// The replica counts a snapshot's target carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub desired: Option<u32>,
    pub ready: Option<u32>,
    pub updated: Option<u32>,
    pub available: Option<u32>,
}

/// What rolling back to a revision does to the workload as it is now.
#[derive(Clone, Debug, PartialEq)]
pub enum UndoOutcome {
    /// The workload becomes `updated` (its whole object, as `kubectl rollout
    /// undo` leaves it), restored from the history object `from`.
    Restore { updated: Value, from: String },
    /// The revision's template is already the workload's: nothing to do.
    AlreadyCurrent { from: String },
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UndoError {
    #[error("{kind} {name} is paused; resume it before rolling back")]
    Paused { kind: &'static str, name: String },
    #[error("{kind} {name} has no {history} with revision {revision} (known revisions: {known})")]
    RevisionNotFound { kind: &'static str, name: String, history: &'static str, revision: u64, known: String },
    #[error("{0}")]
    AmbiguousHistory(String),
    #[error("{history} {name} has no pod template")]
    NoTemplate { history: &'static str, name: String },
    #[error("{kind} {name} has no `spec` object to restore a template into")]
    NoSpec { kind: String, name: String },
}

/// One workload kind.
pub trait Workload: Sync {
    /// Its kind.
    fn kind(&self) -> &'static str;

    /// The API groups that have served it (`extensions/v1beta1` served
    /// Deployments and DaemonSets until Kubernetes 1.16; old dumps still
    /// carry it).
    fn groups(&self) -> &'static [&'static str] {
        &["apps"]
    }

    /// The API group and version it is served in (older dumps may carry
    /// another of [`Workload::groups`]).
    fn group_version(&self) -> (&'static str, &'static str) {
        ("apps", "v1")
    }

    /// The kind of the objects that hold its history (`ReplicaSet`,
    /// `ControllerRevision`).
    fn history_kind(&self) -> &'static str;

    /// The API group and version its history objects are served in.
    fn history_group_version(&self) -> (&'static str, &'static str) {
        ("apps", "v1")
    }

    /// The revision a history object carries.
    fn revision(&self, history: &Value) -> Result<Option<u64>, String>;

    /// Whether its controller counts only history objects its selector
    /// matches (the Deployment controller's rule for ReplicaSets).
    fn selects_history(&self) -> bool {
        false
    }

    /// The condition types its controller writes, which nothing else may.
    fn controller_conditions(&self) -> &'static [&'static str] {
        &[]
    }

    /// The releases of the target at `tree[0]`, oldest first, with warnings
    /// about history objects left out.
    fn releases(&self, set: &ObjectSet, tree: &[TreeNode]) -> Result<(Vec<Release<'static>>, Vec<String>), String>;

    fn counts(&self, target: &Value) -> Result<Counts, String>;

    fn is_paused(&self, _target: &Value) -> bool {
        false
    }

    /// Pods that are the target's although its ownership tree does not
    /// reach them (a dump that lacks their owner), with a warning each.
    fn adopt_pods(&self, _set: &ObjectSet, _target: &Value, _tree: &mut Vec<TreeNode>, _warnings: &mut Vec<String>) {}

    /// What the API server itself writes when the workload's pod template
    /// changes, beyond `metadata.generation` (the in-memory executor
    /// applies it, so an offline run ends where a cluster would).
    fn on_template_change(&self, _object: &mut Value) {}

    /// Plans `kubectl rollout undo --to-revision=<revision>` on `target`,
    /// choosing among `history` (the history objects it owns).
    fn plan_undo(&self, target: &Value, history: &[&Value], revision: u64) -> Result<UndoOutcome, UndoError>;
}

const KINDS: [&dyn Workload; 3] = [&deployment::Deployment, &statefulset::STATEFUL_SET, &daemonset::DAEMON_SET];

/// Every workload kind rewind knows.
pub fn all() -> impl Iterator<Item = &'static dyn Workload> {
    KINDS.into_iter()
}

/// The workload kind of an object key, if rewind knows it.
pub fn of(key: &ObjectKey) -> Option<&'static dyn Workload> {
    of_kind(key.group(), &key.kind)
}

/// The workload kind of an object, if rewind knows it.
pub fn of_value(object: &Value) -> Option<&'static dyn Workload> {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    of_kind(objects::group_of(api_version), objects::kind(object)?)
}

fn of_kind(group: &str, kind: &str) -> Option<&'static dyn Workload> {
    all().find(|w| w.kind() == kind && w.groups().contains(&group))
}

/// Whether a RolloutPolicy may target kind `kind` of `api_version`.
/// rewind's own kinds never are: a policy aimed at a RolloutDecision could
/// rewrite another team's decisions and flap-guard history.
pub fn targetable(api_version: &str, kind: &str) -> Result<(), String> {
    let group = objects::group_of(api_version);
    if group == "rewind.dev" || group.ends_with(".rewind.dev") {
        return Err(format!("{kind} ({api_version}) is one of rewind's own kinds, which are never a policy's target"));
    }
    Ok(())
}

/// The kinds rewind rolls back, for messages: `Deployment, StatefulSet, DaemonSet`.
pub fn names() -> String {
    all().map(|w| w.kind()).collect::<Vec<_>>().join(", ")
}

/// The history objects among `candidates` that `target`'s controller
/// counts as its own ([`claim`]), in its namespace: what `kubectl rollout
/// undo` chooses a revision from.
pub fn owned_history<'a>(
    workload: &dyn Workload,
    target: &Value,
    candidates: impl IntoIterator<Item = &'a Value>,
) -> Vec<&'a Value> {
    candidates
        .into_iter()
        .filter(|v| {
            objects::kind(v) == Some(workload.history_kind())
                && objects::namespace(v) == objects::namespace(target)
                && claim::not_claimed(workload, target, v).is_none()
        })
        .collect()
}

/// Two history objects claiming one revision make the history ambiguous:
/// which one a rollback restores must never depend on their order.
fn duplicated_revision<'a>(
    workload: &dyn Workload,
    target: &Value,
    numbered: impl IntoIterator<Item = (Option<u64>, &'a str)>,
) -> Result<(), String> {
    let mut seen: Vec<(u64, &str)> = Vec::new();
    for (revision, name) in numbered {
        let Some(revision) = revision else { continue };
        if let Some((_, first)) = seen.iter().find(|(r, _)| *r == revision) {
            return Err(format!(
                "{history}s {first} and {name} of {kind} {target_name} both carry revision {revision}: the history \
                 is ambiguous, so no release is offered until one of them is removed",
                history = workload.history_kind(),
                kind = workload.kind(),
                target_name = objects::name(target).unwrap_or("?"),
            ));
        }
        seen.push((revision, name));
    }
    Ok(())
}

/// The history object with `revision` among `history`, or the error naming
/// the revisions there are.
fn find_revision<'a>(
    workload: &dyn Workload,
    target: &Value,
    history: &[&'a Value],
    revision: u64,
) -> Result<&'a Value, UndoError> {
    let numbered = history.iter().map(|h| (workload.revision(h).ok().flatten(), objects::name(h).unwrap_or("?")));
    duplicated_revision(workload, target, numbered).map_err(UndoError::AmbiguousHistory)?;
    if let Some(found) = history.iter().find(|h| workload.revision(h).ok().flatten() == Some(revision)) {
        return Ok(found);
    }
    let mut known: Vec<u64> = history.iter().filter_map(|h| workload.revision(h).ok().flatten()).collect();
    known.sort_unstable();
    let known = known.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    Err(UndoError::RevisionNotFound {
        kind: workload.kind(),
        name: objects::name(target).unwrap_or("?").to_string(),
        history: workload.history_kind(),
        revision,
        known: if known.is_empty() { "none".into() } else { known },
    })
}

/// A count field of the target's status or spec, if present.
fn count_at(target: &Value, pointer: &str) -> Result<Option<u32>, String> {
    match target.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{pointer} is {v}, not a replica count")),
    }
}

/// Counts read from the four fields a kind keeps them in.
fn counts_at(target: &Value, [desired, ready, updated, available]: [&str; 4]) -> Result<Counts, String> {
    Ok(Counts {
        desired: count_at(target, desired)?,
        ready: count_at(target, ready)?,
        updated: count_at(target, updated)?,
        available: count_at(target, available)?,
    })
}

/// The ids the tree already holds, for adopting only what it lacks.
fn in_tree(tree: &[TreeNode]) -> HashSet<ObjectId> {
    tree.iter().map(|n| n.object).collect()
}

/// Whether the workload's controller has seen its latest spec: before, its
/// status (and the revision it names) describes the spec before.
fn observed_latest(target: &Value) -> bool {
    let generation = target.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = target.pointer("/status/observedGeneration").and_then(Value::as_i64);
    matches!((generation, observed), (Some(generation), Some(observed)) if observed >= generation)
}

/// A history object the target directly owns, with its tree position and
/// revision.
struct HistoryEntry<'s> {
    position: usize,
    value: &'s Value,
    name: &'s str,
    revision: Option<u64>,
}

/// The history objects of `workload` the target (`tree[0]`) directly owns
/// and its controller counts ([`claim`]). One it does not count, or whose
/// revision is not a number, is left out with a warning; two with one
/// revision are an error.
fn history_entries<'s>(
    workload: &dyn Workload,
    set: &'s ObjectSet,
    tree: &[TreeNode],
    warnings: &mut Vec<String>,
) -> Result<Vec<HistoryEntry<'s>>, String> {
    let history_kind = workload.history_kind();
    let target = set.get(tree[0].object).ok_or("the target is not in the object set")?;
    let mut entries = Vec::new();
    for (position, node) in tree.iter().enumerate() {
        let Some(value) = set.get(node.object) else { continue };
        if node.owner != Some(0) || objects::kind(value) != Some(history_kind) {
            continue;
        }
        let name = objects::name(value).unwrap_or_default();
        if let Some(why) = claim::not_claimed(workload, target, value) {
            warnings.push(format!("{history_kind} {name} is not counted by the {}: {why}", workload.kind()));
            continue;
        }
        match workload.revision(value) {
            Ok(revision) => entries.push(HistoryEntry { position, value, name, revision }),
            Err(problem) => warnings.push(format!("{history_kind} {name}: {problem}; it is not offered as a release")),
        }
    }
    duplicated_revision(workload, target, entries.iter().map(|e| (e.revision, e.name)))?;
    Ok(entries)
}

/// `target` with `template` as its pod template, or why it cannot take one.
fn with_template(target: &Value, template: Value) -> Result<Value, UndoError> {
    let mut updated = target.clone();
    match updated.get_mut("spec").and_then(Value::as_object_mut) {
        Some(spec) => {
            spec.insert("template".into(), template);
            Ok(updated)
        }
        None => Err(UndoError::NoSpec {
            kind: objects::kind(target).unwrap_or("?").to_string(),
            name: objects::name(target).unwrap_or("?").to_string(),
        }),
    }
}

/// The creation time of a history object, named in errors.
fn created(value: &Value, history_kind: &str) -> Result<Option<i64>, String> {
    objects::at(value, &["metadata", "creationTimestamp"])
        .and_then(Value::as_str)
        .map(|t| {
            crate::time::parse(t).map_err(|e| {
                format!("{history_kind} {}: /metadata/creationTimestamp: {e}", objects::name(value).unwrap_or_default())
            })
        })
        .transpose()
}

/// The images of a pod template's app containers.
fn images(template: Option<&Value>) -> Vec<rewind_snapshot::Text<'static>> {
    template
        .and_then(|t| objects::at(t, &["spec", "containers"]))
        .and_then(Value::as_array)
        .map(|containers| {
            containers.iter().filter_map(|c| c.get("image")?.as_str()).map(rewind_snapshot::Text::copied).collect()
        })
        .unwrap_or_default()
}

/// Unnumbered history objects (none in a healthy cluster) sort first, as
/// the oldest: nothing should prefer them as "the previous revision".
fn sort_oldest_first(releases: &mut [Release<'static>]) {
    releases.sort_by_key(|r| (r.revision.is_some(), r.revision));
}

#[cfg(test)]
mod tests;

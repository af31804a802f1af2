//! Builds the snapshot a policy sees from plain objects. Pure: no cluster
//! access, no Wasm; the offline path and the controller share it.

pub mod metrics;

use crate::Snapshot;
use crate::objects::{self, ObjectId, ObjectKey, ObjectSet};
use crate::pods::{self, conditions};
use crate::tree::TreeNode;
use crate::workloads::{self, Counts};
use rewind_snapshot::{ObjectInfo, Pod, Target, Text};
use serde_json::Value;

// Defined in `tree`, below the snapshot and the workloads; the host names it
// `snapshot::ownership_tree`.
pub use crate::tree::ownership_tree;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("target {0}: {1}")]
    BadTarget(String, String),
    #[error("{kind} {name} ({origin}): {problem}")]
    BadObject { kind: String, name: String, origin: String, problem: String },
}

/// The mark a rollback leaves on its target, naming the release it rolled
/// back from ([`crate::actions::validate_actions`] lets a policy set it only
/// so): its pods may be replaced afterwards without a grant.
pub const ROLLED_BACK_FROM: &str = "rewind.dev/rolled-back-from";

/// A snapshot and what the host needs to answer for it: which object of the
/// set each `snapshot.objects` entry is, and problems worth reporting.
#[derive(Clone, Debug)]
pub struct BuiltSnapshot {
    pub snapshot: Snapshot,
    /// `tree[i].object` is the set's id of `snapshot.objects[i]`.
    pub tree: Vec<TreeNode>,
    pub warnings: Vec<String>,
}

impl BuiltSnapshot {
    /// The keys of every object in the tree, target first.
    pub fn tree_keys(&self, set: &ObjectSet) -> Vec<ObjectKey> {
        self.tree.iter().filter_map(|n| set.get(n.object).and_then(ObjectKey::of)).collect()
    }

    /// The pods a policy may delete without a grant: pods of the failed
    /// release. With a rollback to `rolled_back_to` in the evaluation, every
    /// pod of a release other than the one restored; otherwise pods of
    /// releases other than the current one that are not Ready, and every
    /// pod of the release the target's [`ROLLED_BACK_FROM`] mark names (an
    /// `OnDelete` workload keeps them until deleted). A pod of no known
    /// release is not among them; with no release staying, none is.
    pub fn replaceable_pods(&self, set: &ObjectSet, rolled_back_to: Option<u64>) -> Vec<ObjectKey> {
        let releases = &self.snapshot.releases;
        let staying = match rolled_back_to {
            Some(revision) => releases.iter().position(|r| r.revision == Some(revision)),
            None => releases.iter().position(|r| r.current),
        };
        let Some(staying) = staying else { return Vec::new() };
        let marked = self.snapshot.target_annotation(ROLLED_BACK_FROM);
        let key = |object: u32| {
            let node = self.tree.get(object as usize)?;
            set.get(node.object).and_then(ObjectKey::of)
        };
        let ready = |pod: &Pod| {
            pod.conditions.iter().any(|c| c.kind == "Ready" && c.status == rewind_snapshot::ConditionStatus::True)
        };
        releases
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != staying)
            .flat_map(|(_, release)| {
                let whole = rolled_back_to.is_some() || marked == Some(release.id.as_str());
                self.snapshot.pods_of(release).filter(move |pod| whole || !ready(pod))
            })
            .filter_map(|pod| key(pod.object))
            .collect()
    }
}

/// What the snapshot holds of one object, made once per version of it: a
/// watch cache keeps these, so a snapshot of its objects copies them rather
/// than reading each object's JSON again.
#[derive(Clone, Debug)]
pub struct ObjectViews {
    /// Without its owner (a tree position).
    pub info: ObjectInfo<'static>,
    /// For a pod, its view (object index 0); none when it cannot be read,
    /// so the snapshot reads it again and names the problem.
    pub pod: Option<Pod<'static>>,
}

impl ObjectViews {
    pub fn of(value: &Value) -> ObjectViews {
        let pod = (objects::kind(value) == Some("Pod")).then(|| pods::pod_view(value, 0).ok()).flatten();
        ObjectViews { info: object_info(value, None), pod }
    }
}

/// Views made before, of the very versions of the objects a set holds.
pub trait KnownViews {
    fn of(&self, value: &Value) -> Option<&ObjectViews>;
}

/// No views known: everything is read from the objects.
pub struct NoViews;

impl KnownViews for NoViews {
    fn of(&self, _: &Value) -> Option<&ObjectViews> {
        None
    }
}

/// Builds the snapshot of `target` at time `now` (epoch seconds), with the
/// policy's settings as a JSON document.
pub fn build(set: &ObjectSet, target: ObjectId, now: i64, settings: &str) -> Result<BuiltSnapshot, SnapshotError> {
    build_with(set, target, now, settings, &NoViews)
}

/// [`build`], copying the views `known` holds for objects of the set.
pub fn build_with(
    set: &ObjectSet,
    target: ObjectId,
    now: i64,
    settings: &str,
    known: &dyn KnownViews,
) -> Result<BuiltSnapshot, SnapshotError> {
    let target_value = set.get(target).expect("target id comes from this set");
    let target_name = ObjectKey::of(target_value).map_or_else(|| "?".to_string(), |k| k.to_string());
    let mut warnings = Vec::new();
    // Fixtures and pasted objects often lose their uid; the target can still
    // be judged from its own fields.
    if objects::uid(target_value).is_none() {
        warnings.push(format!(
            "target {target_name} has no metadata.uid: the objects it owns cannot be found through their \
             ownerReferences, so it is judged from its own fields (and, for a Deployment, pods that carry its \
             selector)"
        ));
    }
    let workload = workloads::of_value(target_value);
    let mut tree = ownership_tree(set, target);
    if let Some(workload) = workload {
        workload.adopt_pods(set, target_value, &mut tree, &mut warnings);
    }

    let mut infos = Vec::with_capacity(tree.len());
    let mut pods = Vec::new();
    for (position, node) in tree.iter().enumerate() {
        let value = set.get(node.object).expect("tree ids come from this set");
        let views = known.of(value);
        let owner = node.owner.map(|o| o as u32);
        infos.push(match views {
            Some(views) => ObjectInfo { owner, ..views.info.clone() },
            None => object_info(value, node.owner),
        });
        if objects::kind(value) == Some("Pod") && position != 0 {
            let pod = match views.and_then(|v| v.pod.as_ref()) {
                Some(pod) => Pod { object: position as u32, ..pod.clone() },
                None => {
                    pods::pod_view(value, position as u32).map_err(|problem| bad_object(set, node.object, problem))?
                }
            };
            if pod.created.is_none()
                && pod.started.is_none()
                && pod.conditions.iter().all(|c| c.last_transition.is_none())
            {
                warnings.push(format!(
                    "Pod {}: no creationTimestamp, startTime or condition time, so how long its state has lasted is \
                     unknown (a time-limited rule takes it as just begun)",
                    objects::name(value).unwrap_or_default()
                ));
            }
            pods.push(pod);
        }
    }

    let releases = match workload {
        Some(workload) => {
            let (releases, release_warnings) =
                workload.releases(set, &tree).map_err(|p| SnapshotError::BadTarget(target_name.clone(), p))?;
            warnings.extend(release_warnings);
            releases
        }
        None => Vec::new(),
    };

    let metrics =
        metrics::recorded_for(set, target_value).map_err(|p| SnapshotError::BadTarget(target_name.clone(), p))?;
    Ok(BuiltSnapshot {
        snapshot: Snapshot {
            now,
            target: target_view(target_value, workload).map_err(|p| SnapshotError::BadTarget(target_name, p))?,
            objects: infos,
            pods,
            settings: Text::copied(settings),
            metrics,
            gitops: crate::gitops::section(set, target_value, &crate::gitops::ArgoCdTracking::default()),
            configuration: crate::configuration::section(set, &tree, &releases),
            application: None,
            releases,
        },
        tree,
        warnings,
    })
}

fn bad_object(set: &ObjectSet, id: ObjectId, problem: String) -> SnapshotError {
    let value = set.get(id);
    SnapshotError::BadObject {
        kind: value.and_then(objects::kind).unwrap_or("?").to_string(),
        name: value.and_then(objects::name).unwrap_or("?").to_string(),
        origin: set.origin(id).to_string(),
        problem,
    }
}

fn object_info(value: &Value, owner: Option<usize>) -> ObjectInfo<'static> {
    let text = |field: &str| Text::copied(value.get(field).and_then(Value::as_str).unwrap_or_default());
    ObjectInfo {
        api_version: text("apiVersion"),
        kind: text("kind"),
        name: Text::copied(objects::name(value).unwrap_or_default()),
        uid: Text::copied(objects::uid(value).unwrap_or_default()),
        labels: objects::string_map(value, "labels"),
        annotations: objects::string_map(value, "annotations"),
        owner: owner.map(|o| o as u32),
    }
}

/// The target's typed view. Fields are read from JSON, not a typed struct,
/// because the target may be any kind, custom resources included; a kind
/// rewind knows says where it keeps its counts, any other is read where
/// Deployments keep them.
fn target_view(value: &Value, workload: Option<&dyn workloads::Workload>) -> Result<Target<'static>, String> {
    let text = |field: &str| Text::copied(value.get(field).and_then(Value::as_str).unwrap_or_default());
    let workload = workload.unwrap_or(&workloads::deployment::Deployment);
    let counts = workload.counts(value)?;
    let Counts { desired, ready, updated, available } = counts;
    Ok(Target {
        api_version: text("apiVersion"),
        kind: text("kind"),
        namespace: Text::copied(objects::namespace(value).unwrap_or_default()),
        name: Text::copied(objects::name(value).unwrap_or_default()),
        uid: Text::copied(objects::uid(value).unwrap_or_default()),
        generation: value.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0),
        observed_generation: value.pointer("/status/observedGeneration").and_then(Value::as_i64),
        labels: objects::string_map(value, "labels"),
        annotations: objects::string_map(value, "annotations"),
        conditions: conditions(objects::at(value, &["status", "conditions"])),
        paused: workload.is_paused(value),
        desired_replicas: desired,
        ready_replicas: ready,
        updated_replicas: updated,
        available_replicas: available,
    })
}

#[cfg(test)]
mod tests;

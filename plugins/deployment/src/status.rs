//! What a workload's own status says about its rollout, read the way
//! `kubectl rollout status` reads it: the controller must have observed the
//! latest generation, then every replica the rollout replaces must be
//! updated, and every replica available.

use crate::workload::{Kind, Strategy};
use rewind_sdk::{Finding, Pod, Snapshot, classify};

fn waiting(reason: &str, message: String) -> Finding {
    Finding { reason: reason.into(), message, pod: None, container: None, since: None }
}

/// What the evaluation knows of the rollout beside the target's status.
pub struct Rollout<'r, 's, 'a> {
    /// Whether a release of the dump holds the target's template.
    pub has_current: bool,
    /// Replicas of older releases still running ([`old_replicas`]).
    pub old: u32,
    /// The pods of the release being rolled out.
    pub pods: &'r [&'s Pod<'a>],
}

/// What the rollout still waits for, or none when the status says it is
/// complete.
pub fn waiting_for(snapshot: &Snapshot, kind: Kind, strategy: &Strategy, rollout: &Rollout) -> Option<Finding> {
    let unfinished = rollout_unfinished(snapshot, kind, strategy, rollout)?;
    if !snapshot.target.paused {
        return Some(unfinished);
    }
    let message = format!("paused with its rollout unfinished (resume it to go on): {}", unfinished.message);
    Some(waiting("Paused", message))
}

fn rollout_unfinished(snapshot: &Snapshot, workload: Kind, strategy: &Strategy, rollout: &Rollout) -> Option<Finding> {
    let target = &snapshot.target;
    let name = &target.name;
    let kind = workload.name();
    let reported = target.observed_generation.is_some()
        || !target.conditions.is_empty()
        || target.updated_replicas.is_some()
        || target.available_replicas.is_some();
    if !reported {
        let message = format!("{kind} {name} has no status yet: its controller has not reported on it");
        return Some(waiting("GenerationNotObserved", message));
    }
    // A status without observedGeneration (trimmed fixtures) cannot be
    // compared with the spec's generation; its counts still tell.
    match target.observed_generation {
        Some(observed) if observed < target.generation => {
            let message = format!(
                "waiting for the {kind} controller to observe generation {} of {name} (it has observed {observed})",
                target.generation
            );
            return Some(waiting("GenerationNotObserved", message));
        }
        _ => {}
    }
    if !rollout.has_current && !snapshot.releases.is_empty() {
        let history = workload.history();
        let message = format!("no {history} of {kind} {name} holds its pod template yet; waiting for the new one");
        let reason = if workload == Kind::Deployment { "NewReplicaSetPending" } else { "NewRevisionPending" };
        return Some(waiting(reason, message));
    }
    let desired = target.desired_replicas.unwrap_or(1);
    let updated = target.updated_replicas.unwrap_or(0);
    // Pods below a StatefulSet's partition stay at the old revision, and an
    // OnDelete strategy updates none on its own.
    let to_update = desired.saturating_sub(strategy.partition);
    if updated < to_update && !strategy.on_delete {
        let message = format!("{updated} of {desired} replicas of {name} updated; waiting for the rest");
        return Some(waiting("ReplicasUpdating", message));
    }
    let serving = serving_replicas(snapshot, workload, rollout.pods);
    if serving.count < desired {
        let message =
            format!("{} of {desired} replicas of {name} {}; waiting for the rest", serving.count, serving.counted_as);
        return Some(waiting("ReplicasUnavailable", message));
    }
    let old = rollout.old;
    if old > 0 {
        let message = format!("{old} old replicas of {name} are pending termination");
        return Some(waiting("OldReplicasPending", message));
    }
    None
}

/// How many replicas serve, and what the number counts.
struct Serving {
    count: u32,
    counted_as: &'static str,
}

/// The replicas that serve, by the count the status has. A Deployment's and
/// a DaemonSet's status leave a zero count out (`omitempty`), so there a
/// missing count is zero. A StatefulSet's `availableReplicas` is always
/// written since Kubernetes 1.22 and never before: its absence says the
/// cluster is older, not that nothing is available, so the count falls
/// back to what such a status does say, `readyReplicas` (as `kubectl
/// rollout status` reads a StatefulSet), and to the rollout's Ready pods
/// when the dump's status has neither.
fn serving_replicas(snapshot: &Snapshot, kind: Kind, pods: &[&Pod]) -> Serving {
    let target = &snapshot.target;
    let available = |count| Serving { count, counted_as: "available" };
    match (kind, target.available_replicas, target.ready_replicas) {
        (_, Some(count), _) => available(count),
        (Kind::StatefulSet, None, Some(count)) => {
            Serving { count, counted_as: "ready (the status has no availableReplicas, as before Kubernetes 1.22)" }
        }
        (Kind::StatefulSet, None, None) if !pods.is_empty() => Serving {
            count: pods.iter().filter(|pod| classify::is_ready(pod)).count() as u32,
            counted_as: "with a Ready pod (the status counts neither available nor ready replicas)",
        },
        _ => available(0),
    }
}

/// A Deployment's replicas of older revisions still running: from the older
/// ReplicaSets when the dump has them, else from the Deployment's own
/// `status.replicas` beyond its updated ones (read from the raw object:
/// once per evaluation). Other kinds keep older pods by design (a
/// partition, OnDelete) or count them in `updated` already: none.
pub fn old_replicas(snapshot: &Snapshot, kind: Kind) -> u32 {
    if kind != Kind::Deployment {
        return 0;
    }
    if !snapshot.releases.is_empty() {
        return snapshot.releases.iter().filter(|r| !r.current).map(|r| r.replicas).sum();
    }
    let total = rewind_sdk::view::raw_object(0)
        .and_then(|raw| raw.pointer("/status/replicas").and_then(serde_json::Value::as_u64))
        .map_or(0, |n| n.min(u32::MAX as u64) as u32);
    total.saturating_sub(snapshot.target.updated_replicas.unwrap_or(0))
}

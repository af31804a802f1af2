//! What a workload's own status says about its rollout, read the way
//! `kubectl rollout status` reads it: the controller must have observed the
//! latest generation, then every replica the rollout replaces must be
//! updated, and every replica available.

use crate::workload::{Kind, Strategy};
use rewind_sdk::{Finding, Snapshot};

fn waiting(reason: &str, message: String) -> Finding {
    Finding { reason: reason.into(), message, pod: None, container: None, since: None }
}

/// What the rollout still waits for, or none when the status says it is
/// complete. `has_current` tells whether a ReplicaSet of the dump matches
/// the Deployment's template; `old` is [`old_replicas`].
pub fn waiting_for(
    snapshot: &Snapshot,
    kind: Kind,
    strategy: &Strategy,
    has_current: bool,
    old: u32,
) -> Option<Finding> {
    let unfinished = rollout_unfinished(snapshot, kind, strategy, has_current, old)?;
    if !snapshot.target.paused {
        return Some(unfinished);
    }
    let message = format!("paused with its rollout unfinished (resume it to go on): {}", unfinished.message);
    Some(waiting("Paused", message))
}

fn rollout_unfinished(
    snapshot: &Snapshot,
    workload: Kind,
    strategy: &Strategy,
    has_current: bool,
    old: u32,
) -> Option<Finding> {
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
    if !has_current && !snapshot.releases.is_empty() {
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
    let available = target.available_replicas.unwrap_or(0);
    if available < desired {
        let message = format!("{available} of {desired} replicas of {name} available; waiting for the rest");
        return Some(waiting("ReplicasUnavailable", message));
    }
    if old > 0 {
        let message = format!("{old} old replicas of {name} are pending termination");
        return Some(waiting("OldReplicasPending", message));
    }
    None
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

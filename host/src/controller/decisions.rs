//! One RolloutDecision per covered workload, in the workload's namespace and
//! owned by the RolloutPolicy that decided (so it goes when the policy
//! goes). A decision is written only when it changes; its flap-guard
//! history is read back from it, so it survives restarts and leader
//! changes.
//!
//! This process's own writes are remembered: the watch cache may not have
//! seen the latest yet, and the flap guard must never count from an older
//! decision than the one just written.

use super::cache::Cache;
use super::crd::{DecisionCounts, RolloutDecision, RolloutDecisionSpec, RolloutPolicy, WorkloadRef, WorkloadStatus};
use crate::objects::ObjectKey;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

pub const GROUP: &str = "rewind.dev";
pub const KIND: &str = "RolloutDecision";

/// The decision object's name: the workload's kind and name, shortened with
/// a hash of the whole when that would pass the 253 characters a name may
/// have.
pub fn decision_name(kind: &str, name: &str) -> String {
    let full = format!("{}-{name}", kind.to_lowercase());
    if full.len() <= 253 {
        return full;
    }
    let hash = crate::distribution::sha256_hex(full.as_bytes());
    format!("{}-{}", &full[..240], &hash[..12])
}

#[derive(Default)]
pub struct Decisions {
    /// Workload → (policy, decision), as this process last wrote it.
    written: Mutex<HashMap<ObjectKey, (String, WorkloadStatus)>>,
}

/// The decision without the time it was made: what decides whether it
/// changed.
fn substance(decision: &WorkloadStatus) -> WorkloadStatus {
    WorkloadStatus { time: String::new(), ..decision.clone() }
}

fn from_cache(value: &Value) -> Option<(String, WorkloadStatus)> {
    let spec: RolloutDecisionSpec = serde_json::from_value(value.get("spec")?.clone()).ok()?;
    Some((spec.policy, spec.decision))
}

impl Decisions {
    /// The last decision about `workload`, as this process wrote it or as
    /// the API server holds it.
    pub fn previous(&self, workload: &ObjectKey, cache: &Cache) -> Option<WorkloadStatus> {
        if let Some((_, decision)) = self.written.lock().expect("decisions lock").get(workload) {
            return Some(decision.clone());
        }
        let namespace = workload.namespace.as_deref()?;
        let stored = cache.get(GROUP, KIND, namespace, &decision_name(&workload.kind, &workload.name))?;
        from_cache(&stored).map(|(_, decision)| decision)
    }

    /// Writes `decision` unless it is the one already recorded; a decision
    /// that holds keeps the time it was first made. Returns whether it wrote.
    pub async fn record(
        &self,
        client: &Client,
        rp: &RolloutPolicy,
        workload: &ObjectKey,
        mut decision: WorkloadStatus,
        cache: &Cache,
    ) -> Result<bool, kube::Error> {
        let previous = self.previous(workload, cache);
        if let Some(previous) = &previous
            && substance(previous) == substance(&decision)
        {
            return Ok(false);
        }
        if let Some(previous) = previous.filter(|p| p.state == decision.state && p.release == decision.release) {
            decision.time = previous.time;
        }
        let namespace = workload.namespace.clone().unwrap_or_default();
        let name = decision_name(&workload.kind, &workload.name);
        let spec = RolloutDecisionSpec {
            policy: rp.name_any(),
            workload: WorkloadRef {
                api_version: workload.api_version.clone(),
                kind: workload.kind.clone(),
                name: workload.name.clone(),
            },
            decision: decision.clone(),
        };
        let mut object = RolloutDecision::new(&name, spec);
        object.metadata.namespace = Some(namespace.clone());
        object.metadata.owner_references = rp.controller_owner_ref(&()).map(|owner| vec![owner]);
        let api: Api<RolloutDecision> = Api::namespaced(client.clone(), &namespace);
        api.patch(&name, &PatchParams::apply("rewind").force(), &Patch::Apply(&object)).await?;
        self.written.lock().expect("decisions lock").insert(workload.clone(), (rp.name_any(), decision));
        Ok(true)
    }

    /// Deletes the decision about a workload no policy covers any more.
    pub async fn forget(&self, client: &Client, workload: &ObjectKey, cache: &Cache) -> Result<(), kube::Error> {
        let namespace = workload.namespace.clone().unwrap_or_default();
        let name = decision_name(&workload.kind, &workload.name);
        let known = self.written.lock().expect("decisions lock").remove(workload).is_some();
        if !known && cache.get(GROUP, KIND, &namespace, &name).is_none() {
            return Ok(());
        }
        let api: Api<RolloutDecision> = Api::namespaced(client.clone(), &namespace);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// How the workloads `policy` decided about are, by state.
    pub fn counts(&self, namespace: &str, policy: &str, cache: &Cache) -> DecisionCounts {
        let mut latest: HashMap<String, WorkloadStatus> = HashMap::new();
        for stored in cache.list(GROUP, KIND, namespace) {
            if let Some((owner, decision)) = from_cache(&stored)
                && owner == policy
                && let Some(name) = stored.pointer("/metadata/name").and_then(Value::as_str)
            {
                latest.insert(name.to_string(), decision);
            }
        }
        for (workload, (owner, decision)) in self.written.lock().expect("decisions lock").iter() {
            if owner == policy && workload.namespace.as_deref() == Some(namespace) {
                latest.insert(decision_name(&workload.kind, &workload.name), decision.clone());
            }
        }
        let mut counts = DecisionCounts::default();
        for decision in latest.values() {
            counts.workloads += 1;
            match decision.state.as_deref() {
                Some("healthy") => counts.healthy += 1,
                Some("progressing") => counts.progressing += 1,
                Some("failed") => counts.failed += 1,
                _ => {}
            }
            counts.errors += u32::from(!decision.errors.is_empty());
            counts.flap_guard_tripped += u32::from(decision.flap_guard_tripped);
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_bounded_however_long_the_workload_name() {
        assert_eq!(decision_name("StatefulSet", "web"), "statefulset-web");
        let long = "a".repeat(253);
        let name = decision_name("Deployment", &long);
        assert_eq!(name.len(), 253);
        assert_ne!(name, decision_name("Deployment", &"a".repeat(252)));
    }
}

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
use crate::objects::{self, ObjectKey};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Client, Resource, ResourceExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const GROUP: &str = "rewind.dev";
pub const KIND: &str = "RolloutDecision";

/// The decision object's name: the workload's kind (with its API group,
/// outside the built-in groups, so two custom kinds of one name never share
/// a decision) and name, shortened with a hash of the whole when that would
/// pass the 253 characters a name may have.
pub fn decision_name(workload: &ObjectKey) -> String {
    let kind = workload.kind.to_lowercase();
    let full = match workload.group() {
        "" | "apps" | "extensions" => format!("{kind}-{}", workload.name),
        group => format!("{kind}.{group}-{}", workload.name),
    };
    if full.len() <= 253 {
        return full;
    }
    let hash = crate::distribution::sha256_hex(full.as_bytes());
    format!("{}-{}", full[..240].trim_end_matches(['.', '-']), &hash[..12])
}

/// How long this process trusts its own write over a watch cache that does
/// not show it: past this, the decision object was deleted (by the garbage
/// collector, or by someone resetting the flap guard) and is written again.
const OWN_WRITE_LAG: Duration = Duration::from_secs(10);

struct Written {
    policy: String,
    decision: WorkloadStatus,
    at: Instant,
}

#[derive(Default)]
pub struct Decisions {
    /// Workload → the decision this process last wrote about it.
    written: Mutex<HashMap<ObjectKey, Written>>,
}

/// The decision without the time it was made: what decides whether it
/// changed.
/// What a decision says, for telling whether it changed: not when, and
/// not the numbers in its findings' messages (a metric's latest value moves
/// every step while the decision holds).
fn substance(decision: &WorkloadStatus) -> WorkloadStatus {
    let messages = decision.finding_messages.iter().map(|m| without_numbers(m)).collect();
    WorkloadStatus { time: String::new(), finding_messages: messages, ..decision.clone() }
}

fn without_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        let part_of_number = c.is_ascii_digit() || (in_number && matches!(c, '.' | 'e' | '-' | '+'));
        if !part_of_number {
            out.push(c);
        } else if !in_number {
            out.push('#');
        }
        in_number = part_of_number;
    }
    out
}

/// The policy and decision a stored RolloutDecision holds, if it is about
/// `workload`.
fn from_cache(value: &Value, workload: Option<&ObjectKey>) -> Option<(String, WorkloadStatus)> {
    let spec: RolloutDecisionSpec = serde_json::from_value(value.get("spec")?.clone()).ok()?;
    if let Some(workload) = workload {
        let about = &spec.workload;
        let same = about.kind == workload.kind
            && about.name == workload.name
            && objects::group_of(&about.api_version) == workload.group();
        if !same {
            return None;
        }
    }
    Some((spec.policy, spec.decision))
}

impl Decisions {
    /// The policy and decision last recorded about `workload`: this
    /// process's own write while the watch cache may not show it yet, else
    /// what the API server holds.
    fn known(&self, workload: &ObjectKey, cache: &Cache) -> Option<(String, WorkloadStatus)> {
        let namespace = workload.namespace.as_deref()?;
        let stored = cache.get(GROUP, KIND, namespace, &decision_name(workload));
        let mut written = self.written.lock().expect("decisions lock");
        if let Some(own) = written.get(workload) {
            if stored.is_some() || own.at.elapsed() < OWN_WRITE_LAG {
                return Some((own.policy.clone(), own.decision.clone()));
            }
            written.remove(workload);
        }
        from_cache(stored.as_deref()?, Some(workload))
    }

    /// The last decision about `workload`.
    pub fn previous(&self, workload: &ObjectKey, cache: &Cache) -> Option<WorkloadStatus> {
        self.known(workload, cache).map(|(_, decision)| decision)
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
        let known = self.known(workload, cache);
        if let Some((policy, previous)) = &known
            && *policy == rp.name_any()
            && substance(previous) == substance(&decision)
        {
            return Ok(false);
        }
        if let Some((_, previous)) = known.filter(|(_, p)| p.state == decision.state && p.release == decision.release) {
            decision.time = previous.time;
        }
        let namespace = workload.namespace.clone().unwrap_or_default();
        let name = decision_name(workload);
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
        let written = Written { policy: rp.name_any(), decision, at: Instant::now() };
        self.written.lock().expect("decisions lock").insert(workload.clone(), written);
        Ok(true)
    }

    /// Deletes the decision about a workload no policy covers any more.
    pub async fn forget(&self, client: &Client, workload: &ObjectKey, cache: &Cache) -> Result<(), kube::Error> {
        let namespace = workload.namespace.clone().unwrap_or_default();
        let name = decision_name(workload);
        let own = self.written.lock().expect("decisions lock").remove(workload).is_some();
        let stored = cache.get(GROUP, KIND, &namespace, &name).filter(|v| from_cache(v, Some(workload)).is_some());
        if !own && stored.is_none() {
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
            if let Some((owner, decision)) = from_cache(&stored, None)
                && owner == policy
                && let Some(name) = stored.pointer("/metadata/name").and_then(Value::as_str)
            {
                latest.insert(name.to_string(), decision);
            }
        }
        for (workload, own) in self.written.lock().expect("decisions lock").iter() {
            if workload.namespace.as_deref() != Some(namespace) {
                continue;
            }
            // This process's write is the latest, whoever it names.
            if own.policy == policy {
                latest.insert(decision_name(workload), own.decision.clone());
            } else {
                latest.remove(&decision_name(workload));
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
    fn a_decision_whose_messages_differ_only_in_numbers_is_the_same_decision() {
        let with = |message: &str| WorkloadStatus { finding_messages: vec![message.into()], ..Default::default() };
        let a = with("metric e is 0.2 (latest of 6 samples), above 0.05; query: x{hash=\"7c9d6f8b5\"}");
        let b = with("metric e is 0.25 (latest of 7 samples), above 0.05; query: x{hash=\"7c9d6f8b5\"}");
        assert_eq!(substance(&a), substance(&b));
        let refused = with("metric e: the query failed: connection refused");
        let forbidden = with("metric e: the query failed: cannot read the bearer token: forbidden");
        assert_ne!(substance(&refused), substance(&forbidden));
    }

    fn key(api_version: &str, kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: Some("shop".into()),
            name: name.into(),
        }
    }

    #[test]
    fn names_are_valid_bounded_and_distinct_across_api_groups() {
        assert_eq!(decision_name(&key("apps/v1", "StatefulSet", "web")), "statefulset-web");
        assert_eq!(decision_name(&key("a.example/v1", "Cluster", "db")), "cluster.a.example-db");
        assert_ne!(
            decision_name(&key("a.example/v1", "Cluster", "db")),
            decision_name(&key("b.example/v1", "Cluster", "db"))
        );
        let long = decision_name(&key("apps/v1", "Deployment", &"a".repeat(253)));
        assert!(long.len() <= 253);
        assert_ne!(long, decision_name(&key("apps/v1", "Deployment", &"a".repeat(252))));
        let dotted = decision_name(&key("apps/v1", "Deployment", &format!("{}.{}", "a".repeat(228), "b".repeat(30))));
        assert!(!dotted.contains(".-"), "{dotted}");
    }
}

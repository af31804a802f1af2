//! Pods a pending Deployment should have and does not. When pods cannot be
//! created at all (a quota, an admission webhook, a missing service
//! account: the guide's "Pod creation failure") no pod shows the failure;
//! only the Deployment's own spec and conditions do.

use rewind_sdk::raw::RawObject;
use rewind_sdk::{Finding, Snapshot};

/// A pending Deployment short of pods, and for how long, in seconds.
pub struct MissingPods {
    pub finding: Finding,
    pub lasted: i64,
}

/// The pending strategy's Deployments (tree indices) that have fewer pods
/// than `spec.replicas`, each with the reason its status gives.
pub fn missing_pods(s: &Snapshot, deployments: &[u32]) -> Result<Vec<MissingPods>, String> {
    let mut missing = Vec::new();
    for &index in deployments {
        let name = s.object(index).map_or("", |o| o.name.as_str());
        let raw = rewind_sdk::view::raw_object(index)
            .map(RawObject::new)
            .ok_or_else(|| format!("the host did not provide the JSON of Deployment {name}"))?;
        let desired = raw.i64("/spec/replicas")?.unwrap_or(1).max(0);
        let have = s.pods_under(index).filter(|p| !p.deleting).count() as i64;
        if have >= desired {
            continue;
        }
        let replica_failure = raw
            .array("/status/conditions")?
            .iter()
            .map(|c| RawObject::new(c.clone()))
            .find(|c| c.str("/type") == Ok(Some("ReplicaFailure")) && c.str("/status") == Ok(Some("True")));
        let (reason, detail, since) = match replica_failure {
            Some(c) => ("ReplicaFailure", c.str("/message")?.unwrap_or("pods cannot be created").to_string(), {
                c.time("/lastTransitionTime")?
            }),
            None => {
                ("PodsMissing", "its pods have not been created".to_string(), raw.time("/metadata/creationTimestamp")?)
            }
        };
        let message = format!("Deployment {name} has {have} of {desired} pods: {detail}");
        let finding = Finding { reason: reason.into(), message, pod: None, container: None, since };
        missing.push(MissingPods { finding, lasted: since.map_or(0, |t| s.seconds_since(t)) });
    }
    Ok(missing)
}

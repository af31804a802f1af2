//! What the MetadataServices resource says about its releases: which
//! strategy serves, which one is being deployed, and the release history.
//!
//! The operator's guide shows its bookkeeping: a release is recorded
//! `Active` and named by `activeReleaseVersion` when its deployment starts,
//! superseding the one before, while `activeStrategy` changes only when
//! traffic switches. So during a deployment the newest entry may read
//! Active although its strategy is still pending, and the release actually
//! serving is the newest good entry of the active strategy. Histories that
//! record the deploying release with another status (`Pending`) read the
//! same way.

use rewind_sdk::view::lookup;
use rewind_sdk::{ObjectInfo, Snapshot};
use serde_json::Value;

/// The Deployments the resource owns, per component.
const COMPONENTS: [&str; 2] = ["storage", "schema"];

/// The resource's blue-green state, read from its status and its owned
/// Deployments.
pub struct BlueGreen {
    /// `status.activeStrategy`; none before the first successful deployment.
    pub active: Option<String>,
    /// `status.activeReleaseVersion`: during a deployment, the release being
    /// deployed.
    pub active_version: Option<String>,
    pub phase: Option<String>,
    /// The strategy with Deployments that is not the active one.
    pub pending: Option<String>,
    /// `status.releaseHistory`, oldest first, entries kept as they are.
    pub history: Vec<Value>,
}

fn field<'v>(entry: &'v Value, name: &str) -> Option<&'v str> {
    entry.get(name).and_then(Value::as_str)
}

impl BlueGreen {
    pub fn read(snapshot: &Snapshot, strategy_label: &str) -> Result<BlueGreen, String> {
        let raw = rewind_sdk::view::target_raw(snapshot)?;
        let active = raw.non_empty_str("/status/activeStrategy")?.map(str::to_string);
        let active_version = raw.non_empty_str("/status/activeReleaseVersion")?.map(str::to_string);
        let phase = raw.non_empty_str("/status/deploymentPhase")?.map(str::to_string);
        let history = raw.array("/status/releaseHistory")?.to_vec();
        for (i, entry) in history.iter().enumerate() {
            if field(entry, "version").is_none() {
                return Err(format!("/status/releaseHistory/{i} has no string `version`"));
            }
        }
        let pending = strategy_deployments(snapshot, strategy_label)
            .map(|(_, strategy, _)| strategy.to_string())
            .find(|s| Some(s) != active.as_ref());
        Ok(BlueGreen { active, active_version, phase, pending, history })
    }

    /// Whether the pending strategy is being deployed and so is judged. Once
    /// the phase is Stable, Deployments of another strategy are ones still
    /// being cleaned up after a switch, not a rollout.
    pub fn deploying(&self) -> bool {
        self.pending.is_some() && self.phase.as_deref() != Some("Stable")
    }

    fn newest_of(&self, strategy: &str, usable: impl Fn(&Value) -> bool) -> Option<usize> {
        self.history.iter().rposition(|e| field(e, "strategy") == Some(strategy) && usable(e))
    }

    /// The history entry of the release being deployed with the pending
    /// strategy: the newest entry of that strategy, if it is newer than
    /// anything the active strategy serves (an older one is a release that
    /// strategy served before).
    pub fn pending_release(&self) -> Option<usize> {
        let pending = self.newest_of(self.pending.as_deref()?, |_| true)?;
        match self.active.as_deref().and_then(|active| self.newest_of(active, |_| true)) {
            Some(active) if active > pending => None,
            _ => Some(pending),
        }
    }

    /// The history entry of the release the active strategy serves: its
    /// newest entry that did not fail.
    pub fn served_release(&self) -> Option<usize> {
        let active = self.active.as_deref()?;
        self.newest_of(active, |e| field(e, "status") != Some("Failed"))
    }

    pub fn version(&self, index: usize) -> &str {
        field(&self.history[index], "version").unwrap_or_default()
    }

    /// The version serving traffic: the active strategy's release, else
    /// `activeReleaseVersion` unless it names the release being deployed.
    pub fn served_version(&self) -> Option<&str> {
        if let Some(index) = self.served_release() {
            return Some(self.version(index));
        }
        let deploying = self.pending_release().map(|i| self.version(i));
        self.active_version.as_deref().filter(|v| Some(*v) != deploying)
    }

    pub fn release(&self, version: &str) -> Option<&Value> {
        self.history.iter().find(|e| field(e, "version") == Some(version))
    }

    pub fn versions(&self) -> Vec<&str> {
        self.history.iter().filter_map(|e| field(e, "version")).collect()
    }

    /// The history with one entry's status changed, trimmed to the newest
    /// `limit` entries, oldest first. The release the active strategy serves
    /// is never trimmed away: without it the history could no longer say
    /// what to return to.
    pub fn history_with_status(&self, index: usize, status: &str, limit: usize) -> Vec<Value> {
        let served = self.served_release();
        let mut excess = self.history.len().saturating_sub(limit);
        let mut history = Vec::with_capacity(self.history.len());
        for (i, entry) in self.history.iter().enumerate() {
            if excess > 0 && Some(i) != served && i != index {
                excess -= 1;
                continue;
            }
            let mut entry = entry.clone();
            if i == index {
                entry["status"] = Value::from(status);
            }
            history.push(entry);
        }
        history
    }
}

/// The Deployments the resource owns directly, with their strategy: the
/// strategy label's value, or for an unlabelled one the `<strategy>` of its
/// name `<resource>-storage-<strategy>` or `<resource>-schema-<strategy>`.
/// Yields (index, strategy, object).
pub fn strategy_deployments<'s, 'a>(
    snapshot: &'s Snapshot<'a>,
    strategy_label: &'s str,
) -> impl Iterator<Item = (u32, &'s str, &'s ObjectInfo<'a>)> {
    let resource = snapshot.target.name.as_str();
    snapshot.children_of_kind(0, "Deployment").filter_map(move |(i, o)| {
        let strategy = lookup(&o.labels, strategy_label).or_else(|| strategy_from_name(resource, &o.name))?;
        Some((i, strategy, o))
    })
}

fn strategy_from_name<'n>(resource: &str, name: &'n str) -> Option<&'n str> {
    let rest = name.strip_prefix(resource)?.strip_prefix('-')?;
    COMPONENTS.iter().find_map(|component| {
        let strategy = rest.strip_prefix(component)?.strip_prefix('-')?;
        (!strategy.is_empty() && !strategy.contains('-')).then_some(strategy)
    })
}

/// The Deployment names the resource's strategy would have, for errors
/// that say what was looked for.
pub fn expected_names(resource: &str) -> String {
    COMPONENTS.map(|c| format!("{resource}-{c}-<strategy>")).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(version: &str, strategy: &str, status: &str) -> Value {
        json!({"version": version, "strategy": strategy, "storageTag": version, "schemaTag": version, "status": status})
    }

    #[test]
    fn trimming_the_history_keeps_the_served_release() {
        // Blue serves r0; ten green attempts failed since (the last one now).
        let mut history = vec![entry("r0", "blue", "Superseded")];
        history.extend((1..=10).map(|i| entry(&format!("r{i}"), "green", if i < 10 { "Failed" } else { "Active" })));
        let state = BlueGreen {
            active: Some("blue".into()),
            active_version: Some("r10".into()),
            phase: Some("Deploying".into()),
            pending: Some("green".into()),
            history,
        };
        assert_eq!(state.served_version(), Some("r0"));
        assert_eq!(state.pending_release(), Some(10));
        let written = state.history_with_status(10, "Failed", 10);
        let versions: Vec<&str> = written.iter().filter_map(|e| e["version"].as_str()).collect();
        assert_eq!(versions, ["r0", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"]);
        assert_eq!(written[9]["status"], "Failed");
    }
}

//! What the MetadataServices resource says about its releases: which
//! strategy serves, which one is being deployed, and the release history.

use rewind_sdk::view::lookup;
use rewind_sdk::{ObjectInfo, Snapshot};
use serde_json::Value;

/// The resource's blue-green state, read from its status and its owned
/// Deployments.
pub struct BlueGreen {
    /// `status.activeStrategy`; none before the first successful deployment.
    pub active: Option<String>,
    pub active_version: Option<String>,
    pub phase: Option<String>,
    /// The strategy with Deployments that is not the active one.
    pub pending: Option<String>,
    /// `status.releaseHistory`, oldest first, entries kept as they are.
    pub history: Vec<Value>,
}

impl BlueGreen {
    pub fn read(snapshot: &Snapshot, strategy_label: &str) -> Result<BlueGreen, String> {
        let raw = rewind_sdk::view::target_raw(snapshot)?;
        let active = raw.non_empty_str("/status/activeStrategy")?.map(str::to_string);
        let active_version = raw.non_empty_str("/status/activeReleaseVersion")?.map(str::to_string);
        let phase = raw.non_empty_str("/status/deploymentPhase")?.map(str::to_string);
        let history = raw.array("/status/releaseHistory")?.to_vec();
        for (i, entry) in history.iter().enumerate() {
            if entry.get("version").and_then(Value::as_str).is_none() {
                return Err(format!("/status/releaseHistory/{i} has no string `version`"));
            }
        }
        let pending = strategy_deployments(snapshot, strategy_label)
            .map(|(_, strategy, _)| strategy.to_string())
            .find(|s| Some(s) != active.as_ref());
        Ok(BlueGreen { active, active_version, phase, pending, history })
    }

    /// The history entry of the release being deployed with the pending
    /// strategy: the newest entry of that strategy that is not the active
    /// release.
    pub fn pending_release(&self) -> Option<usize> {
        let pending = self.pending.as_deref()?;
        self.history.iter().rposition(|e| {
            e.get("strategy").and_then(Value::as_str) == Some(pending)
                && e.get("version").and_then(Value::as_str) != self.active_version.as_deref()
        })
    }

    pub fn release(&self, version: &str) -> Option<&Value> {
        self.history.iter().find(|e| e.get("version").and_then(Value::as_str) == Some(version))
    }

    pub fn versions(&self) -> Vec<&str> {
        self.history.iter().filter_map(|e| e.get("version").and_then(Value::as_str)).collect()
    }

    /// The history with one entry's status changed, trimmed to the newest
    /// `limit` entries.
    pub fn history_with_status(&self, index: usize, status: &str, limit: usize) -> Vec<Value> {
        let mut history = self.history.clone();
        history[index]["status"] = Value::from(status);
        let skip = history.len().saturating_sub(limit);
        history.split_off(skip)
    }
}

/// The Deployments the resource owns directly that carry a strategy label:
/// (index, strategy, object).
pub fn strategy_deployments<'s, 'a>(
    snapshot: &'s Snapshot<'a>,
    strategy_label: &'s str,
) -> impl Iterator<Item = (u32, &'s str, &'s ObjectInfo<'a>)> {
    snapshot
        .children_of_kind(0, "Deployment")
        .filter_map(move |(i, o)| lookup(&o.labels, strategy_label).map(|s| (i, s, o)))
}

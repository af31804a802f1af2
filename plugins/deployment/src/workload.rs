//! What the target's kind means for judging its rollout: which controller
//! reports on it, where its history lives, and for StatefulSets and
//! DaemonSets the update strategy, which decides which pods the rollout
//! replaces on its own.

use rewind_sdk::{Snapshot, view};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    pub kind: Kind,
    /// `updateStrategy.type: OnDelete`: pods are replaced only when deleted.
    pub on_delete: bool,
    /// A StatefulSet with `podManagementPolicy: OrderedReady` (the
    /// default), whose rolling update waits for every pod to be Ready.
    pub ordered_ready: bool,
    /// `rollingUpdate.partition`: pods with a lower ordinal stay at the old
    /// revision by design.
    pub partition: u32,
}

impl Workload {
    /// The target's kind, or why this policy does not handle it.
    pub fn of(snapshot: &Snapshot) -> Result<Workload, String> {
        let target = &snapshot.target;
        let group = target.api_version.rsplit_once('/').map_or("", |(group, _)| group);
        // extensions/v1beta1 served Deployments until Kubernetes 1.16; old
        // dumps still carry it.
        let kind = match (target.kind.as_str(), group) {
            ("Deployment", "apps" | "extensions") => Kind::Deployment,
            ("StatefulSet", "apps") => Kind::StatefulSet,
            ("DaemonSet", "apps") => Kind::DaemonSet,
            _ => {
                return Err(format!(
                    "this policy handles Deployments, StatefulSets and DaemonSets (apps); the target is {}/{} ({})",
                    target.kind, target.name, target.api_version
                ));
            }
        };
        let mut workload = Workload { kind, on_delete: false, ordered_ready: false, partition: 0 };
        if kind == Kind::Deployment {
            return Ok(workload);
        }
        // Strategy fields are not in the typed view: read once from the raw
        // object, only for the kinds that have them.
        let raw = view::raw_object(0).unwrap_or(Value::Null);
        let text = |pointer: &str| raw.pointer(pointer).and_then(Value::as_str);
        workload.on_delete = text("/spec/updateStrategy/type") == Some("OnDelete");
        workload.ordered_ready =
            kind == Kind::StatefulSet && text("/spec/podManagementPolicy").is_none_or(|p| p == "OrderedReady");
        workload.partition = raw
            .pointer("/spec/updateStrategy/rollingUpdate/partition")
            .and_then(Value::as_u64)
            .map_or(0, |p| p.min(u32::MAX as u64) as u32);
        Ok(workload)
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
        }
    }

    /// The kind of object a release is kept in.
    pub fn history(&self) -> &'static str {
        match self.kind {
            Kind::Deployment => "ReplicaSet",
            Kind::StatefulSet | Kind::DaemonSet => "ControllerRevision",
        }
    }
}

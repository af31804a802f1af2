//! What the target's kind means for judging its rollout: which controller
//! reports on it and where its history lives ([`Kind`], from the typed
//! snapshot), and for StatefulSets and DaemonSets the update strategy,
//! which decides which pods the rollout replaces on its own ([`Strategy`],
//! from the raw object, read only by the stages that need it).

use rewind_sdk::{Pod, Snapshot, view};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl Kind {
    /// The target's kind, or why this policy does not handle it.
    pub fn of(snapshot: &Snapshot) -> Result<Kind, String> {
        let target = &snapshot.target;
        let group = target.api_version.rsplit_once('/').map_or("", |(group, _)| group);
        // extensions/v1beta1 served Deployments and DaemonSets until
        // Kubernetes 1.16; old dumps still carry it.
        match (target.kind.as_str(), group) {
            ("Deployment", "apps" | "extensions") => Ok(Kind::Deployment),
            ("StatefulSet", "apps") => Ok(Kind::StatefulSet),
            ("DaemonSet", "apps" | "extensions") => Ok(Kind::DaemonSet),
            _ => Err(format!(
                "this policy handles Deployments, StatefulSets and DaemonSets (apps); the target is {}/{} ({})",
                target.kind, target.name, target.api_version
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
        }
    }

    /// The kind of object a release is kept in.
    pub fn history(self) -> &'static str {
        match self {
            Kind::Deployment => "ReplicaSet",
            Kind::StatefulSet | Kind::DaemonSet => "ControllerRevision",
        }
    }
}

/// How a StatefulSet or DaemonSet replaces its pods (a Deployment's
/// rollout replaces every pod itself: all fields at their defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strategy {
    /// `updateStrategy.type: OnDelete`: pods are replaced only when deleted.
    pub on_delete: bool,
    /// A StatefulSet with `podManagementPolicy: OrderedReady` (the
    /// default), whose rolling update waits for every pod to be Ready.
    pub ordered_ready: bool,
    /// `rollingUpdate.partition`: pods with a lower ordinal stay at the old
    /// revision by design.
    pub partition: u32,
    /// What the pods of the revision being rolled out carry, for a dump
    /// without ControllerRevisions: a StatefulSet's `status.updateRevision`
    /// in `controller-revision-hash`, a DaemonSet's template generation in
    /// `pod-template-generation`.
    pub update_pods: Option<(&'static str, String)>,
}

impl Strategy {
    /// Read from the target's raw JSON, once per evaluation that needs it.
    pub fn of(kind: Kind) -> Strategy {
        if kind == Kind::Deployment {
            return Strategy::default();
        }
        let raw = view::raw_object(0).unwrap_or(Value::Null);
        let text = |pointer: &str| raw.pointer(pointer).and_then(Value::as_str);
        let observed = matches!(
            (raw.pointer("/metadata/generation"), raw.pointer("/status/observedGeneration")),
            (Some(g), Some(o)) if o.as_i64() >= g.as_i64()
        );
        let update_pods = match kind {
            Kind::StatefulSet => text("/status/updateRevision").map(|r| ("controller-revision-hash", r.to_string())),
            _ => text("/metadata/annotations/deprecated.daemonset.template.generation")
                .map(|g| ("pod-template-generation", g.to_string())),
        };
        Strategy {
            on_delete: text("/spec/updateStrategy/type") == Some("OnDelete"),
            ordered_ready: kind == Kind::StatefulSet
                && text("/spec/podManagementPolicy").is_none_or(|p| p == "OrderedReady"),
            partition: raw
                .pointer("/spec/updateStrategy/rollingUpdate/partition")
                .and_then(Value::as_u64)
                .map_or(0, |p| p.min(u32::MAX as u64) as u32),
            update_pods: update_pods.filter(|_| observed),
        }
    }

    /// The target's pods that carry the update revision's label, for a dump
    /// without ControllerRevisions.
    pub fn update_revision_pods<'s, 'a>(&self, snapshot: &'s Snapshot<'a>) -> Vec<&'s Pod<'a>> {
        let Some((label, value)) = &self.update_pods else { return Vec::new() };
        snapshot
            .pods
            .iter()
            .filter(|pod| {
                snapshot.object(pod.object).is_some_and(|o| {
                    o.owner == Some(0) && rewind_sdk::view::lookup(&o.labels, label) == Some(value.as_str())
                })
            })
            .collect()
    }
}

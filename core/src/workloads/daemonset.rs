//! DaemonSets: ControllerRevisions named `<daemonset>-<hash>`, whose pods
//! carry the bare hash in `controller-revision-hash`. The status names no
//! revision, so the current one is the revision holding the template.

use super::controller_revisions::{HASH_LABEL, RevisionHistoryKind};
use crate::objects;
use serde_json::Value;

pub const DAEMON_SET: RevisionHistoryKind = RevisionHistoryKind {
    kind: "DaemonSet",
    // extensions/v1beta1 served DaemonSets until Kubernetes 1.16.
    groups: &["apps", "extensions"],
    pod_label,
    update_revision: |_| None,
    counts: [
        "/status/desiredNumberScheduled",
        "/status/numberReady",
        "/status/updatedNumberScheduled",
        "/status/numberAvailable",
    ],
    template_generation: Some("deprecated.daemonset.template.generation"),
};

/// The revision's own hash label, or (on revisions older controllers made
/// without it) its name less the `<daemonset>-` prefix.
fn pod_label(revision: &Value, target: &Value) -> Option<String> {
    if let Some(hash) = objects::at(revision, &["metadata", "labels", HASH_LABEL]).and_then(Value::as_str) {
        return Some(hash.to_string());
    }
    let prefix = format!("{}-", objects::name(target)?);
    objects::name(revision)?.strip_prefix(&prefix).map(str::to_string)
}

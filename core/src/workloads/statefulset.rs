//! StatefulSets: ControllerRevisions whose name is the value their pods
//! carry in `controller-revision-hash`; `status.updateRevision` names the
//! revision being rolled out.

use super::controller_revisions::{RevisionHistoryKind, status_name};
use crate::objects;

pub const STATEFUL_SET: RevisionHistoryKind = RevisionHistoryKind {
    kind: "StatefulSet",
    groups: &["apps"],
    pod_label: |revision, _| objects::name(revision).map(str::to_string),
    update_revision: |target| status_name(target, "updateRevision"),
    counts: ["/spec/replicas", "/status/readyReplicas", "/status/updatedReplicas", "/status/availableReplicas"],
    template_generation: None,
};

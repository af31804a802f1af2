//! StatefulSets: ControllerRevisions whose name is the value their pods
//! carry in `controller-revision-hash`; `status.updateRevision` names the
//! revision being rolled out.

use super::controller_revisions::{self as revisions, Flavour};
use super::{Counts, UndoError, UndoOutcome, Workload};
use crate::objects::{self, ObjectSet};
use crate::snapshot::TreeNode;
use rewind_snapshot::Release;
use serde_json::Value;

pub struct StatefulSet;

const FLAVOUR: Flavour = Flavour {
    kind: "StatefulSet",
    pod_label: |revision, _| objects::name(revision).map(str::to_string),
    update_revision: |target| revisions::observed_status_name(target, "updateRevision"),
};

impl Workload for StatefulSet {
    fn kind(&self) -> &'static str {
        "StatefulSet"
    }

    fn history_kind(&self) -> &'static str {
        "ControllerRevision"
    }

    fn revision(&self, history: &Value) -> Result<Option<u64>, String> {
        revisions::revision(history)
    }

    fn releases(&self, set: &ObjectSet, tree: &[TreeNode]) -> Result<(Vec<Release<'static>>, Vec<String>), String> {
        revisions::releases(&FLAVOUR, set, tree)
    }

    fn counts(&self, target: &Value) -> Result<Counts, String> {
        super::counts_at(
            target,
            ["/spec/replicas", "/status/readyReplicas", "/status/updatedReplicas", "/status/availableReplicas"],
        )
    }

    fn plan_undo(&self, target: &Value, history: &[&Value], revision: u64) -> Result<UndoOutcome, UndoError> {
        revisions::plan_undo(self, target, history, revision)
    }
}

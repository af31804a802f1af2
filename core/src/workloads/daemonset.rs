//! DaemonSets: ControllerRevisions named `<daemonset>-<hash>`, whose pods
//! carry the bare hash in `controller-revision-hash`. The status names no
//! revision, so the current one is the revision holding the template.

use super::controller_revisions::{self as revisions, Flavour, HASH_LABEL};
use super::{Counts, UndoError, UndoOutcome, Workload};
use crate::objects::{self, ObjectSet};
use crate::snapshot::TreeNode;
use rewind_snapshot::Release;
use serde_json::Value;

pub struct DaemonSet;

const FLAVOUR: Flavour = Flavour { kind: "DaemonSet", pod_label, update_revision: |_| None };

/// The revision's own hash label, or (on revisions older controllers made
/// without it) its name less the `<daemonset>-` prefix.
fn pod_label(revision: &Value, target: &Value) -> Option<String> {
    if let Some(hash) = objects::at(revision, &["metadata", "labels", HASH_LABEL]).and_then(Value::as_str) {
        return Some(hash.to_string());
    }
    let prefix = format!("{}-", objects::name(target)?);
    objects::name(revision)?.strip_prefix(&prefix).map(str::to_string)
}

impl Workload for DaemonSet {
    fn kind(&self) -> &'static str {
        "DaemonSet"
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
            [
                "/status/desiredNumberScheduled",
                "/status/numberReady",
                "/status/updatedNumberScheduled",
                "/status/numberAvailable",
            ],
        )
    }

    fn plan_undo(&self, target: &Value, history: &[&Value], revision: u64) -> Result<UndoOutcome, UndoError> {
        revisions::plan_undo(self, target, history, revision)
    }
}

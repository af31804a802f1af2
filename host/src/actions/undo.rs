//! `kubectl rollout undo --to-revision=N` as a pure function, shared by the
//! in-memory and the API-server executors.

use crate::deployment::{self, template_without_hash};
use serde_json::Value;

/// What rolling back means for the Deployment as it is now.
#[derive(Clone, Debug, PartialEq)]
pub enum UndoOutcome {
    /// Replace `spec.template` with this one. The Deployment keeps its own
    /// annotations (the revision ones included); the Deployment controller
    /// then renumbers the chosen ReplicaSet as the newest revision.
    Restore { template: Value, replica_set: String },
    /// The revision's template is already the Deployment's: nothing to do.
    AlreadyCurrent { replica_set: String },
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UndoError {
    #[error("Deployment {0} is paused; resume it before rolling back")]
    Paused(String),
    #[error("Deployment {deployment} has no ReplicaSet with revision {revision} (known revisions: {known})")]
    RevisionNotFound { deployment: String, revision: u64, known: String },
    #[error("ReplicaSet {0} has no spec.template")]
    NoTemplate(String),
}

/// Plans the rollback of `deployment` to `revision`, choosing among
/// `replica_sets` (those the Deployment owns).
pub fn plan_undo(deployment_value: &Value, replica_sets: &[&Value], revision: u64) -> Result<UndoOutcome, UndoError> {
    let name = crate::objects::name(deployment_value).unwrap_or("?").to_string();
    if deployment::is_paused(deployment_value) {
        return Err(UndoError::Paused(name));
    }
    let mut known: Vec<u64> = replica_sets.iter().filter_map(|rs| deployment::revision(rs).ok().flatten()).collect();
    let Some(chosen) = replica_sets.iter().find(|rs| deployment::revision(rs).ok().flatten() == Some(revision)) else {
        known.sort_unstable();
        let known = known.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        return Err(UndoError::RevisionNotFound {
            deployment: name,
            revision,
            known: if known.is_empty() { "none".into() } else { known },
        });
    };
    let replica_set = crate::objects::name(chosen).unwrap_or("?").to_string();
    let template = chosen.pointer("/spec/template").ok_or_else(|| UndoError::NoTemplate(replica_set.clone()))?;
    if deployment::same_template(chosen, deployment_value) {
        return Ok(UndoOutcome::AlreadyCurrent { replica_set });
    }
    Ok(UndoOutcome::Restore { template: template_without_hash(template), replica_set })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{deployment, replica_set};

    #[test]
    fn restores_the_revision_template_without_the_hash_label() {
        let d = deployment("web:3");
        let (rs2, rs3) = (replica_set("2", "web:2"), replica_set("3", "web:3"));
        let outcome = plan_undo(&d, &[&rs2, &rs3], 2).unwrap();
        let UndoOutcome::Restore { template, replica_set } = outcome else {
            panic!("expected a restore, got {outcome:?}");
        };
        assert_eq!(replica_set, "web-h2");
        assert_eq!(template.pointer("/spec/containers/0/image").unwrap(), "web:2");
        assert!(template.pointer("/metadata/labels/pod-template-hash").is_none());
        assert_eq!(template.pointer("/metadata/labels/app").unwrap(), "web");
    }

    #[test]
    fn skips_when_the_template_already_matches() {
        let d = deployment("web:3");
        let rs3 = replica_set("3", "web:3");
        assert_eq!(plan_undo(&d, &[&rs3], 3).unwrap(), UndoOutcome::AlreadyCurrent { replica_set: "web-h3".into() });
    }

    #[test]
    fn refuses_paused_deployments_and_unknown_revisions() {
        let mut d = deployment("web:3");
        let rs3 = replica_set("3", "web:3");
        let err = plan_undo(&d, &[&rs3], 7).unwrap_err();
        assert_eq!(err.to_string(), "Deployment web has no ReplicaSet with revision 7 (known revisions: 3)");
        d["spec"]["paused"] = serde_json::json!(true);
        assert!(matches!(plan_undo(&d, &[&rs3], 3), Err(UndoError::Paused(_))));
    }
}

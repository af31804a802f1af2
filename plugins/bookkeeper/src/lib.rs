//! The rollback behaviour of the Pravega Bookkeeper operator for a
//! `BookkeeperCluster` (`bookkeeper.pravega.io/v1alpha1`).
//!
//! An upgrade fails fast when a bookie pod cannot pull its image or
//! crash-loops: `Error=True/UpgradeFailed`. A rollback is only possible from
//! that state, and only to the last stable version: the user sets
//! `spec.version` back to it (or, with `automaticRollback`, the policy does).
//! While rolling back `RollbackInProgress=True` tracks the updated replicas;
//! when every bookie is Ready on the stable version the cluster is back to
//! `PodsReady`; if pods fail again the cluster ends in
//! `Error=True/RollbackFailed` and waits for manual intervention.

mod cluster;

use cluster::Cluster;
use rewind_sdk::{
    Action, ConditionStatus, Eligibility, FailureReport, Finding, Health, Rules, Selection, Snapshot, act, settings,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Roll back to the last stable version without waiting for the user to
    /// set `spec.version` (the operator itself only supports manual rollback).
    pub automatic_rollback: bool,
    /// The bookie container whose image tag is the pod's version.
    pub container: String,
    /// How the component is named in `RollbackInProgress`'s reason.
    pub component: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { automatic_rollback: false, container: "bookie".into(), component: "Bookkeeper".into() }
    }
}

impl settings::Settings for Settings {}

pub struct BookkeeperPolicy;

// The operator rolls back when the cluster's version goes back to the last
// stable one.
rewind_sdk::needs!["patch:BookkeeperCluster.bookkeeper.pravega.io:/spec/version"];
rewind_sdk::export!(BookkeeperPolicy);

impl Rules for BookkeeperPolicy {
    type Settings = Settings;

    fn detect_failure(s: &Snapshot, settings: &Settings) -> Result<FailureReport, String> {
        Ok(detect_failure(&Cluster::read(s, settings)?))
    }

    fn check_eligibility(s: &Snapshot, settings: &Settings, report: &FailureReport) -> Result<Eligibility, String> {
        Ok(check_eligibility(&Cluster::read(s, settings)?, settings, report))
    }

    fn select_release(s: &Snapshot, settings: &Settings, _report: &FailureReport) -> Result<Selection, String> {
        Ok(select_release(s, &Cluster::read(s, settings)?, settings))
    }
}

fn condition(kind: &str, status: ConditionStatus, reason: &str, message: impl Into<String>) -> Action {
    act::set_condition(kind, status, reason, message)
}

fn finding(reason: &str, message: String) -> Finding {
    Finding { reason: reason.into(), message, pod: None, container: None, since: None }
}

/// `pod <pod> update failed because of <reason>`, the operator's wording.
fn pod_failure(failure: &cluster::PodFailure) -> String {
    format!("pod {} update failed because of {}", failure.pod, failure.reason)
}

fn detect_failure(cluster: &Cluster) -> FailureReport {
    let mut report = FailureReport {
        state: Health::Healthy,
        findings: Vec::new(),
        manual_request: false,
        recheck_after: None,
        actions: vec![],
    };
    let failure = cluster.failing_pods.first();

    if cluster.rollback_in_progress {
        if let Some(failure) = failure {
            report.state = Health::Failed;
            report.findings = cluster.failing_pods.iter().map(cluster::PodFailure::finding).collect();
            report.actions = vec![
                condition("Error", ConditionStatus::True, "RollbackFailed", pod_failure(failure)),
                condition("RollbackInProgress", ConditionStatus::False, "RollbackFailed", ""),
                condition("PodsReady", ConditionStatus::False, "", ""),
                act::warning("RollbackFailed", format!("{}; manual intervention is required", pod_failure(failure))),
            ];
        } else if cluster.all_ready_on(&cluster.spec_version) {
            report.actions = vec![
                condition("PodsReady", ConditionStatus::True, "", ""),
                condition("RollbackInProgress", ConditionStatus::False, "", ""),
                condition("Error", ConditionStatus::False, "", ""),
                act::normal("RollbackComplete", format!("all bookies are Ready on version {}", cluster.spec_version)),
            ];
        } else {
            report.state = Health::Progressing;
            let updated = cluster.updated_replicas(&cluster.spec_version).to_string();
            report.findings =
                vec![finding("RollbackInProgress", format!("{updated} replicas updated to {}", cluster.spec_version))];
            if cluster.rollback_message.as_deref() != Some(updated.as_str()) {
                let reason = format!("Updating {}", cluster.component);
                report.actions = vec![condition("RollbackInProgress", ConditionStatus::True, &reason, updated)];
            }
        }
        return report;
    }

    if let Some((reason, message)) = &cluster.error {
        report.state = Health::Failed;
        report.findings = vec![finding(reason, message.clone())];
        return report;
    }

    if cluster.upgrading {
        if let Some(failure) = failure {
            // Fail fast: these states do not heal by waiting.
            report.state = Health::Failed;
            report.findings = cluster.failing_pods.iter().map(cluster::PodFailure::finding).collect();
            report.actions = vec![
                condition("Error", ConditionStatus::True, "UpgradeFailed", pod_failure(failure)),
                condition("Upgrading", ConditionStatus::False, "", ""),
                act::warning("UpgradeFailed", pod_failure(failure)),
            ];
        } else {
            report.state = Health::Progressing;
            report.findings = vec![finding("Upgrading", format!("upgrading to version {}", cluster.spec_version))];
        }
        return report;
    }

    // Steady state. A spec.version set to an earlier version is a change the
    // user made; ask the next question so the answer says why it is not a
    // rollback.
    report.manual_request =
        cluster.spec_version != cluster.current_version && cluster.history.iter().any(|v| v == &cluster.spec_version);
    report
}

fn check_eligibility(cluster: &Cluster, settings: &Settings, report: &FailureReport) -> Eligibility {
    let stable = &cluster.last_stable;
    let refuse = |reason: String| Eligibility { eligible: false, reason, actions: Vec::new() };
    match cluster.error.as_ref().map(|(reason, _)| reason.as_str()) {
        Some("RollbackFailed") => refuse("the rollback failed; manual intervention is required".into()),
        _ if cluster.rollback_in_progress => refuse("the rollback failed; manual intervention is required".into()),
        Some("UpgradeFailed") => {
            if &cluster.spec_version == stable {
                Eligibility {
                    eligible: true,
                    reason: format!("the upgrade failed and spec.version is the last stable version {stable}"),
                    actions: Vec::new(),
                }
            } else if settings.automatic_rollback {
                Eligibility {
                    eligible: true,
                    reason: format!("the upgrade failed; automatic rollback to the last stable version {stable}"),
                    actions: Vec::new(),
                }
            } else if Some(&cluster.spec_version) == cluster.deployed_version.as_ref() {
                refuse(format!(
                    "the upgrade to {} failed; set spec.version to the last stable version {stable} to roll back",
                    cluster.spec_version
                ))
            } else {
                refuse(format!(
                    "rollback is only supported to the last stable version {stable}; spec.version is {}",
                    cluster.spec_version
                ))
            }
        }
        _ if report.state == Health::Failed => refuse(format!(
            "the upgrade to {} has just failed; set spec.version to the last stable version {stable} to roll back",
            cluster.spec_version
        )),
        _ => refuse(format!(
            "the cluster is not in UpgradeFailed: setting spec.version to {} is a version change, not a rollback",
            cluster.spec_version
        )),
    }
}

fn select_release(s: &Snapshot, cluster: &Cluster, settings: &Settings) -> Selection {
    let stable = cluster.last_stable.clone();
    let mut actions = Vec::new();
    if cluster.spec_version != stable {
        actions.push(act::merge_patch(act::target_key(s), &serde_json::json!({"spec": {"version": stable}})));
    }
    let updated = cluster.updated_replicas(&stable).to_string();
    let reason = format!("Updating {}", settings.component);
    actions.push(condition("RollbackInProgress", ConditionStatus::True, &reason, updated));
    actions.push(act::normal("RollbackStarted", format!("rolling back to the last stable version {stable}")));
    Selection {
        release: Some(stable.clone()),
        reason: format!("the last stable version is {stable}"),
        error: None,
        actions,
    }
}

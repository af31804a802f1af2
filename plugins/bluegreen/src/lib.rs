//! The rollback behaviour of the E6 operator's blue-green deployments of a
//! `MetadataServices` resource (`e6data.io/v1alpha1`).
//!
//! The resource owns `<name>-storage-<strategy>` and `<name>-schema-<strategy>`
//! Deployments whose pods carry `strategy=<strategy>` (`blue` or `green`),
//! as the operator's guide selects them; an unlabelled Deployment is known
//! by its name. A new release is deployed with the strategy that is not
//! active; if its pods fail, the policy marks the release Failed, deletes
//! the pending Deployments and leaves the active strategy serving the
//! release it served. A first deployment that fails cannot roll back: the
//! release and phase become Failed. The annotation
//! `e6data.io/rollback-to=<version>` rolls the spec back to the image tags
//! of any release in the history; for the release already active, only the
//! tags the spec names otherwise (as after an automatic rollback).

mod manual;
mod pending;
mod state;

use manual::{manual_eligibility, manual_rollback};
use rewind_sdk::view::condition_is;
use rewind_sdk::{
    Action, ConditionStatus, Eligibility, FailureReport, Finding, Health, Rules, Selection, Snapshot, act, classify,
    settings,
};
use serde::Deserialize;
use serde_json::{Value, json};
use state::{BlueGreen, expected_names, strategy_deployments};

pub const ROLLBACK_ANNOTATION: &str = "e6data.io/rollback-to";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// How long a pending pod may be failing, Pending or not Ready before
    /// the pending strategy counts as failed.
    pub ready_timeout_seconds: i64,
    /// How long a pending strategy must stay Ready before it counts as good.
    pub grace_seconds: i64,
    /// Release history entries kept whenever the policy writes the history.
    pub history_limit: usize,
    /// The label carrying a Deployment's strategy (`strategy`, as the
    /// operator's `kubectl get pods -l strategy=<strategy>` reads it).
    pub strategy_label: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ready_timeout_seconds: 120,
            grace_seconds: 120,
            history_limit: 10,
            strategy_label: "strategy".into(),
        }
    }
}

impl settings::Settings for Settings {
    fn validate(&self) -> Result<(), String> {
        settings::non_negative("readyTimeoutSeconds", self.ready_timeout_seconds)?;
        settings::non_negative("graceSeconds", self.grace_seconds)?;
        if self.history_limit == 0 {
            return Err("historyLimit must be at least 1".into());
        }
        Ok(())
    }
}

pub struct BlueGreenPolicy;

// What a blue-green rollback writes beyond a rollback's defaults: the
// strategy's image tags, the status the operator reads, and the failed
// strategy's Deployment it removes.
rewind_sdk::needs![
    "patch:MetadataServices.e6data.io:/spec/storage/imageTag",
    "patch:MetadataServices.e6data.io:/spec/schema/imageTag",
    "patch:MetadataServices.e6data.io:/status/deploymentPhase",
    "patch:MetadataServices.e6data.io:/status/activeStrategy",
    "patch:MetadataServices.e6data.io:/status/activeReleaseVersion",
    "patch:MetadataServices.e6data.io:/status/releaseHistory",
    "delete:Deployment",
];
rewind_sdk::export!(BlueGreenPolicy);

impl Rules for BlueGreenPolicy {
    type Settings = Settings;

    fn detect_failure(s: &Snapshot, settings: &Settings) -> Result<FailureReport, String> {
        detect_failure(s, settings, &BlueGreen::read(s, &settings.strategy_label)?)
    }

    fn check_eligibility(s: &Snapshot, settings: &Settings, report: &FailureReport) -> Result<Eligibility, String> {
        let state = BlueGreen::read(s, &settings.strategy_label)?;
        if let Some(requested) = s.target_annotation(ROLLBACK_ANNOTATION) {
            return Ok(manual_eligibility(&state, requested.trim()));
        }
        let Some(active) = &state.active else {
            return Ok(first_deployment_failed(s, &state, settings, report));
        };
        let version = state.served_version().unwrap_or("(unknown version)");
        let reason = format!("Active strategy {active} is serving release {version}");
        Ok(Eligibility { eligible: true, reason, actions: Vec::new() })
    }

    fn select_release(s: &Snapshot, settings: &Settings, report: &FailureReport) -> Result<Selection, String> {
        let state = BlueGreen::read(s, &settings.strategy_label)?;
        Ok(match s.target_annotation(ROLLBACK_ANNOTATION) {
            Some(requested) => manual_rollback(s, &state, requested.trim())?,
            None => automatic_rollback(s, &state, settings, report),
        })
    }
}

fn report(state: Health, findings: Vec<Finding>, manual_request: bool) -> FailureReport {
    FailureReport { state, findings, manual_request, recheck_after: None, actions: Vec::new() }
}

/// A progressing report that could change on its own in `seconds`.
fn waiting(findings: Vec<Finding>, manual_request: bool, seconds: Option<i64>) -> FailureReport {
    let recheck_after = seconds.map(|s| u32::try_from(s.max(1)).unwrap_or(u32::MAX));
    FailureReport { recheck_after, ..report(Health::Progressing, findings, manual_request) }
}

fn note(reason: &str, message: String) -> Finding {
    Finding { reason: reason.into(), message, pod: None, container: None, since: None }
}

fn detect_failure(s: &Snapshot, settings: &Settings, state: &BlueGreen) -> Result<FailureReport, String> {
    let manual = s.target_annotation(ROLLBACK_ANNOTATION).is_some();
    let (true, Some(pending)) = (state.deploying(), &state.pending) else {
        if state.phase.as_deref() == Some("Deploying") {
            return Err(not_found_while_deploying(s, state, settings));
        }
        return Ok(report(Health::Healthy, Vec::new(), manual));
    };
    let deployments: Vec<u32> = strategy_deployments(s, &settings.strategy_label)
        .filter(|(_, strategy, _)| strategy == pending)
        .map(|(index, _, _)| index)
        .collect();
    let pods: Vec<_> = deployments.iter().flat_map(|&index| s.pods_under(index)).collect();
    // The guide gives a new deployment one timeout to become Ready ("2
    // minutes"), however far its pods got: containers still being created
    // get no longer than a crash does.
    let timeout = settings.ready_timeout_seconds;
    let limits = classify::Limits { grace_seconds: timeout, container_creating_seconds: timeout };
    let mut verdict = classify::judge_with(s, pods.iter().copied(), limits);
    let mut recheck = verdict.recheck_after.map(i64::from);
    for missing in pending::missing_pods(s, &deployments)? {
        if missing.lasted >= timeout {
            verdict.failing.push(missing.finding);
        } else {
            verdict.settling.push(missing.finding);
            let left = timeout - missing.lasted;
            recheck = Some(recheck.map_or(left, |r| r.min(left)));
        }
    }
    if !verdict.failing.is_empty() {
        let findings = verdict
            .failing
            .into_iter()
            .map(|f| Finding {
                message: format!("Pending strategy {pending} failed: {}: {}", f.reason, f.message),
                ..f
            })
            .collect();
        return Ok(report(Health::Failed, findings, manual));
    }
    if pods.is_empty() || !verdict.settling.is_empty() {
        let mut findings = verdict.settling;
        findings.push(note("Deploying", format!("Waiting for pending strategy {pending} to be ready")));
        return Ok(waiting(findings, manual, recheck));
    }
    // No pod has a problem; each must also report Ready before the
    // strategy's grace period starts (a pod with an unknown phase reports
    // neither).
    if let Some(pod) = pods.iter().find(|p| !condition_is(&p.conditions, "Ready", ConditionStatus::True)) {
        let message = format!("Waiting for pod {} of pending strategy {pending} to be Ready", s.pod_name(pod));
        return Ok(report(Health::Progressing, vec![note("Deploying", message)], manual));
    }
    // Every pending pod is Ready: the strategy still has to stay so for the
    // grace period before it counts as good, counted from the last pod to
    // turn Ready (or to start, when the condition has no time).
    let ready_since = pods
        .iter()
        .map(|p| rewind_sdk::view::condition(&p.conditions, "Ready").and_then(|c| c.last_transition).or(p.started))
        .collect::<Option<Vec<i64>>>()
        .and_then(|times| times.into_iter().max());
    let Some(ready_since) = ready_since else {
        let message = format!(
            "Pending strategy {pending} is Ready, but its pods do not say since when: its {} s grace period cannot be \
             counted",
            settings.grace_seconds
        );
        return Ok(report(Health::Progressing, vec![note("GracePeriod", message)], manual));
    };
    let ready_for = s.seconds_since(ready_since);
    if ready_for < settings.grace_seconds {
        let message = format!(
            "Pending strategy {pending} is Ready; {ready_for} s into its {} s grace period",
            settings.grace_seconds
        );
        let left = settings.grace_seconds - ready_for;
        return Ok(waiting(vec![note("GracePeriod", message)], manual, Some(left)));
    }
    Ok(report(Health::Healthy, Vec::new(), manual))
}

/// `deploymentPhase: Deploying` with no Deployment of a pending strategy:
/// the policy cannot judge the rollout, and says what it looked for rather
/// than calling it healthy.
fn not_found_while_deploying(s: &Snapshot, state: &BlueGreen, settings: &Settings) -> String {
    let besides = state.active.as_deref().map_or_else(String::new, |a| format!(" other than the active strategy {a}"));
    format!(
        "deploymentPhase is Deploying, but {}/{} owns no Deployment of a strategy{besides}: looked for Deployments \
         labelled `{}` or named {}",
        s.target.kind,
        s.target.name,
        settings.strategy_label,
        expected_names(&s.target.name)
    )
}

/// No active strategy: nothing to return to. The release and the phase
/// become Failed (once) and the resource waits for a fix.
fn first_deployment_failed(
    s: &Snapshot,
    state: &BlueGreen,
    settings: &Settings,
    report: &FailureReport,
) -> Eligibility {
    let reason = "First deployment failed - no previous version to rollback to".to_string();
    let release = state.pending_release();
    let release_failed =
        release.is_none_or(|i| state.history[i].get("status").and_then(Value::as_str) == Some("Failed"));
    if state.phase.as_deref() == Some("Failed") && release_failed {
        let reason = format!("{reason}; waiting for manual intervention");
        return Eligibility { eligible: false, reason, actions: Vec::new() };
    }
    let mut status = json!({"deploymentPhase": "Failed"});
    if let Some(index) = release {
        status["releaseHistory"] = Value::from(state.history_with_status(index, "Failed", settings.history_limit));
    }
    let cause = report.findings.first().map_or_else(String::new, |f| format!("Deployment failed: {}; ", f.reason));
    Eligibility {
        eligible: false,
        reason: reason.clone(),
        actions: vec![
            act::status_patch(act::target_key(s), &status),
            act::warning("DeploymentFailed", format!("{cause}{reason}; waiting for manual intervention")),
        ],
    }
}

fn automatic_rollback(s: &Snapshot, state: &BlueGreen, settings: &Settings, report: &FailureReport) -> Selection {
    let (Some(active), Some(pending)) = (&state.active, &state.pending) else {
        return Selection {
            release: None,
            reason: "Nothing to roll back: no pending strategy beside an active one".into(),
            error: None,
            actions: Vec::new(),
        };
    };
    let Some(served) = state.served_version() else {
        let problem = format!(
            "cannot tell which release the active strategy {active} serves: the release history has no entry of \
             strategy {active} that did not fail"
        );
        return Selection { release: None, reason: problem.clone(), error: Some(problem), actions: Vec::new() };
    };
    let mut status = json!({"deploymentPhase": "Stable", "activeStrategy": active, "activeReleaseVersion": served});
    if let Some(index) = state.pending_release() {
        status["releaseHistory"] = Value::from(state.history_with_status(index, "Failed", settings.history_limit));
    }
    let mut actions: Vec<Action> = vec![act::status_patch(act::target_key(s), &status)];
    for (_, strategy, deployment) in strategy_deployments(s, &settings.strategy_label) {
        if strategy == pending {
            actions.push(act::delete(act::object_key(s, deployment)));
        }
    }
    let cause = report.findings.first().map_or_else(|| "pods failing".to_string(), |f| f.message.clone());
    actions.push(act::warning("AutomaticRollback", format!("{cause}; cleaning up failed deployment ({pending})")));
    let done = format!("Rollback complete: Active strategy remains {active}");
    actions.push(act::normal("RollbackComplete", done.clone()));
    Selection {
        release: Some(served.to_string()),
        reason: format!("Automatic rollback: Cleaning up failed deployment ({pending}). {done}"),
        error: None,
        actions,
    }
}

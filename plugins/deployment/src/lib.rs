//! Rolls a failing Deployment, StatefulSet or DaemonSet back to its
//! previous revision, the way `kubectl rollout undo` would, and answers
//! manual requests made with an annotation (`rewind.dev/rollback-to:
//! "<revision>"`). Only pods of the revision being rolled out count: a
//! partitioned StatefulSet's older pods are not the rollout's concern.
//! After a rollback, pods of the abandoned revision that the workload's
//! controller will not replace on its own (an `OnDelete` strategy; a
//! StatefulSet's `OrderedReady` rollout stuck on a pod that is not Ready)
//! are deleted, so they come back from the restored template.
//!
//! Settings (all optional):
//! - `graceSeconds` (default 120): how long a pod problem may last before
//!   the rollout counts as failed;
//! - `containerCreatingSeconds` (default 600, at least `graceSeconds`): how
//!   long a scheduled pod may stay ContainerCreating or PodInitializing;
//! - `rollbackAnnotation` (default `rewind.dev/rollback-to`);
//! - `analysis` (default none): metric checks (`rewind_sdk::analysis`) over
//!   the RolloutPolicy's declared queries; a failing one fails the rollout
//!   as a failing pod would, one without data keeps it progressing;
//! - `analysisSeconds` (default 3600): metrics are judged while the current
//!   release is at most this old, so a long-settled release (or one
//!   restored by a rollback) is not rolled back for a later incident;
//! - `applicationWindowSeconds` (default 600): for a RolloutPolicy that
//!   targets an application, how close to a failing member's release
//!   another member's release must have started to roll back with it
//!   ([`application`]);
//! - `gitops` (default `report`): what to do about a GitOps tool that would
//!   undo the rollback: `pause` its reconciliation of the workload, `report`
//!   the revision to revert in Git instead of rolling back, or `ignore` it
//!   ([`gitops`]).
//!
//! A dump that holds the Deployment without its ReplicaSets or pods is
//! judged from the Deployment's own status, as `kubectl rollout status`
//! does; every "progressing" answer says what it is waiting for.

mod application;
mod configuration;
mod gitops;
mod replace;
mod status;
mod workload;

// Pausing a GitOps tool's reconciliation of the workload (`gitops: pause`):
// Flux's per-object switches on each workload kind, and an Argo CD
// Application's self-heal with rewind's mark beside it. Restoring the
// configuration a release ran with (`configuration: restore`): ConfigMaps'
// data.
rewind_sdk::needs![
    "patch:Deployment:/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile",
    "patch:StatefulSet:/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile",
    "patch:DaemonSet:/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile",
    "patch:Deployment:/metadata/annotations/helm.toolkit.fluxcd.io~1driftDetection",
    "patch:StatefulSet:/metadata/annotations/helm.toolkit.fluxcd.io~1driftDetection",
    "patch:DaemonSet:/metadata/annotations/helm.toolkit.fluxcd.io~1driftDetection",
    "patch:Application.argoproj.io:/spec/syncPolicy/automated/selfHeal",
    "patch:Application.argoproj.io:/metadata/annotations/rewind.dev~1paused-for",
    "patch:ConfigMap:/data",
];

use rewind_sdk::{
    ConditionStatus, Eligibility, FailureReport, Finding, Health, Rules, Selection, Snapshot, act, analysis, classify,
    settings,
};
use serde::Deserialize;
use workload::{Kind, Strategy};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    pub grace_seconds: i64,
    pub container_creating_seconds: i64,
    pub rollback_annotation: String,
    pub analysis: Vec<analysis::Check>,
    pub analysis_seconds: i64,
    pub gitops: gitops::Mode,
    pub configuration: configuration::Mode,
    pub application_window_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grace_seconds: 120,
            container_creating_seconds: classify::DEFAULT_CONTAINER_CREATING_SECONDS,
            rollback_annotation: "rewind.dev/rollback-to".into(),
            analysis: Vec::new(),
            analysis_seconds: 3600,
            gitops: gitops::Mode::default(),
            configuration: configuration::Mode::default(),
            application_window_seconds: 600,
        }
    }
}

impl Settings {
    fn limits(&self) -> classify::Limits {
        classify::Limits {
            grace_seconds: self.grace_seconds,
            container_creating_seconds: self.container_creating_seconds,
        }
    }
}

impl settings::Settings for Settings {
    fn validate(&self) -> Result<(), String> {
        settings::non_negative("graceSeconds", self.grace_seconds)?;
        if self.container_creating_seconds < self.grace_seconds {
            return Err(format!(
                "containerCreatingSeconds ({}) must not be shorter than graceSeconds ({})",
                self.container_creating_seconds, self.grace_seconds
            ));
        }
        if self.rollback_annotation.trim().is_empty() {
            return Err("rollbackAnnotation must not be empty".into());
        }
        settings::non_negative("analysisSeconds", self.analysis_seconds)?;
        settings::non_negative("applicationWindowSeconds", self.application_window_seconds)?;
        analysis::validate("analysis", &self.analysis)
    }
}

pub struct DeploymentPolicy;

rewind_sdk::export!(DeploymentPolicy);

impl Rules for DeploymentPolicy {
    type Settings = Settings;

    fn detect_failure(snapshot: &Snapshot, settings: &Settings) -> Result<FailureReport, String> {
        if let Some(app) = &snapshot.application {
            return application::detect_failure(app, settings);
        }
        let kind = Kind::of(snapshot)?;
        Ok(detect_failure(snapshot, settings, kind, &Strategy::of(kind)))
    }

    fn check_eligibility(
        snapshot: &Snapshot,
        settings: &Settings,
        report: &FailureReport,
    ) -> Result<Eligibility, String> {
        if let Some(app) = &snapshot.application {
            return application::check_eligibility(app, settings, report);
        }
        Ok(check_eligibility(snapshot, settings, report, Kind::of(snapshot)?))
    }

    fn select_release(snapshot: &Snapshot, settings: &Settings, report: &FailureReport) -> Result<Selection, String> {
        if let Some(app) = &snapshot.application {
            return application::select_release(app, settings, report);
        }
        let kind = Kind::of(snapshot)?;
        let restore =
            configuration::changed_alone(snapshot).filter(|_| settings.configuration == configuration::Mode::Restore);
        let mut selection = match (manual_request(snapshot, settings), restore) {
            (Some(requested), _) => select_requested(snapshot, settings, requested, kind),
            (None, Some(changed)) => return Ok(restore_running(snapshot, &changed)),
            (None, None) => select_previous(snapshot, report),
        };
        prepare_rollback(snapshot, settings, kind, &mut selection);
        Ok(selection)
    }
}

/// A ConfigMap changed alone: the release the workload runs keeps running,
/// with the configuration recorded for it written back.
fn restore_running(snapshot: &Snapshot, changed: &configuration::ChangedAlone) -> Selection {
    let reason = format!("{}; restoring it as recorded", changed.describe());
    Selection {
        release: snapshot.current_release().map(|r| r.id.to_string()),
        reason: reason.clone(),
        error: None,
        actions: vec![act::restore_configuration(changed.revision), act::warning("RestoringConfiguration", reason)],
    }
}

/// What goes with the selection's rollback, if it has one: the mark for
/// pods to replace, the configuration written back just before it, and
/// the GitOps owner paused around it.
fn prepare_rollback(snapshot: &Snapshot, settings: &Settings, kind: Kind, selection: &mut Selection) {
    mark_for_replacement(snapshot, kind, selection);
    restore_configuration_first(snapshot, settings, selection);
    pause_gitops_first(snapshot, settings, selection);
}

/// An `OnDelete` StatefulSet or DaemonSet keeps its Ready pods on the
/// abandoned revision after a rollback until they are deleted: the mark lets
/// later evaluations replace them ([`replace`]).
fn mark_for_replacement(snapshot: &Snapshot, kind: Kind, selection: &mut Selection) {
    let rolls_back = selection.actions.iter().any(|a| matches!(a, rewind_sdk::Action::Rollback(_)));
    let (true, Some(current)) = (rolls_back, snapshot.current_release()) else { return };
    if kind != Kind::Deployment && Strategy::of(kind).on_delete {
        selection.actions.push(act::set_annotation(replace::ROLLED_BACK_FROM, &current.id));
    }
}

/// The configuration the release rolled back to ran with, written back
/// just before the rollback (or reported), as the setting says.
fn restore_configuration_first(snapshot: &Snapshot, settings: &Settings, selection: &mut Selection) {
    let Some((at, revision)) = selection.actions.iter().enumerate().find_map(|(i, a)| match a {
        rewind_sdk::Action::Rollback(revision) => Some((i, *revision)),
        _ => None,
    }) else {
        return;
    };
    let Some(release) = snapshot.release_by_revision(revision) else { return };
    let found = configuration::before_rollback(snapshot, release, settings.configuration);
    selection.actions.splice(at..at, found.actions);
    for note in found.notes {
        selection.reason.push_str("; ");
        selection.reason.push_str(&note);
    }
}

/// A rollback the GitOps owner would undo pauses it first (eligibility
/// refused the rollback when the setting does not allow the pause).
fn pause_gitops_first(snapshot: &Snapshot, settings: &Settings, selection: &mut Selection) {
    let rolls_back = selection.actions.iter().any(|a| matches!(a, rewind_sdk::Action::Rollback(_)));
    if !rolls_back {
        return;
    }
    match gitops::before_rollback(snapshot, settings.gitops) {
        gitops::Verdict::Pause { mut before, after } => {
            before.append(&mut selection.actions);
            before.extend(after);
            before.extend(gitops::paused_event(snapshot));
            selection.actions = before;
        }
        gitops::Verdict::Free { after, .. } => selection.actions.extend(after),
        gitops::Verdict::Refuse(_) => {}
    }
}

fn manual_request<'a>(snapshot: &'a Snapshot, settings: &Settings) -> Option<&'a str> {
    snapshot.target_annotation(&settings.rollback_annotation)
}

fn detect_failure(snapshot: &Snapshot, settings: &Settings, kind: Kind, strategy: &Strategy) -> FailureReport {
    let mut failing: Vec<Finding> = Vec::new();
    let target = &snapshot.target;
    // Conditions written before the controller saw the latest spec (a
    // rollback just written, say) describe the rollout before it.
    let conditions_current = target.observed_generation.is_none_or(|observed| observed >= target.generation);

    // The Deployment controller sets Progressing=False only when the
    // progress deadline passed; any other reason there still says the
    // rollout stopped progressing.
    if let Some(c) = snapshot.target_condition("Progressing")
        && conditions_current
        && c.status == ConditionStatus::False
    {
        let finding = match c.reason.as_deref() {
            Some("ProgressDeadlineExceeded") | None => {
                deployment_finding("ProgressDeadlineExceeded", c.message.as_deref(), c.last_transition)
            }
            Some(other) => {
                let message =
                    format!("Progressing is False ({other}): {}", c.message.as_deref().unwrap_or("no message"));
                deployment_finding("NotProgressing", Some(&message), c.last_transition)
            }
        };
        failing.push(finding);
    }
    if let Some(c) = snapshot.target_condition("ReplicaFailure")
        && conditions_current
        && c.status == ConditionStatus::True
    {
        // The condition's own reason (`FailedCreate`, `FailedDelete`) is the
        // one `kubectl describe` and the events show.
        let reason = c.reason.as_deref().filter(|r| classify::is_reason(r));
        let message = format!(
            "ReplicaFailure ({}): {}",
            reason.unwrap_or("no reason given"),
            c.message.as_deref().unwrap_or("pods cannot be created")
        );
        failing.push(deployment_finding(reason.unwrap_or("ReplicaFailure"), Some(&message), c.last_transition));
    }

    let current = snapshot.current_release();
    let old_replicas = status::old_replicas(snapshot, kind);
    let pods: Vec<_> = match current {
        Some(release) => snapshot.pods_of(release).collect(),
        // A StatefulSet or DaemonSet dumped without its ControllerRevisions:
        // its status or annotations still say which pods are the rollout's.
        None if kind != Kind::Deployment => strategy.update_revision_pods(snapshot),
        // Pods whose ReplicaSet the dump lacks sit directly under the
        // Deployment; they are the current revision's when its status says
        // every replica is updated, none of an older revision left.
        None if snapshot.releases.is_empty() && target.updated_replicas.is_some() && old_replicas == 0 => {
            snapshot.pods.iter().filter(|p| snapshot.object(p.object).is_some_and(|o| o.owner == Some(0))).collect()
        }
        None => Vec::new(),
    };
    let unfinished = status::waiting_for(
        snapshot,
        kind,
        strategy,
        &status::Rollout { has_current: current.is_some(), old: old_replicas, pods: &pods },
    );
    // A failed pod is never restarted: its ReplicaSet replaces it, and the
    // object lingers until garbage-collected. Once the status says every
    // replica is updated and available, the replacement serves and the
    // failed pod is history, not a failing rollout.
    let pods = pods.into_iter().filter(|pod| unfinished.is_some() || !classify::is_terminal_failure(pod));
    let verdict = classify::judge_with(snapshot, pods, settings.limits());
    failing.extend(verdict.failing);
    let mut settling = verdict.settling;
    let replacing = match conditions_current {
        true => replace::pods_left_behind(snapshot, kind, strategy, settings.limits()),
        false => replace::Replacing::default(),
    };
    settling.extend(replacing.finding);
    if current.is_none_or(|release| release.created.is_none_or(|c| snapshot.now - c <= settings.analysis_seconds)) {
        let metrics = analysis::judge(snapshot, &settings.analysis);
        failing.extend(metrics.failing);
        settling.extend(metrics.inconclusive);
    }
    let recheck_after = [verdict.recheck_after, replacing.recheck_after].into_iter().flatten().min();
    let state = if !failing.is_empty() {
        Health::Failed
    } else if !settling.is_empty() {
        Health::Progressing
    } else {
        match unfinished {
            Some(waiting) => {
                settling.push(waiting);
                Health::Progressing
            }
            None => Health::Healthy,
        }
    };
    let mut findings = failing;
    findings.extend(settling);
    let mut actions = replacing.actions;
    // A pause rewind made is lifted once the owner applies another
    // revision; until then every decision says it holds.
    match gitops::paused(snapshot).map(|paused| gitops::while_paused(snapshot, &paused)) {
        Some(gitops::WhilePaused::Resume(resume)) => actions.extend(resume),
        Some(gitops::WhilePaused::Held(finding)) => findings.push(finding),
        None => actions.extend(gitops::lift_unrecorded_pause(snapshot, state == Health::Failed, settings.gitops)),
    }
    FailureReport {
        state,
        findings,
        manual_request: manual_request(snapshot, settings).is_some(),
        recheck_after,
        actions,
    }
}

fn deployment_finding(reason: &str, message: Option<&str>, since: Option<i64>) -> Finding {
    Finding {
        reason: reason.to_string(),
        message: message.unwrap_or(reason).to_string(),
        pod: None,
        container: None,
        since,
    }
}

fn check_eligibility(snapshot: &Snapshot, settings: &Settings, report: &FailureReport, kind: Kind) -> Eligibility {
    let name = &snapshot.target.name;
    let (kind, history) = (kind.name(), kind.history());
    let refuse = |reason: String, actions| Eligibility { eligible: false, reason, actions };
    if snapshot.target.paused {
        let reason = format!("{kind} {name} is paused; rollback is refused until it is resumed");
        // A manual request is answered (and cleared) rather than retried.
        let actions = if report.manual_request {
            vec![act::remove_annotation(&settings.rollback_annotation), act::warning("RollbackRefused", reason.clone())]
        } else {
            Vec::new()
        };
        return refuse(reason, actions);
    }
    // What the GitOps owner means for the rollback, said beside the reason.
    let gitops_note = match gitops::before_rollback(snapshot, settings.gitops) {
        gitops::Verdict::Refuse(reason) => {
            let actions = if report.manual_request {
                vec![
                    act::remove_annotation(&settings.rollback_annotation),
                    act::warning("RollbackRefused", reason.clone()),
                ]
            } else {
                Vec::new()
            };
            return refuse(reason, actions);
        }
        gitops::Verdict::Free { note, .. } => note.map(|note| format!("; {note}")).unwrap_or_default(),
        gitops::Verdict::Pause { .. } => {
            "; the GitOps tool's reconciliation of it is paused with the rollback".to_string()
        }
    };
    if report.manual_request {
        return Eligibility {
            eligible: true,
            reason: format!("a rollback was requested by annotation{gitops_note}"),
            actions: Vec::new(),
        };
    }
    if let Some(changed) = configuration::changed_alone(snapshot) {
        match settings.configuration {
            configuration::Mode::Restore => {
                let reason = format!("{}: its recorded configuration is restored, no rollback", changed.describe());
                return Eligibility { eligible: true, reason, actions: Vec::new() };
            }
            configuration::Mode::Report => {
                let reason = format!(
                    "{}: a rollback would not undo that; restore it by hand, or set configuration: restore",
                    changed.describe()
                );
                return refuse(reason, Vec::new());
            }
            configuration::Mode::Ignore => {}
        }
    }
    let Some(current) = snapshot.current_release() else {
        let reason = if snapshot.releases.is_empty() {
            format!("the objects hold no {history} of {kind} {name}, so no revision to roll back to")
        } else {
            format!("no {history} of {kind} {name} holds its pod template yet")
        };
        return refuse(reason, Vec::new());
    };
    match snapshot.previous_release() {
        Some(previous) => Eligibility {
            eligible: true,
            reason: format!("revision {} is older than the current revision {}{gitops_note}", previous.id, current.id),
            actions: Vec::new(),
        },
        None => refuse(
            format!("revision {} is the first revision of {kind} {name}; there is nothing to roll back to", current.id),
            Vec::new(),
        ),
    }
}

fn select_requested(snapshot: &Snapshot, settings: &Settings, requested: &str, kind: Kind) -> Selection {
    let name = &snapshot.target.name;
    let kind = kind.name();
    let annotation = &settings.rollback_annotation;
    let clear = act::remove_annotation(annotation);
    let refuse = |problem: String| Selection {
        release: None,
        reason: "the requested revision cannot be used".into(),
        error: Some(problem.clone()),
        actions: vec![clear.clone(), act::warning("RollbackRevisionNotFound", problem)],
    };
    let Ok(revision) = requested.trim().parse::<u64>() else {
        let shown = rewind_sdk::view::shorten(requested, 64);
        return refuse(format!("{annotation}={shown:?} on {kind} {name} is not a revision number"));
    };
    let Some(release) = snapshot.release_by_revision(revision) else {
        let known: Vec<String> = snapshot.releases.iter().map(|r| r.id.to_string()).collect();
        return refuse(format!(
            "{kind} {name} has no revision {revision} (known revisions: {})",
            if known.is_empty() { "none".into() } else { known.join(", ") }
        ));
    };
    if release.current {
        return Selection {
            release: Some(release.id.to_string()),
            reason: format!("revision {revision} is already current; nothing to do"),
            error: None,
            actions: vec![clear, act::normal("RollbackSkipped", format!("revision {revision} is already current"))],
        };
    }
    Selection {
        release: Some(release.id.to_string()),
        reason: format!("rollback to revision {revision} was requested by annotation {annotation}"),
        error: None,
        actions: vec![
            act::rollback(revision),
            clear,
            act::normal("RollingBack", format!("rolling back to revision {revision} as requested")),
        ],
    }
}

fn select_previous(snapshot: &Snapshot, report: &FailureReport) -> Selection {
    let (Some(current), Some(previous)) = (snapshot.current_release(), snapshot.previous_release()) else {
        return Selection {
            release: None,
            reason: "there is no earlier revision".into(),
            error: None,
            actions: Vec::new(),
        };
    };
    let revision = previous.revision.expect("previous_release only returns numbered releases");
    let cause = report
        .findings
        .first()
        .map(|f| match &f.pod {
            Some(pod) => format!("{} on pod {pod}", f.reason),
            // A metric's finding says which query, value and threshold.
            None if f.reason == "MetricFailed" => f.message.clone(),
            None => f.reason.clone(),
        })
        .unwrap_or_else(|| "the rollout failed".into());
    let reason = format!("revision {} failed ({cause}); revision {} is the previous one", current.id, previous.id);
    Selection {
        release: Some(previous.id.to_string()),
        reason: reason.clone(),
        error: None,
        actions: vec![
            act::rollback(revision),
            act::warning(
                "RollingBack",
                format!("rolling back from revision {} to {}: {cause}", current.id, previous.id),
            ),
        ],
    }
}

//! What the GitOps tool that applies the workload means for a rollback
//! (the `gitops` setting).
//!
//! A rollback rewrites the workload's template, which a GitOps tool sees as
//! drift: it applies the failed version from Git again, the rollout fails
//! again, and the flap guard ends up holding the failed version in place.
//! So before rolling back a workload whose owner would undo it, the policy
//! either refuses and says what to revert in Git (`report`, the default),
//! or pauses the owner's reconciliation of this workload in the narrowest
//! way each tool has (`pause`):
//!
//! - Flux Kustomization: the workload's `kustomize.toolkit.fluxcd.io/
//!   reconcile: disabled`, which makes Flux skip this one object and nothing
//!   else it applies;
//! - Flux HelmRelease: the workload's `helm.toolkit.fluxcd.io/
//!   driftDetection: disabled`, which stops drift correction of this object
//!   while a new chart version or new values still upgrade it;
//! - Argo CD Application: `selfHeal: false` on the Application (Argo CD has
//!   no per-object switch), so a change in the cluster is not undone while
//!   a new commit still syncs. Only an Application whose own status lists
//!   the workload is changed, and it is marked `rewind.dev/paused-for`.
//!
//! The pause is recorded on the workload (`rewind.dev/gitops-paused-at`:
//! the revision the owner had applied) and lifted as soon as the owner
//! applies another revision, so a fix pushed to Git deploys by itself. An
//! owner a person suspended is left alone: it undoes nothing, and rewind
//! resumes only what it paused.

use rewind_sdk::{Action, Finding, GitOps, GitOpsOwner, GitOpsTool, ObjectKey, OwnerState, Snapshot, act};
use serde::Deserialize;
use serde_json::json;

/// How a rollback treats a workload a GitOps tool applies.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Pause the owner's reconciliation of the workload, then roll back.
    Pause,
    /// Do not roll back; say which revision in Git to revert.
    #[default]
    Report,
    /// Roll back as if no tool applied the workload.
    Ignore,
}

/// On the workload: the revision its owner had applied when a rollback
/// paused it.
pub const PAUSED_AT: &str = "rewind.dev/gitops-paused-at";
/// On the workload: when the pause began (RFC 3339).
pub const PAUSED_SINCE: &str = "rewind.dev/gitops-paused-since";
const FLUX_RECONCILE: &str = "kustomize.toolkit.fluxcd.io/reconcile";
const HELM_DRIFT: &str = "helm.toolkit.fluxcd.io/driftDetection";
const PAUSED_FOR: &str = "rewind.dev/paused-for";
const ARGOCD_API_VERSION: &str = "argoproj.io/v1alpha1";

/// What to do about the owner before rolling back.
#[derive(Debug)]
pub enum Verdict {
    /// Roll back; the note (if any) says why the owner does not matter,
    /// and `after` keeps it so once the rollback replaced the workload's
    /// annotations (a person's own per-object switch).
    Free { note: Option<String>, after: Vec<Action> },
    /// Pause the owner: `before` the rollback (the owner object itself, so
    /// it does not undo the rollback), and `after` it (the workload's own
    /// annotations, which a rollback replaces with its release's, as
    /// `kubectl rollout undo` does).
    Pause { before: Vec<Action>, after: Vec<Action> },
    /// Do not roll back, for this reason.
    Refuse(String),
}

/// `Kustomization flux-system/apps`.
fn owner_name(gitops: &GitOps) -> String {
    let kind = match gitops.tool {
        GitOpsTool::FluxKustomization => "Flux Kustomization",
        GitOpsTool::FluxHelmRelease => "Flux HelmRelease",
        GitOpsTool::ArgoCdApplication => "Argo CD Application",
    };
    format!("{kind} {}/{}", gitops.namespace, gitops.name)
}

fn revision<'s>(state: &'s OwnerState<'_>) -> &'s str {
    state.revision.as_deref().unwrap_or("")
}

fn shown(revision: &str) -> String {
    if revision.is_empty() { "an unknown revision".into() } else { format!("revision {revision}") }
}

/// Whether, and how, the workload may be rolled back given its owner.
pub fn before_rollback(snapshot: &Snapshot, mode: Mode) -> Verdict {
    let Some(gitops) = &snapshot.gitops else { return Verdict::Free { note: None, after: Vec::new() } };
    // A rollback while paused (a manual request, or the rollback target
    // failing too) replaces the workload's annotations with its release's,
    // the pause's switch and record among them: they are set again after
    // it. A pause the owner has moved past is lifted by this evaluation's
    // report, and a new one is made below.
    if let Some(held) = paused(snapshot)
        && matches!(while_paused(snapshot, &held), WhilePaused::Held(_))
    {
        let mut after: Vec<Action> =
            workload_switch(gitops.tool).map(|switch| act::set_annotation(switch, "disabled")).into_iter().collect();
        after.push(act::set_annotation(PAUSED_AT, held.at));
        after.extend(held.since.map(|since| act::set_annotation(PAUSED_SINCE, since)));
        return Verdict::Pause { before: Vec::new(), after };
    }
    let owner = owner_name(gitops);
    if mode == Mode::Ignore {
        return free(format!("{owner} applies this workload and may undo the rollback (gitops: ignore)"));
    }
    // A person's own per-object switch: the owner skips this workload, so
    // the rollback holds; the switch is kept across it, and never lifted by
    // rewind, which records no pause of its own.
    if let Some(switch) = workload_switch(gitops.tool)
        && snapshot.target_annotation(switch) == Some("disabled")
        && paused(snapshot).is_none()
    {
        return Verdict::Free {
            note: Some(format!("{switch}: disabled on the workload keeps {owner} from undoing the rollback")),
            after: vec![act::set_annotation(switch, "disabled")],
        };
    }
    let state = match &gitops.owner {
        GitOpsOwner::Missing => {
            return free(format!("the workload names {owner}, which does not exist"));
        }
        GitOpsOwner::Unreadable(why) => {
            return Verdict::Refuse(format!(
                "{owner} applies this workload but cannot be read ({why}), so whether it would undo a rollback \
                 cannot be told; let the controller read it, or set gitops: ignore"
            ));
        }
        GitOpsOwner::Found(state) => state,
    };
    // An earlier evaluation changed the owner and stopped before it
    // recorded the pause on the workload (its rollback met a conflict):
    // the pause is rewind's, and is finished rather than taken for a
    // person's.
    if paused_for_this(snapshot, state) && mode == Mode::Pause {
        return record_pause(snapshot, state, Vec::new(), Vec::new());
    }
    if state.suspended {
        return free(format!("{owner} is suspended, so it does not undo the rollback"));
    }
    if state.automated == Some(false) || state.self_heal == Some(false) {
        return free(format!(
            "{owner} does not undo changes made in the cluster; its next sync of Git deploys {} again unless it is \
             reverted there",
            shown(revision(state))
        ));
    }
    let at = revision(state);
    match mode {
        Mode::Report => Verdict::Refuse(format!(
            "{owner} applies {} from Git and would undo a rollback at its next reconcile: revert it in Git (or set \
             gitops: pause to let rewind pause it)",
            shown(at)
        )),
        Mode::Pause => pause(snapshot, gitops, state),
        Mode::Ignore => unreachable!("handled above"),
    }
}

fn free(note: String) -> Verdict {
    Verdict::Free { note: Some(note), after: Vec::new() }
}

/// The pause, with its record on the workload after the rollback.
fn record_pause(snapshot: &Snapshot, state: &OwnerState, before: Vec<Action>, mut after: Vec<Action>) -> Verdict {
    after.push(act::set_annotation(PAUSED_AT, revision(state)));
    after.push(act::set_annotation(PAUSED_SINCE, &rewind_sdk::time::format(snapshot.now)));
    Verdict::Pause { before, after }
}

fn pause(snapshot: &Snapshot, gitops: &GitOps, state: &OwnerState) -> Verdict {
    let record = |before: Vec<Action>, after: Vec<Action>| record_pause(snapshot, state, before, after);
    match gitops.tool {
        // Before the rollback, so Flux cannot apply the failed version in
        // between; again after it, which replaced the workload's annotations.
        GitOpsTool::FluxKustomization | GitOpsTool::FluxHelmRelease => {
            let switch = workload_switch(gitops.tool).expect("Flux has a per-object switch");
            record(vec![act::set_annotation(switch, "disabled")], vec![act::set_annotation(switch, "disabled")])
        }
        GitOpsTool::ArgoCdApplication if !state.confirmed => Verdict::Refuse(format!(
            "{} is named by the workload's tracking id but does not list it among its resources, so rewind does \
             not change it",
            owner_name(gitops)
        )),
        GitOpsTool::ArgoCdApplication => {
            let patch = json!({
                "metadata": {"annotations": {PAUSED_FOR: workload_name(snapshot)}},
                "spec": {"syncPolicy": {"automated": {"selfHeal": false}}},
            });
            record(vec![act::merge_patch(application(gitops), &patch)], Vec::new())
        }
    }
}

fn workload_name(snapshot: &Snapshot) -> String {
    format!("{}/{}", snapshot.target.namespace, snapshot.target.name)
}

fn application(gitops: &GitOps) -> ObjectKey {
    ObjectKey {
        api_version: ARGOCD_API_VERSION.into(),
        kind: "Application".into(),
        namespace: Some(gitops.namespace.to_string()),
        name: gitops.name.to_string(),
    }
}

/// A pause rewind made, as the workload records it.
pub struct Paused<'s> {
    pub at: &'s str,
    pub since: Option<&'s str>,
}

pub fn paused<'s>(snapshot: &'s Snapshot) -> Option<Paused<'s>> {
    let at = snapshot.target_annotation(PAUSED_AT)?;
    Some(Paused { at, since: snapshot.target_annotation(PAUSED_SINCE) })
}

/// While the workload is paused: either the actions that resume its owner
/// (it applied another revision, or no longer applies the workload) and
/// say so, or a finding that says it is paused and what to do.
pub enum WhilePaused {
    Resume(Vec<Action>),
    Held(Finding),
}

pub fn while_paused(snapshot: &Snapshot, paused: &Paused) -> WhilePaused {
    let Some(gitops) = &snapshot.gitops else {
        let set: Vec<&str> =
            [FLUX_RECONCILE, HELM_DRIFT].into_iter().filter(|key| snapshot.target_annotation(key).is_some()).collect();
        return WhilePaused::Resume(resume_workload(snapshot, "no GitOps tool applies this workload any more", &set));
    };
    let owner = owner_name(gitops);
    let moved_on = match &gitops.owner {
        GitOpsOwner::Found(state) => state.revision.as_deref().filter(|now| *now != paused.at),
        _ => None,
    };
    match (moved_on, &gitops.owner) {
        (Some(now), GitOpsOwner::Found(state)) => {
            let why = format!("{owner} applied revision {now} after {}", shown(paused.at));
            let mut actions = resume_owner(snapshot, gitops, state);
            let set = workload_switch(gitops.tool).filter(|key| snapshot.target_annotation(key).is_some());
            actions.extend(resume_workload(snapshot, &why, set.as_slice()));
            WhilePaused::Resume(actions)
        }
        _ => WhilePaused::Held(Finding {
            reason: "GitOpsPaused".into(),
            message: format!(
                "rewind paused {owner} for this workload{} at {}: push a fix to Git, and rewind resumes it when it \
                 applies a newer revision; to resume by hand, remove the annotations {PAUSED_AT} and {}",
                paused.since.map(|since| format!(" since {since}")).unwrap_or_default(),
                shown(paused.at),
                pause_mechanism(gitops.tool)
            ),
            pod: None,
            container: None,
            since: None,
        }),
    }
}

/// The annotation of the workload that pauses its owner, where the tool
/// has one.
fn workload_switch(tool: GitOpsTool) -> Option<&'static str> {
    match tool {
        GitOpsTool::FluxKustomization => Some(FLUX_RECONCILE),
        GitOpsTool::FluxHelmRelease => Some(HELM_DRIFT),
        GitOpsTool::ArgoCdApplication => None,
    }
}

fn pause_mechanism(tool: GitOpsTool) -> &'static str {
    match tool {
        GitOpsTool::FluxKustomization => "kustomize.toolkit.fluxcd.io/reconcile from the workload",
        GitOpsTool::FluxHelmRelease => "helm.toolkit.fluxcd.io/driftDetection from the workload",
        GitOpsTool::ArgoCdApplication => "rewind.dev/paused-for from the Application and set its selfHeal back",
    }
}

/// The Application is changed back only where rewind changed it for this
/// workload: a person's own `selfHeal: false` stays, and automated sync a
/// person turned off meanwhile is not turned on again by setting selfHeal
/// (a merge patch would create `automated` anew); only the mark goes.
fn resume_owner(snapshot: &Snapshot, gitops: &GitOps, state: &OwnerState) -> Vec<Action> {
    if gitops.tool != GitOpsTool::ArgoCdApplication || !paused_for_this(snapshot, state) || !state.confirmed {
        return Vec::new();
    }
    let patch = match state.automated {
        Some(true) => json!({
            "metadata": {"annotations": {PAUSED_FOR: null}},
            "spec": {"syncPolicy": {"automated": {"selfHeal": true}}},
        }),
        _ => json!({"metadata": {"annotations": {PAUSED_FOR: null}}}),
    };
    vec![act::merge_patch(application(gitops), &patch)]
}

fn paused_for_this(snapshot: &Snapshot, state: &OwnerState) -> bool {
    state.paused_for.as_deref() == Some(workload_name(snapshot).as_str())
}

/// An Application rewind paused for this workload whose rollback never
/// followed (it met a conflict, and then the rollout recovered, or the
/// setting left `pause`): nothing on the workload records that pause, so
/// it is lifted here rather than left for no one to find. While the
/// rollout still fails under `pause`, the next rollback finishes it
/// instead ([`before_rollback`]).
pub fn lift_unrecorded_pause(snapshot: &Snapshot, failing: bool, mode: Mode) -> Vec<Action> {
    let Some(gitops) = &snapshot.gitops else { return Vec::new() };
    let GitOpsOwner::Found(state) = &gitops.owner else { return Vec::new() };
    if paused(snapshot).is_some() || (failing && mode == Mode::Pause) {
        return Vec::new();
    }
    let mut actions = resume_owner(snapshot, gitops, state);
    if !actions.is_empty() {
        actions.push(act::normal(
            "GitOpsResumed",
            format!(
                "{} was paused for a rollback of this workload that did not follow: its reconciliation is resumed",
                owner_name(gitops)
            ),
        ));
    }
    actions
}

/// Removes the pause from the workload: the tool's switch (only those set,
/// so no grant is asked for what is not there) and rewind's record.
fn resume_workload(snapshot: &Snapshot, why: &str, switches: &[&str]) -> Vec<Action> {
    let mut actions: Vec<Action> = switches.iter().map(|key| act::remove_annotation(key)).collect();
    actions.push(act::remove_annotation(PAUSED_AT));
    if snapshot.target_annotation(PAUSED_SINCE).is_some() {
        actions.push(act::remove_annotation(PAUSED_SINCE));
    }
    actions.push(act::normal("GitOpsResumed", format!("{why}: its reconciliation of this workload is resumed")));
    actions
}

/// The event that says a pause began, with what the team must do.
pub fn paused_event(snapshot: &Snapshot) -> Option<Action> {
    let gitops = snapshot.gitops.as_ref()?;
    let GitOpsOwner::Found(state) = &gitops.owner else { return None };
    Some(act::warning(
        "GitOpsPaused",
        format!(
            "paused {} for this workload at {} to roll back: revert or fix that revision in Git; rewind resumes \
             reconciliation when a newer revision is applied",
            owner_name(gitops),
            shown(revision(state))
        ),
    ))
}

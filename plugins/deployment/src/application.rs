//! The rule for an application (a RolloutPolicy that targets workloads
//! grouped by `app.kubernetes.io/part-of`, or listed): its members ship
//! together, so they roll back together.
//!
//! Each member is judged as a workload alone would be. When one fails,
//! every member whose current release started within
//! `applicationWindowSeconds` of the failing release (before or after it)
//! was part of the same change: each goes back to its newest release
//! created before the earliest of those starts — the releases that ran
//! together before the change. A member that cannot go back (paused, no
//! earlier release, a GitOps owner the `gitops` setting refuses) makes the
//! whole application not eligible, and the reason names it: rolling back
//! part of a change is what this rule exists to avoid. A manual request on
//! a member rolls back that member alone, as asked.

use super::{Settings, workload::Kind};
use rewind_sdk::{Action, Application, Eligibility, FailureReport, Finding, Health, Selection, Snapshot, act};

/// One member's own report, as a workload evaluated alone would get it.
fn member_reports(application: &Application, settings: &Settings) -> Result<Vec<FailureReport>, String> {
    application
        .members
        .iter()
        .map(|member| {
            let kind = Kind::of(member)?;
            Ok(super::detect_failure(member, settings, kind, &super::workload::Strategy::of(kind)))
        })
        .collect()
}

fn name(member: &Snapshot) -> String {
    format!("{}/{}", member.target.kind, member.target.name)
}

/// Every member's actions, on that member.
fn on_member(member: usize, actions: Vec<Action>) -> impl Iterator<Item = Action> {
    actions.into_iter().filter_map(move |a| act::on_member(member as u32, a))
}

pub fn detect_failure(application: &Application, settings: &Settings) -> Result<FailureReport, String> {
    let reports = member_reports(application, settings)?;
    let state = [Health::Failed, Health::Progressing]
        .into_iter()
        .find(|state| reports.iter().any(|r| r.state == *state))
        .unwrap_or(Health::Healthy);
    let mut findings = Vec::new();
    let mut actions = Vec::new();
    for (i, (member, report)) in application.members.iter().zip(reports.iter()).enumerate() {
        findings.extend(
            report
                .findings
                .iter()
                .map(|f| Finding { message: format!("{}: {}", name(member), f.message), ..f.clone() }),
        );
        actions.extend(on_member(i, report.actions.clone()));
    }
    Ok(FailureReport {
        state,
        findings,
        manual_request: reports.iter().any(|r| r.manual_request),
        recheck_after: reports.iter().filter_map(|r| r.recheck_after).min(),
        actions,
    })
}

/// Where each member of the change goes back to, or why it cannot.
struct Plan {
    /// The failing members, by name.
    failing: Vec<String>,
    /// Member index and the revision it returns to.
    returns: Vec<(usize, u64)>,
    /// Members of the change that cannot go back, with why.
    blocked: Vec<String>,
}

fn plan(application: &Application, settings: &Settings) -> Result<Plan, String> {
    let reports = member_reports(application, settings)?;
    let members = &application.members;
    let failing: Vec<usize> = (0..members.len()).filter(|i| reports[*i].state == Health::Failed).collect();
    let mut blocked = Vec::new();
    let mut starts = Vec::new();
    for &i in &failing {
        match members[i].current_release().and_then(|r| r.created) {
            Some(start) => starts.push(start),
            None => blocked.push(format!("{}: when its failing release started is not known", name(&members[i]))),
        }
    }
    let window = settings.application_window_seconds;
    let in_window = |start: i64| starts.iter().any(|failed| (start - failed).abs() <= window);
    let change: Vec<usize> = (0..members.len())
        .filter(|i| failing.contains(i) || members[*i].current_release().and_then(|r| r.created).is_some_and(in_window))
        .collect();
    // The change began when the first of its releases started.
    let began = change.iter().filter_map(|i| members[*i].current_release().and_then(|r| r.created)).min();
    let mut returns = Vec::new();
    for &i in &change {
        let member = &members[i];
        let why_not = if member.target.paused {
            Some("paused".to_string())
        } else if let super::gitops::Verdict::Refuse(reason) = super::gitops::before_rollback(member, settings.gitops) {
            Some(reason)
        } else {
            None
        };
        match (why_not, began.and_then(|began| release_before(member, began))) {
            (Some(reason), _) => blocked.push(format!("{}: {reason}", name(member))),
            (None, Some(revision)) => returns.push((i, revision)),
            (None, None) => blocked.push(format!("{}: no release of it started before the change", name(member))),
        }
    }
    Ok(Plan { failing: failing.iter().map(|i| name(&members[*i])).collect(), returns, blocked })
}

/// The member's newest numbered release created before `began`, older than
/// the one it runs.
fn release_before(member: &Snapshot, began: i64) -> Option<u64> {
    let current = member.current_release()?.revision?;
    member
        .releases
        .iter()
        .filter(|r| r.created.is_some_and(|created| created < began))
        .filter_map(|r| r.revision)
        .filter(|revision| *revision < current)
        .max()
}

fn describe(application: &Application, returns: &[(usize, u64)]) -> String {
    let to: Vec<String> = returns
        .iter()
        .map(|(i, revision)| format!("{} to revision {revision}", name(&application.members[*i])))
        .collect();
    to.join(", ")
}

pub fn check_eligibility(
    application: &Application,
    settings: &Settings,
    report: &FailureReport,
) -> Result<Eligibility, String> {
    if report.manual_request {
        let reason = "a rollback of a member was requested by annotation; that member rolls back alone".to_string();
        return Ok(Eligibility { eligible: true, reason, actions: Vec::new() });
    }
    let plan = plan(application, settings)?;
    let failing = plan.failing.join(", ");
    if !plan.blocked.is_empty() {
        let reason = format!(
            "{failing} failed, but the application {} cannot roll back together: {}",
            application.name,
            plan.blocked.join("; ")
        );
        return Ok(Eligibility { eligible: false, reason, actions: Vec::new() });
    }
    let reason = format!(
        "{failing} failed; the members whose release started within {} s of it roll back together: {}",
        settings.application_window_seconds,
        describe(application, &plan.returns)
    );
    Ok(Eligibility { eligible: true, reason, actions: Vec::new() })
}

pub fn select_release(
    application: &Application,
    settings: &Settings,
    report: &FailureReport,
) -> Result<Selection, String> {
    let members = &application.members;
    if report.manual_request {
        return Ok(select_requested(application, settings));
    }
    let plan = plan(application, settings)?;
    let mut actions = Vec::new();
    for &(i, revision) in &plan.returns {
        let member = &members[i];
        let mut selection = Selection {
            release: None,
            reason: String::new(),
            error: None,
            actions: vec![
                act::rollback(revision),
                act::warning(
                    "RollingBack",
                    format!(
                        "rolling back to revision {revision} with application {}: {} failed",
                        application.name,
                        plan.failing.join(", ")
                    ),
                ),
            ],
        };
        super::prepare_rollback(member, settings, Kind::of(member)?, &mut selection);
        actions.extend(on_member(i, selection.actions));
    }
    let first = plan.returns.first().and_then(|(i, revision)| members[*i].release_by_revision(*revision));
    Ok(Selection {
        release: first.map(|r| r.id.to_string()),
        reason: format!("{} failed; rolling back {}", plan.failing.join(", "), describe(application, &plan.returns)),
        error: None,
        actions,
    })
}

/// Each member a person asked to roll back, alone, as the annotation says.
fn select_requested(application: &Application, settings: &Settings) -> Selection {
    let mut out = Selection { release: None, reason: String::new(), error: None, actions: Vec::new() };
    let mut reasons = Vec::new();
    for (i, member) in application.members.iter().enumerate() {
        let Some(requested) = super::manual_request(member, settings) else { continue };
        let Ok(kind) = Kind::of(member) else { continue };
        let mut selection = super::select_requested(member, settings, requested, kind);
        super::prepare_rollback(member, settings, kind, &mut selection);
        reasons.push(format!("{}: {}", name(member), selection.reason));
        if out.error.is_none() {
            out.error = selection.error;
        }
        out.release = out.release.or(selection.release);
        out.actions.extend(on_member(i, selection.actions));
    }
    out.reason = reasons.join("; ");
    out
}

//! The example policy of the README ("Writing a policy"): roll a Deployment
//! back to its previous revision when pods of the current one keep failing.

use rewind_sdk::{Eligibility, FailureReport, Health, Rules, Selection, Snapshot, act, classify};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    pub grace_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { grace_seconds: 120 }
    }
}

impl rewind_sdk::Settings for Settings {
    fn validate(&self) -> Result<(), String> {
        rewind_sdk::settings::non_negative("graceSeconds", self.grace_seconds)
    }
}

pub struct RollbackOnCrash;
rewind_sdk::export!(RollbackOnCrash);

impl Rules for RollbackOnCrash {
    type Settings = Settings;

    fn detect_failure(s: &Snapshot, settings: &Settings) -> Result<FailureReport, String> {
        let pods = s.current_release().into_iter().flat_map(|r| s.pods_of(r));
        let verdict = classify::judge(s, pods, settings.grace_seconds);
        let state = if verdict.failing.is_empty() { Health::Healthy } else { Health::Failed };
        // When a problem still within the grace period will have outlasted it.
        let recheck_after = verdict.recheck_after;
        Ok(FailureReport { state, findings: verdict.failing, manual_request: false, recheck_after, actions: vec![] })
    }

    fn check_eligibility(s: &Snapshot, _: &Settings, _: &FailureReport) -> Result<Eligibility, String> {
        let eligible = s.previous_release().is_some() && !s.target.paused;
        let reason = if eligible { "a previous revision exists" } else { "no previous revision, or paused" };
        Ok(Eligibility { eligible, reason: reason.into(), actions: vec![] })
    }

    fn select_release(s: &Snapshot, _: &Settings, report: &FailureReport) -> Result<Selection, String> {
        let previous = s.previous_release().and_then(|r| r.revision).ok_or("no previous revision")?;
        let cause = report.findings.first().map_or("pods failing", |f| f.reason.as_str());
        Ok(Selection {
            release: Some(previous.to_string()),
            reason: format!("{cause}: back to revision {previous}"),
            error: None,
            actions: vec![act::rollback(previous), act::warning("RollingBack", cause)],
        })
    }
}

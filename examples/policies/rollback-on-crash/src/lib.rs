//! The example policy of the README ("Writing a policy"): roll a Deployment
//! back to its previous revision when pods of the current one keep failing.

use rewind_sdk::{Eligibility, FailureReport, Health, Policy, Selection, Snapshot, act, classify, settings};

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Settings {
    grace_seconds: i64,
}

struct RollbackOnCrash;
rewind_sdk::export!(RollbackOnCrash);

impl Policy for RollbackOnCrash {
    fn validate_settings(json: String) -> Result<(), String> {
        settings::parse::<Settings>(&json).map(|_| ())
    }

    fn detect_failure(s: Snapshot) -> Result<FailureReport, String> {
        let grace = settings::parse::<Settings>(&s.settings)?.grace_seconds;
        let current = s.current_release().and_then(|r| r.object);
        let verdict = classify::judge(&s, current.into_iter().flat_map(|o| s.pods_under(o)), grace);
        let state = if verdict.failing.is_empty() { Health::Healthy } else { Health::Failed };
        Ok(FailureReport { state, findings: verdict.failing, manual_request: false, actions: vec![] })
    }

    fn check_eligibility(s: Snapshot, _: FailureReport) -> Result<Eligibility, String> {
        let eligible = s.previous_release().is_some() && !s.target.paused;
        Ok(Eligibility { eligible, reason: "previous revision available".into(), actions: vec![] })
    }

    fn select_release(s: Snapshot, _: FailureReport) -> Result<Selection, String> {
        let previous = s.previous_release().and_then(|r| r.revision).ok_or("no previous revision")?;
        Ok(Selection {
            release: Some(previous.to_string()),
            reason: "roll back to the previous revision".into(),
            error: None,
            actions: vec![act::rollback_deployment(previous), act::warning("RollingBack", "pods crash")],
        })
    }
}

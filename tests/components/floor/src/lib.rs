//! A policy that answers without decoding or reading the snapshot it is
//! given, with answers shaped like the Deployment policy's on a failing
//! rollout (one finding, eligible, a release and two actions). The
//! benchmark runs it to measure the floor of an evaluation: a fresh
//! instance, the snapshot's bytes copied in, three calls and their answers
//! carried out, with no policy work at all.

// The policy is exported only in the wasm32 build.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use rewind_sdk::{Eligibility, FailureReport, Finding, Health, Policy, Selection, act};

struct Floor;

impl Policy for Floor {
    fn validate_settings(_: String) -> Result<(), String> {
        Ok(())
    }

    fn detect_failure(_snapshot: Vec<u8>) -> Result<FailureReport, String> {
        let finding = Finding {
            pod: Some("web-2-0".into()),
            container: Some("web".into()),
            reason: "ImagePullBackOff".into(),
            message: "Back-off pulling image".into(),
            since: None,
        };
        Ok(FailureReport {
            state: Health::Failed,
            findings: vec![finding],
            manual_request: false,
            recheck_after: None,
            actions: vec![],
        })
    }

    fn check_eligibility() -> Result<Eligibility, String> {
        Ok(Eligibility { eligible: true, reason: "revision 2 is available".into(), actions: vec![] })
    }

    fn select_release() -> Result<Selection, String> {
        Ok(Selection {
            release: Some("2".into()),
            reason: "revision 3 failed; revision 2 is the previous one".into(),
            error: None,
            actions: vec![act::rollback(2), act::warning("RollingBack", "rolling back to revision 2")],
        })
    }
}

#[cfg(target_arch = "wasm32")]
rewind_sdk::export_policy!(Floor);

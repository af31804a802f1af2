//! A policy built against `rewind:policy@0.2.0` (the frozen copy in `wit/`),
//! where check-eligibility and select-release receive the failure report.
//! Its answers quote the report they were given, so a test can tell the
//! host passed the very report detect-failure returned.

// The policy is exported only in the wasm32 build.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

wit_bindgen::generate!({ path: "wit", world: "rollback-policy" });

use exports::rewind::policy::policy::Guest;
use rewind::policy::types::{Eligibility, FailureReport, Finding, Health, Selection};

struct ContractZeroTwo;

/// The first finding's `field`, or a note that the report had none.
fn quote(report: &FailureReport, field: impl Fn(&Finding) -> &str) -> String {
    match report.findings.first() {
        Some(finding) => format!("{} finding(s), the first: {}", report.findings.len(), field(finding)),
        None => "no findings".to_string(),
    }
}

impl Guest for ContractZeroTwo {
    fn validate_settings(_: String) -> Result<(), String> {
        Ok(())
    }

    fn detect_failure(snapshot: Vec<u8>) -> Result<FailureReport, String> {
        let finding = Finding {
            reason: "OldContract".into(),
            message: format!("read {} snapshot bytes", snapshot.len()),
            pod: None,
            container: None,
            since: None,
        };
        Ok(FailureReport { state: Health::Failed, findings: vec![finding], manual_request: false, actions: vec![] })
    }

    fn check_eligibility(report: FailureReport) -> Result<Eligibility, String> {
        Ok(Eligibility { eligible: true, reason: format!("given {}", quote(&report, |f| &f.message)), actions: vec![] })
    }

    fn select_release(report: FailureReport) -> Result<Selection, String> {
        Ok(Selection {
            release: None,
            reason: format!("given {}", quote(&report, |f| &f.reason)),
            error: None,
            actions: vec![],
        })
    }
}

#[cfg(target_arch = "wasm32")]
export!(ContractZeroTwo);

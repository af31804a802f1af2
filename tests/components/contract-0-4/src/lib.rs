//! A policy built against `rewind:policy@0.4.0` (the frozen `wit/0.4.0/`),
//! without the SDK, which speaks the newest contract. It logs through the
//! host, reads the snapshot as JSON (which for 0.4.0 has a metrics section
//! and no GitOps section), says when to look again, and asks for a
//! `rollback`, so a test can tell the host ran every part of the contract.

// The policy is exported only in the wasm32 build.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

wit_bindgen::generate!({ path: "../../../wit/0.4.0", world: "rollback-policy" });

use exports::rewind::policy::policy::Guest;
use rewind::policy::host;
use rewind::policy::types::{Action, Eligibility, FailureReport, Finding, Health, LogLevel, Selection};

struct ContractZeroFour;

impl Guest for ContractZeroFour {
    fn validate_settings(_: String) -> Result<(), String> {
        Ok(())
    }

    fn detect_failure(snapshot: Vec<u8>) -> Result<FailureReport, String> {
        host::log(LogLevel::Info, &format!("given {} snapshot bytes", snapshot.len()));
        let json = host::snapshot_json();
        let finding = Finding {
            reason: "ContractZeroFour".into(),
            message: format!("metrics: {}, gitops: {}", json.contains("\"metrics\""), json.contains("\"gitops\"")),
            pod: None,
            container: None,
            since: None,
        };
        Ok(FailureReport {
            state: Health::Failed,
            findings: vec![finding],
            manual_request: false,
            recheck_after: Some(60),
            actions: vec![],
        })
    }

    fn check_eligibility() -> Result<Eligibility, String> {
        Ok(Eligibility { eligible: true, reason: "always".into(), actions: vec![] })
    }

    fn select_release() -> Result<Selection, String> {
        Ok(Selection {
            release: Some("1".into()),
            reason: "the first revision".into(),
            error: None,
            actions: vec![Action::Rollback(1)],
        })
    }
}

#[cfg(target_arch = "wasm32")]
export!(ContractZeroFour);

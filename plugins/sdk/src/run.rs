//! The calls the exported component makes into a policy's [`Rules`]:
//! panic reporting, then settings parsed and validated, then the rule.
//! Plain functions, so a native build (tests, benchmarks) runs a policy the
//! same way the component does.

use crate::settings::Settings;
use crate::{Eligibility, FailureReport, Rules, Selection, Snapshot};

/// Parses and validates the settings of policy `R`.
pub fn settings_of<R: Rules>(json: &str) -> Result<R::Settings, String> {
    let settings: R::Settings = crate::settings::parse(json)?;
    settings.validate().map_err(|e| format!("invalid settings: {e}"))?;
    Ok(settings)
}

pub fn validate_settings<R: Rules>(json: &str) -> Result<(), String> {
    crate::report_panics();
    settings_of::<R>(json).map(|_| ())
}

pub fn detect_failure<R: Rules>(snapshot: &Snapshot) -> Result<FailureReport, String> {
    crate::report_panics();
    R::detect_failure(snapshot, &settings_of::<R>(&snapshot.settings)?)
}

pub fn check_eligibility<R: Rules>(snapshot: &Snapshot, report: &FailureReport) -> Result<Eligibility, String> {
    crate::report_panics();
    R::check_eligibility(snapshot, &settings_of::<R>(&snapshot.settings)?, report)
}

pub fn select_release<R: Rules>(snapshot: &Snapshot, report: &FailureReport) -> Result<Selection, String> {
    crate::report_panics();
    R::select_release(snapshot, &settings_of::<R>(&snapshot.settings)?, report)
}

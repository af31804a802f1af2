//! The calls the exported component makes into a policy's [`Rules`]:
//! panic reporting, then settings parsed and validated, then the rule.
//! [`guest`] decodes the snapshot, parses the settings once per evaluation
//! and keeps both, with the failure report, between the stages. A native
//! build (tests, benchmarks) calls the rules directly, with the settings
//! from [`settings_of`] and the snapshot from [`decode`].

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

/// Decodes the snapshot bytes the host passes to `detect-failure`.
pub fn decode(bytes: &[u8]) -> Result<Snapshot<'_>, String> {
    rewind_snapshot::decode(bytes).map_err(|e| e.to_string())
}

/// The component's side of the three stages. The host passes the snapshot
/// to `detect-failure` only; the other two stages of the same evaluation
/// run on the same instance and read the snapshot, the settings and the
/// failure report kept here.
pub mod guest {
    use super::*;
    use std::any::Any;
    use std::cell::Cell;

    /// What detect-failure leaves for the later stages of its evaluation;
    /// `settings` are `S` once downcast.
    struct Kept<S: ?Sized + 'static> {
        snapshot: &'static Snapshot<'static>,
        settings: &'static S,
        report: &'static FailureReport,
    }

    // Derived Copy would require `S: Copy`; the fields are references.
    impl<S: ?Sized> Clone for Kept<S> {
        fn clone(&self) -> Self {
            *self
        }
    }
    impl<S: ?Sized> Copy for Kept<S> {}

    thread_local! {
        static KEPT: Cell<Option<Kept<dyn Any>>> = const { Cell::new(None) };
    }

    /// The bytes, the decoded snapshot, the parsed settings and the report
    /// are leaked on purpose: an instance serves one evaluation and is then
    /// dropped whole, and the `'static` borrows let the later stages read
    /// them in place (settings are parsed once per evaluation, not once per
    /// stage). The report is kept as returned, so the later stages see
    /// exactly what the host got.
    pub fn detect_failure<R: Rules>(bytes: Vec<u8>) -> Result<FailureReport, String>
    where
        R::Settings: 'static,
    {
        crate::report_panics();
        let bytes: &'static [u8] = bytes.leak();
        let snapshot: &'static Snapshot<'static> = Box::leak(Box::new(decode(bytes)?));
        let settings: &'static R::Settings = Box::leak(Box::new(settings_of::<R>(&snapshot.settings)?));
        let report = R::detect_failure(snapshot, settings)?;
        KEPT.set(Some(Kept { snapshot, settings, report: Box::leak(Box::new(report.clone())) }));
        Ok(report)
    }

    pub fn check_eligibility<R: Rules>() -> Result<Eligibility, String>
    where
        R::Settings: 'static,
    {
        let kept = kept::<R>("check-eligibility")?;
        R::check_eligibility(kept.snapshot, kept.settings, kept.report)
    }

    pub fn select_release<R: Rules>() -> Result<Selection, String>
    where
        R::Settings: 'static,
    {
        let kept = kept::<R>("select-release")?;
        R::select_release(kept.snapshot, kept.settings, kept.report)
    }

    fn kept<R: Rules>(stage: &str) -> Result<Kept<R::Settings>, String>
    where
        R::Settings: 'static,
    {
        let kept = KEPT.get().ok_or_else(|| {
            format!(
                "{stage} was called before detect-failure succeeded on this instance, so there is no snapshot or \
                 report to answer about"
            )
        })?;
        let settings = kept.settings.downcast_ref().expect("kept by detect-failure of the same policy");
        Ok(Kept { snapshot: kept.snapshot, settings, report: kept.report })
    }
}

//! The guest SDK for rewind policies.
//!
//! A policy implements [`Policy`] and exports it with
//! `rewind_sdk::export!(MyPolicy);`. The SDK carries the WIT bindings
//! (so every policy speaks the same contract version) and what every policy
//! would otherwise rewrite: reading the snapshot ([`view`]), classifying
//! failing pods ([`classify`]), reading raw JSON ([`raw`]), building actions
//! ([`act`]) and parsing settings ([`settings`]).

wit_bindgen::generate!({
    path: "../../wit",
    world: "rollback-policy",
    pub_export_macro: true,
    export_macro_name: "export_policy",
    default_bindings_module: "rewind_sdk",
});

pub mod act;
pub mod classify;
pub mod raw;
pub mod settings;
pub mod view;

pub use self::exports::rewind::policy::policy::Guest as Policy;
pub use self::rewind::policy::types::*;

/// Exports a type implementing [`Policy`] as the component's policy.
///
/// The export exists only in the wasm32 build, so the same crate also
/// builds (and unit-tests) natively.
///
/// Every call first installs [`report_panics`], so a panic's message
/// reaches the host's error report.
#[macro_export]
macro_rules! export {
    ($policy:ident) => {
        #[cfg(target_arch = "wasm32")]
        mod __rewind_export {
            use $crate::{Eligibility, FailureReport, Policy, Selection, Snapshot};

            struct Exported;

            impl Policy for Exported {
                fn validate_settings(settings: String) -> Result<(), String> {
                    $crate::report_panics();
                    <super::$policy as Policy>::validate_settings(settings)
                }
                fn detect_failure(snapshot: Snapshot) -> Result<FailureReport, String> {
                    $crate::report_panics();
                    <super::$policy as Policy>::detect_failure(snapshot)
                }
                fn check_eligibility(snapshot: Snapshot, report: FailureReport) -> Result<Eligibility, String> {
                    $crate::report_panics();
                    <super::$policy as Policy>::check_eligibility(snapshot, report)
                }
                fn select_release(snapshot: Snapshot, report: FailureReport) -> Result<Selection, String> {
                    $crate::report_panics();
                    <super::$policy as Policy>::select_release(snapshot, report)
                }
            }

            $crate::export_policy!(Exported);
        }
    };
}

/// Replaces the standard panic hook with one that only writes the message
/// to stderr: the standard hook reads the environment (`RUST_BACKTRACE`),
/// which the sandbox refuses, so the message would be lost.
pub fn report_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    });
}

/// Host calls: raw object JSON and the bounded log.
pub mod host {
    pub use crate::rewind::policy::host::{get_object, log};
}

/// Logs through the host (bounded per evaluation; excess ends the
/// evaluation as an error, so log decisions, not loops).
pub fn log(level: LogLevel, message: &str) {
    rewind::policy::host::log(level, message);
}

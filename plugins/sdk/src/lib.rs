//! The guest SDK for rewind policies.
//!
//! A policy implements [`Policy`] and exports it with
//! `rewind_sdk::export!(MyPolicy);`. The SDK carries the WIT bindings
//! (so every policy speaks the same contract version) and what every policy
//! would otherwise rewrite: reading the snapshot ([`view`]), classifying
//! failing pods ([`classify`]), building actions ([`act`]) and parsing
//! settings ([`settings`]).

wit_bindgen::generate!({
    path: "../../wit",
    world: "rollback-policy",
    pub_export_macro: true,
    export_macro_name: "export_policy",
    default_bindings_module: "rewind_sdk",
});

pub mod act;
pub mod classify;
pub mod settings;
pub mod view;

pub use self::exports::rewind::policy::policy::Guest as Policy;
pub use self::rewind::policy::types::*;

/// Exports a type implementing [`Policy`] as the component's policy.
///
/// The export exists only in the wasm32 build, so the same crate also
/// builds (and unit-tests) natively.
#[macro_export]
macro_rules! export {
    ($policy:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::export_policy!($policy);
    };
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

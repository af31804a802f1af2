//! The guest SDK for rewind policies.
//!
//! A policy implements [`Rules`] (its three questions, over a borrowed
//! snapshot and its parsed settings) and exports itself with
//! `rewind_sdk::export!(MyPolicy);`. The SDK carries the WIT bindings (so
//! every policy speaks the same contract version) and what every policy
//! would otherwise rewrite: settings parsing and validation ([`settings`]),
//! reading the snapshot ([`view`]), classifying failing pods ([`classify`]),
//! reading raw JSON ([`raw`]), judging metric query results ([`analysis`])
//! and building actions ([`act`]).

wit_bindgen::generate!({
    path: "wit",
    world: "rollback-policy",
    pub_export_macro: true,
    export_macro_name: "export_policy",
    default_bindings_module: "rewind_sdk",
});

pub mod act;
pub mod analysis;
pub mod classify;
pub mod raw;
pub mod run;
pub mod settings;
pub mod time;
pub mod view;

pub use self::exports::rewind::policy::policy::Guest as Policy;
pub use self::rewind::policy::types::{
    Action, ConditionUpdate, Eligibility, Event, EventType, FailureReport, Finding, Health, LogLevel, MergePatch,
    ObjectKey, Selection, Subresource,
};
/// The snapshot a policy reads, decoded from the bytes the host passes.
pub use rewind_snapshot::{
    Application, Condition, ConditionStatus, ConfigKind, ConfigSource, Container, ContainerRole, ContainerState,
    GitOps, GitOpsOwner, GitOpsTool, Live, Metric, MetricResult, ObjectIndex, ObjectInfo, OwnerState, Pod, PodPhase,
    Recorded, Release, ReleaseConfiguration, RunningState, Sample, Snapshot, Target, TerminatedState, Text, Timestamp,
    WaitingReason, WaitingState,
};
pub use settings::Settings;

/// Declares the grants the policy needs beyond a rollback, one string each
/// (`"patch:<Kind>:<JSON pointer>"` or `"delete:<Kind>"`), in the
/// component's `rewind:needs` custom section. The host reads them once it
/// has compiled the component; an operator must also give each one (a
/// RolloutPolicy's `spec.grants`) before actions that need it are allowed.
///
/// ```ignore
/// rewind_sdk::needs!["patch:BookkeeperCluster.bookkeeper.pravega.io:/spec/version"];
/// ```
#[macro_export]
macro_rules! needs {
    ($($grant:literal),+ $(,)?) => {
        const _: () = {
            const TEXT: &str = concat!($($grant, "\n"),+);
            #[unsafe(link_section = "rewind:needs")]
            #[used]
            static NEEDS: [u8; TEXT.len()] = $crate::section_bytes(TEXT);
        };
    };
}

/// `text` as an array, for [`needs!`]'s static.
#[doc(hidden)]
pub const fn section_bytes<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// The WIT types under their own names, where they differ from the
/// snapshot's (a condition status in a `set-condition` action).
pub mod wit {
    pub use crate::rewind::policy::types::*;
}

impl From<ConditionStatus> for wit::ConditionStatus {
    fn from(status: ConditionStatus) -> Self {
        match status {
            ConditionStatus::True => wit::ConditionStatus::True,
            ConditionStatus::False => wit::ConditionStatus::False,
            ConditionStatus::Unknown => wit::ConditionStatus::Unknown,
        }
    }
}

/// A rollback policy's rules. The SDK parses and validates the settings
/// (once per evaluation in a component), so each rule starts from typed
/// settings; the later rules get the report `detect_failure` returned
/// (a component keeps it, the host does not send it back).
pub trait Rules {
    type Settings: Settings;

    /// Is the rollout failing? Set `manual_request` when someone asked for a
    /// rollback, so the next questions are asked even while healthy.
    fn detect_failure(snapshot: &Snapshot, settings: &Self::Settings) -> Result<FailureReport, String>;

    /// May it roll back? Asked for a failed rollout or a manual request.
    fn check_eligibility(
        snapshot: &Snapshot,
        settings: &Self::Settings,
        report: &FailureReport,
    ) -> Result<Eligibility, String>;

    /// To which release? Asked only when eligible.
    fn select_release(
        snapshot: &Snapshot,
        settings: &Self::Settings,
        report: &FailureReport,
    ) -> Result<Selection, String>;
}

/// Exports a type implementing [`Rules`] as the component's policy.
///
/// The export exists only in the wasm32 build, so the same crate also
/// builds (and unit-tests) natively.
#[macro_export]
macro_rules! export {
    ($policy:ident) => {
        #[cfg(target_arch = "wasm32")]
        mod __rewind_export {
            use $crate::{Eligibility, FailureReport, Selection, run::guest};

            struct Exported;

            impl $crate::Policy for Exported {
                fn validate_settings(settings: String) -> Result<(), String> {
                    $crate::run::validate_settings::<super::$policy>(&settings)
                }
                fn detect_failure(snapshot: Vec<u8>) -> Result<FailureReport, String> {
                    guest::detect_failure::<super::$policy>(snapshot)
                }
                fn check_eligibility() -> Result<Eligibility, String> {
                    guest::check_eligibility::<super::$policy>()
                }
                fn select_release() -> Result<Selection, String> {
                    guest::select_release::<super::$policy>()
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

/// Host calls: raw object JSON, the snapshot as JSON, and the bounded log.
pub mod host {
    pub use crate::rewind::policy::host::{get_object, log, snapshot_json};
}

/// Logs through the host (bounded per evaluation; excess ends the
/// evaluation as an error, so log decisions, not loops).
pub fn log(level: LogLevel, message: &str) {
    rewind::policy::host::log(level, message);
}

//! The WIT contract as Rust types (generated from `wit/`), and the versions
//! of it this host speaks.
//!
//! These are plain data types: the snapshot builder, the action validator
//! and the decision pipeline use them without touching a Wasm engine.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "rollback-policy",
    imports: { "rewind:policy/host.log": trappable },
});

/// The answers and actions, typed by the WIT package.
pub use self::rewind::policy::types::*;
/// The snapshot's parts, typed by the `rewind-snapshot` crate (it crosses
/// the boundary encoded as bytes). `ConditionStatus` above is the WIT one,
/// for condition updates; the snapshot's own is `rewind_snapshot::ConditionStatus`.
pub use rewind_snapshot::{
    Condition, Container, ContainerRole, ContainerState, ObjectInfo, Pod, PodPhase, Release, RunningState, Target,
    TerminatedState, Text, WaitingReason, WaitingState,
};

/// The snapshot as the host builds it: every string owned, so it outlives
/// the objects it was read from.
pub type Snapshot = rewind_snapshot::Snapshot<'static>;

/// The WIT package policies are built against.
pub const WIT_PACKAGE: &str = "rewind:policy";

/// Versions of [`WIT_PACKAGE`] this host can run. A component built against
/// any other version is refused at load, naming both versions.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &["0.2.0", "0.3.0"];

/// `rewind:policy@<version>` for the newest version this host speaks.
pub fn current_wit() -> String {
    format!("{WIT_PACKAGE}@{}", SUPPORTED_WIT_VERSIONS[SUPPORTED_WIT_VERSIONS.len() - 1])
}

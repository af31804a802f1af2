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

pub use self::rewind::policy::types::*;

/// The WIT package policies are built against.
pub const WIT_PACKAGE: &str = "rewind:policy";

/// Versions of [`WIT_PACKAGE`] this host can run. A component built against
/// any other version is refused at load, naming both versions.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &["0.1.0"];

/// `rewind:policy@<version>` for the newest version this host speaks.
pub fn current_wit() -> String {
    format!("{WIT_PACKAGE}@{}", SUPPORTED_WIT_VERSIONS[SUPPORTED_WIT_VERSIONS.len() - 1])
}

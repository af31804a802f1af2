//! `rewind:policy@0.5.0`: 0.4.0's types, and the snapshot's GitOps section
//! (which is in the snapshot's bytes, not in these types).
//!
//! Its bindings and host interface are here. Its `types` interface is
//! 0.4.0's, field for field, so the bindings use 0.4.0's generated types
//! and their conversions into the core's (`v0_4.rs`); a 0.5.x whose types
//! differ gets its own, as each earlier version has.

use super::v0_4::rewind::policy::types;
use crate::exports::Answers;
use crate::sandbox::Sandbox;
use rewind::policy::host;
use rewind_snapshot::Encoding;
use wasmtime::component::{HasSelf, Linker};

wasmtime::component::bindgen!({
    path: "../../wit/0.5.0",
    world: "rollback-policy",
    imports: { "rewind:policy/host.log": trappable },
    with: { "rewind:policy/types": super::v0_4::rewind::policy::types },
});

pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    RollbackPolicy::add_to_linker::<_, HasSelf<_>>(linker, |sandbox| sandbox)
}

pub struct Version;

impl Answers for Version {
    const ENCODING: Encoding = Encoding::V0_5;
    type Report = types::FailureReport;
    type Eligibility = types::Eligibility;
    type Selection = types::Selection;
}

impl host::Host for Sandbox {
    fn get_object(&mut self, object: u32) -> Option<String> {
        Sandbox::get_object(self, object)
    }

    fn snapshot_json(&mut self) -> String {
        Sandbox::snapshot_json(self)
    }

    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            types::LogLevel::Debug => "debug",
            types::LogLevel::Info => "info",
            types::LogLevel::Warn => "warn",
            types::LogLevel::Error => "error",
        };
        Sandbox::log(self, level, message)
    }
}

//! `rewind:policy@0.4.0`: `rollback` for every workload kind, the failure
//! report's `recheck-after`, and the snapshot's metrics section.
//!
//! Everything of the version is here: its bindings, its host interface and
//! the conversion of its answers into the core's types. The conversions of
//! the types 0.5.0 shares field for field come from
//! [`super::answer_conversions`]; the action, which 0.5.0 extends, is
//! converted here.

use crate::exports::Answers;
use crate::sandbox::Sandbox;
use rewind::policy::{host, types};
use rewind_snapshot::Encoding;
use wasmtime::component::{HasSelf, Linker};

wasmtime::component::bindgen!({
    path: "../../wit/0.4.0",
    world: "rollback-policy",
    imports: { "rewind:policy/host.log": trappable },
});

pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    RollbackPolicy::add_to_linker::<_, HasSelf<_>>(linker, |sandbox| sandbox)
}

pub struct Version;

impl Answers for Version {
    const ENCODING: Encoding = Encoding::V0_4;
    type Report = types::FailureReport;
    type Eligibility = types::Eligibility;
    type Selection = types::Selection;
}

impl types::Host for Sandbox {}

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

super::answer_conversions!(types {});

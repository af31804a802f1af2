//! `rewind:policy@0.5.0`: the `restore-configuration` action, and the
//! snapshot's GitOps and configuration sections (which are in the
//! snapshot's bytes, not in these types).
//!
//! Its bindings, host interface and the conversion of its action are here;
//! the answer types it shares with 0.4.0 are converted by
//! [`super::answer_conversions`].

use crate::exports::Answers;
use crate::sandbox::Sandbox;
use rewind::policy::{host, types};
use rewind_snapshot::Encoding;
use wasmtime::component::{HasSelf, Linker};

wasmtime::component::bindgen!({
    path: "../../wit/0.5.0",
    world: "rollback-policy",
    imports: { "rewind:policy/host.log": trappable },
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

super::answer_conversions!(types {
    types::Action::RestoreConfiguration(revision) => PolicyAction::RestoreConfiguration { revision },
});

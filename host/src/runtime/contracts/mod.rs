//! The contract versions this host speaks: one submodule each, with its own
//! bindings of a frozen `wit/<version>/` directory and conversions of its
//! answers into the core's types. A new version is a new submodule and a
//! case of [`Contract`]; nothing past the runtime sees a version's types.

mod v0_3;
mod v0_4;

use super::exports::{PolicyExports, PolicyFuncs};
use super::sandbox::Sandbox;
use rewind_core::answers::{Eligibility, FailureReport, Selection};
use rewind_snapshot::Encoding;
use wasmtime::component::{Lift, Linker};

/// The WIT package policies are built against.
pub const WIT_PACKAGE: &str = "rewind:policy";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contract {
    V0_3,
    V0_4,
}

impl Contract {
    /// Oldest first.
    pub const ALL: [Contract; 2] = [Contract::V0_3, Contract::V0_4];

    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_3 => "0.3.0",
            Contract::V0_4 => "0.4.0",
        }
    }

    pub fn of_version(version: &str) -> Option<Contract> {
        Contract::ALL.into_iter().find(|c| c.version() == version)
    }

    pub fn latest() -> Contract {
        Contract::ALL[Contract::ALL.len() - 1]
    }

    /// How the snapshot is encoded for policies of this version.
    pub fn encoding(self) -> Encoding {
        match self {
            Contract::V0_3 => Encoding::V0_3,
            Contract::V0_4 => Encoding::V0_4,
        }
    }

    /// `rewind:policy@<version>`.
    pub fn package(self) -> String {
        format!("{WIT_PACKAGE}@{}", self.version())
    }
}

/// `rewind:policy@<version>` for the newest version this host speaks.
pub fn current_wit() -> String {
    Contract::latest().package()
}

/// Every version's `host` interface: a policy imports the one of its own
/// version.
pub(super) fn add_hosts_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    v0_3::add_to_linker(linker)?;
    v0_4::add_to_linker(linker)
}

/// A policy's checked exports, typed by its contract version.
#[derive(Clone, Copy)]
pub enum Exports {
    V0_3(PolicyExports<v0_3::Version>),
    V0_4(PolicyExports<v0_4::Version>),
}

/// One instance's policy functions, typed by its contract version.
#[derive(Clone, Copy)]
pub enum Funcs {
    V0_3(PolicyFuncs<v0_3::Version>),
    V0_4(PolicyFuncs<v0_4::Version>),
}

/// `$body` with `$funcs` bound to the version-typed functions inside a
/// [`Funcs`]: the one place the runtime matches on the version.
macro_rules! with_funcs {
    ($value:expr, $funcs:ident => $body:expr) => {
        match $value {
            $crate::runtime::contracts::Funcs::V0_3($funcs) => $body,
            $crate::runtime::contracts::Funcs::V0_4($funcs) => $body,
        }
    };
}
pub(crate) use with_funcs;

impl Exports {
    /// Finds and type-checks the exports of `contract`'s `policy` interface
    /// in `component`, on `instance`, an instance of it.
    pub fn check(
        contract: Contract,
        component: &wasmtime::component::Component,
        mut store: impl wasmtime::AsContextMut,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Exports> {
        let interface = format!("{WIT_PACKAGE}/policy@{}", contract.version());
        Ok(match contract {
            Contract::V0_3 => Exports::V0_3(PolicyExports::check(component, &interface, &mut store, instance)?),
            Contract::V0_4 => Exports::V0_4(PolicyExports::check(component, &interface, &mut store, instance)?),
        })
    }

    /// The functions of `instance`, a fresh instance of the component these
    /// exports were checked on.
    pub fn bind(
        &self,
        store: impl wasmtime::AsContextMut,
        instance: &wasmtime::component::Instance,
    ) -> wasmtime::Result<Funcs> {
        Ok(match self {
            Exports::V0_3(exports) => Funcs::V0_3(exports.bind(store, instance)?),
            Exports::V0_4(exports) => Funcs::V0_4(exports.bind(store, instance)?),
        })
    }
}

/// The answer types of one version's policy exports, as its bindings lift
/// them, and their conversion into the core's.
pub trait Answers: 'static {
    const CONTRACT: Contract;

    type Report: Lift + 'static;
    type Eligibility: Lift + 'static;
    type Selection: Lift + 'static;

    fn report(report: Self::Report) -> FailureReport;
    fn eligibility(eligibility: Self::Eligibility) -> Eligibility;
    fn selection(selection: Self::Selection) -> Selection;
}

/// The bindings' host interface and answer conversions are the same for
/// every version but for the rollback case and the failure report's extra
/// fields, so each version module expands this with those two.
macro_rules! conversions {
    (
        contract: $contract:expr,
        rollback: $rollback:pat => $policy_action:expr,
        recheck_after: |$report:ident| $recheck_after:expr
    ) => {
        use self::rewind::policy::{host, types};
        use rewind_core::actions::EventType;
        use rewind_core::answers::{self, ConditionStatus, PolicyAction, Subresource};
        use rewind_core::objects::ObjectKey;

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

        pub fn add_to_linker(linker: &mut wasmtime::component::Linker<Sandbox>) -> wasmtime::Result<()> {
            RollbackPolicy::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)
        }

        fn key(key: types::ObjectKey) -> ObjectKey {
            ObjectKey { api_version: key.api_version, kind: key.kind, namespace: key.namespace, name: key.name }
        }

        fn action(action: types::Action) -> PolicyAction {
            use types::Action as A;
            match action {
                $rollback => $policy_action,
                A::MergePatch(patch) => PolicyAction::MergePatch {
                    object: key(patch.object),
                    subresource: match patch.subresource {
                        types::Subresource::Main => Subresource::Main,
                        types::Subresource::Status => Subresource::Status,
                    },
                    patch: patch.patch,
                },
                A::DeleteObject(object) => PolicyAction::DeleteObject(key(object)),
                A::SetAnnotation((key, value)) => PolicyAction::SetAnnotation { key, value },
                A::RemoveAnnotation(key) => PolicyAction::RemoveAnnotation(key),
                A::SetCondition(c) => PolicyAction::SetCondition {
                    kind: c.kind,
                    status: match c.status {
                        types::ConditionStatus::True => ConditionStatus::True,
                        types::ConditionStatus::False => ConditionStatus::False,
                        types::ConditionStatus::Unknown => ConditionStatus::Unknown,
                    },
                    reason: c.reason,
                    message: c.message,
                },
                A::EmitEvent(e) => PolicyAction::EmitEvent {
                    event_type: match e.event_type {
                        types::EventType::Normal => EventType::Normal,
                        types::EventType::Warning => EventType::Warning,
                    },
                    reason: e.reason,
                    message: e.message,
                },
            }
        }

        fn actions(actions: Vec<types::Action>) -> Vec<PolicyAction> {
            actions.into_iter().map(action).collect()
        }

        pub struct Version;

        impl super::Answers for Version {
            const CONTRACT: super::Contract = $contract;
            type Report = types::FailureReport;
            type Eligibility = types::Eligibility;
            type Selection = types::Selection;

            fn report($report: types::FailureReport) -> answers::FailureReport {
                answers::FailureReport {
                    state: match $report.state {
                        types::Health::Healthy => answers::Health::Healthy,
                        types::Health::Progressing => answers::Health::Progressing,
                        types::Health::Failed => answers::Health::Failed,
                    },
                    recheck_after: $recheck_after,
                    findings: $report
                        .findings
                        .into_iter()
                        .map(|f| answers::Finding {
                            reason: f.reason,
                            message: f.message,
                            pod: f.pod,
                            container: f.container,
                            since: f.since,
                        })
                        .collect(),
                    manual_request: $report.manual_request,
                    actions: actions($report.actions),
                }
            }

            fn eligibility(e: types::Eligibility) -> answers::Eligibility {
                answers::Eligibility { eligible: e.eligible, reason: e.reason, actions: actions(e.actions) }
            }

            fn selection(s: types::Selection) -> answers::Selection {
                answers::Selection { release: s.release, reason: s.reason, error: s.error, actions: actions(s.actions) }
            }
        }
    };
}
use conversions;

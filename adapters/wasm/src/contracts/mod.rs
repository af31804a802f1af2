//! The contract versions this host speaks: one submodule each, owning its
//! bindings of a frozen `wit/<version>/` directory, its host interface and
//! the conversion of its answers into the core's types. Nothing past the
//! runtime sees a version's types. What every version has alike (bindings,
//! linker, host interface) comes from [`version_bindings`]; the conversion
//! of its answers from [`answer_conversions`], given what the version has
//! of its own (how it reads `recheck-after`, its rollback and the action
//! cases it adds).
//!
//! A new version is a new submodule and one line in the [`versions!`]
//! invocation below, which makes its case of [`Contract`], [`Exports`] and
//! [`Funcs`] and links its host interface.

mod v0_3;
mod v0_4;
mod v0_5;

/// What every version module has alike: its bindings of `wit/<version>/`,
/// its `add_to_linker`, its `Version` (answer types and snapshot encoding)
/// and its host interface, which the [`Sandbox`] serves the same way in
/// every version. Brings the version's generated `types` and `host` into
/// the module.
macro_rules! version_bindings {
    ($path:literal, $encoding:expr) => {
        use crate::exports::Answers;
        use crate::sandbox::Sandbox;
        use rewind::policy::{host, types};
        use wasmtime::component::{HasSelf, Linker};

        wasmtime::component::bindgen!({
            path: $path,
            world: "rollback-policy",
            imports: { "rewind:policy/host.log": trappable },
        });

        pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
            RollbackPolicy::add_to_linker::<_, HasSelf<_>>(linker, |sandbox| sandbox)
        }

        pub struct Version;

        impl Answers for Version {
            const ENCODING: rewind_snapshot::Encoding = $encoding;
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
    };
}
pub(crate) use version_bindings;

/// The conversions of a version's answer types into the core's, for its
/// generated `types` module `$t`: `$recheck` reads a failure report's
/// `recheck-after` (0.3.0 has none), and the match arms in braces convert
/// the version's rollback and the action cases it adds
/// ([`convert_action`]).
macro_rules! answer_conversions {
    ($t:ident, recheck_after: $recheck:expr, { $($extra:tt)* }) => {
        use rewind_core::actions::EventType;
        use rewind_core::answers::{self, ConditionStatus, PolicyAction, Subresource};
        use rewind_core::objects::ObjectKey;

        impl From<$t::FailureReport> for answers::FailureReport {
            fn from(report: $t::FailureReport) -> Self {
                let recheck_after: fn(&$t::FailureReport) -> Option<u32> = $recheck;
                answers::FailureReport {
                    state: report.state.into(),
                    recheck_after: recheck_after(&report),
                    findings: report.findings.into_iter().map(Into::into).collect(),
                    manual_request: report.manual_request,
                    actions: actions(report.actions),
                }
            }
        }

        impl From<$t::Eligibility> for answers::Eligibility {
            fn from(e: $t::Eligibility) -> Self {
                answers::Eligibility { eligible: e.eligible, reason: e.reason, actions: actions(e.actions) }
            }
        }

        impl From<$t::Selection> for answers::Selection {
            fn from(s: $t::Selection) -> Self {
                answers::Selection { release: s.release, reason: s.reason, error: s.error, actions: actions(s.actions) }
            }
        }

        impl From<$t::Health> for answers::Health {
            fn from(health: $t::Health) -> Self {
                match health {
                    $t::Health::Healthy => answers::Health::Healthy,
                    $t::Health::Progressing => answers::Health::Progressing,
                    $t::Health::Failed => answers::Health::Failed,
                }
            }
        }

        impl From<$t::Finding> for answers::Finding {
            fn from(f: $t::Finding) -> Self {
                answers::Finding { reason: f.reason, message: f.message, pod: f.pod, container: f.container, since: f.since }
            }
        }

        fn actions(actions: Vec<$t::Action>) -> Vec<PolicyAction> {
            actions.into_iter().map(Into::into).collect()
        }

        impl From<$t::ObjectKey> for ObjectKey {
            fn from(key: $t::ObjectKey) -> Self {
                ObjectKey { api_version: key.api_version, kind: key.kind, namespace: key.namespace, name: key.name }
            }
        }

        impl From<$t::Subresource> for Subresource {
            fn from(subresource: $t::Subresource) -> Self {
                match subresource {
                    $t::Subresource::Main => Subresource::Main,
                    $t::Subresource::Status => Subresource::Status,
                }
            }
        }

        impl From<$t::ConditionStatus> for ConditionStatus {
            fn from(status: $t::ConditionStatus) -> Self {
                match status {
                    $t::ConditionStatus::True => ConditionStatus::True,
                    $t::ConditionStatus::False => ConditionStatus::False,
                    $t::ConditionStatus::Unknown => ConditionStatus::Unknown,
                }
            }
        }

        impl From<$t::EventType> for EventType {
            fn from(event_type: $t::EventType) -> Self {
                match event_type {
                    $t::EventType::Normal => EventType::Normal,
                    $t::EventType::Warning => EventType::Warning,
                }
            }
        }

        impl From<$t::Action> for PolicyAction {
            fn from(action: $t::Action) -> Self {
                $crate::contracts::convert_action!(action, $t::Action { $($extra)* })
            }
        }
    };
}
pub(crate) use answer_conversions;

/// The match converting `$value` of the action variant `$t::$variant` (a
/// version's `action`, or 0.5.0's `member-action-kind`, which repeats its
/// cases) into the core's type: the cases every version has alike, and
/// `$extra` for its rollback and the cases it adds.
macro_rules! convert_action {
    ($value:ident, $t:ident :: $variant:ident { $($extra:tt)* }) => {{
        use $t::$variant as A;
        match $value {
            A::MergePatch(patch) => PolicyAction::MergePatch {
                object: patch.object.into(),
                subresource: patch.subresource.into(),
                patch: patch.patch,
            },
            A::DeleteObject(object) => PolicyAction::DeleteObject(object.into()),
            A::SetAnnotation((key, value)) => PolicyAction::SetAnnotation { key, value },
            A::RemoveAnnotation(key) => PolicyAction::RemoveAnnotation(key),
            A::SetCondition(c) => PolicyAction::SetCondition {
                kind: c.kind,
                status: c.status.into(),
                reason: c.reason,
                message: c.message,
            },
            A::EmitEvent(e) => {
                PolicyAction::EmitEvent { event_type: e.event_type.into(), reason: e.reason, message: e.message }
            }
            $($extra)*
        }
    }};
}
pub(crate) use convert_action;

use super::Stages;
use super::exports::{Answers, PolicyExports, PolicyFuncs};
use super::sandbox::Sandbox;
use rewind_snapshot::Encoding;
use wasmtime::component::{Component, Instance, Linker};

/// The WIT package policies are built against.
pub const WIT_PACKAGE: &str = "rewind:policy";

/// Registers each version: `Case => module, "version";`, oldest first. The
/// module has a `Version` implementing [`Answers`] and an `add_to_linker`.
macro_rules! versions {
    ($($case:ident => $module:ident, $version:literal;)+) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Contract {
            $($case),+
        }

        impl Contract {
            /// Oldest first.
            pub const ALL: &'static [Contract] = &[$(Contract::$case),+];

            pub fn version(self) -> &'static str {
                match self {
                    $(Contract::$case => $version),+
                }
            }

            /// How the snapshot is encoded for policies of this version.
            pub fn encoding(self) -> Encoding {
                match self {
                    $(Contract::$case => <$module::Version as Answers>::ENCODING),+
                }
            }
        }

        /// A policy's checked exports, typed by its contract version.
        #[derive(Clone, Copy)]
        pub(crate) enum Exports {
            $($case(PolicyExports<$module::Version>)),+
        }

        /// One instance's policy functions, typed by its contract version.
        #[derive(Clone, Copy)]
        pub(crate) enum Funcs {
            $($case(PolicyFuncs<$module::Version>)),+
        }

        impl Exports {
            /// Finds and type-checks the exports of `contract`'s `policy`
            /// interface in `component`, on `instance`, an instance of it.
            pub fn check(
                contract: Contract,
                component: &Component,
                store: impl wasmtime::AsContextMut,
                instance: &Instance,
            ) -> wasmtime::Result<Exports> {
                let interface = format!("{WIT_PACKAGE}/policy@{}", contract.version());
                Ok(match contract {
                    $(Contract::$case => {
                        Exports::$case(PolicyExports::check(component, &interface, store, instance)?)
                    })+
                })
            }

            /// The functions of `instance`, a fresh instance of the
            /// component these exports were checked on.
            pub fn bind(&self, instance: Instance) -> Funcs {
                match self {
                    $(Exports::$case(exports) => Funcs::$case(exports.bind(instance))),+
                }
            }
        }

        impl Funcs {
            /// The stages, whatever the version.
            pub fn stages(&self) -> &dyn Stages {
                match self {
                    $(Funcs::$case(funcs) => funcs),+
                }
            }
        }

        /// Every version's `host` interface: a policy imports the one of its
        /// own version.
        pub(crate) fn add_hosts_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
            $($module::add_to_linker(linker)?;)+
            Ok(())
        }
    };
}

versions! {
    V0_3 => v0_3, "0.3.0";
    V0_4 => v0_4, "0.4.0";
    V0_5 => v0_5, "0.5.0";
}

impl Contract {
    pub fn of_version(version: &str) -> Option<Contract> {
        Contract::ALL.iter().copied().find(|c| c.version() == version)
    }

    pub fn latest() -> Contract {
        Contract::ALL[Contract::ALL.len() - 1]
    }

    /// `rewind:policy@<version>`.
    pub fn package(self) -> String {
        format!("{WIT_PACKAGE}@{}", self.version())
    }
}

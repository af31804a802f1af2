//! The contract versions this host speaks: one submodule each, with its own
//! bindings of a frozen `wit/<version>/` directory and conversions of its
//! answers into the core's types (`conversions.rs`). Nothing past the
//! runtime sees a version's types.
//!
//! A new version is a new submodule and one line in the [`versions!`]
//! invocation below, which makes its case of [`Contract`], [`Exports`] and
//! [`Funcs`] and links its host interface.

#[macro_use]
mod conversions;

use super::Stages;
use super::exports::{PolicyExports, PolicyFuncs};
use super::sandbox::Sandbox;
use rewind_core::answers::{Eligibility, FailureReport, Selection};
use rewind_snapshot::Encoding;
use wasmtime::component::{Component, Instance, Lift, Linker};

/// The WIT package policies are built against.
pub const WIT_PACKAGE: &str = "rewind:policy";

macro_rules! versions {
    ($($case:ident => $module:ident, $version:literal, $encoding:ident;)+) => {
        $(mod $module;)+

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
                    $(Contract::$case => Encoding::$encoding),+
                }
            }
        }

        /// A policy's checked exports, typed by its contract version.
        #[derive(Clone, Copy)]
        pub enum Exports {
            $($case(PolicyExports<$module::Version>)),+
        }

        /// One instance's policy functions, typed by its contract version.
        #[derive(Clone, Copy)]
        pub enum Funcs {
            $($case(PolicyFuncs<$module::Version>)),+
        }

        impl Exports {
            /// Finds and type-checks the exports of `contract`'s `policy`
            /// interface in `component`, on `instance`, an instance of it.
            pub fn check(
                contract: Contract,
                component: &Component,
                mut store: impl wasmtime::AsContextMut,
                instance: &Instance,
            ) -> wasmtime::Result<Exports> {
                let interface = format!("{WIT_PACKAGE}/policy@{}", contract.version());
                Ok(match contract {
                    $(Contract::$case => {
                        Exports::$case(PolicyExports::check(component, &interface, &mut store, instance)?)
                    })+
                })
            }

            /// The functions of `instance`, a fresh instance of the
            /// component these exports were checked on.
            pub fn bind(&self, store: impl wasmtime::AsContextMut, instance: &Instance) -> wasmtime::Result<Funcs> {
                Ok(match self {
                    $(Exports::$case(exports) => Funcs::$case(exports.bind(store, instance)?)),+
                })
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
        pub(super) fn add_hosts_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
            $($module::add_to_linker(linker)?;)+
            Ok(())
        }
    };
}

versions! {
    V0_3 => v0_3, "0.3.0", V0_3;
    V0_4 => v0_4, "0.4.0", V0_4;
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

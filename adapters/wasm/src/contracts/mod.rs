//! The contract versions this host speaks: one submodule each, owning its
//! bindings of a frozen `wit/<version>/` directory, its host interface and
//! the conversion of its answers into the core's types. Nothing past the
//! runtime sees a version's types. A version whose types differ has its own
//! conversions and changes only its own file; one whose types are an earlier
//! version's field for field (0.5.0's are 0.4.0's) binds to that version's
//! types and conversions instead of repeating them.
//!
//! A new version is a new submodule and one line in the [`versions!`]
//! invocation below, which makes its case of [`Contract`], [`Exports`] and
//! [`Funcs`] and links its host interface.

mod v0_3;
mod v0_4;
mod v0_5;

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

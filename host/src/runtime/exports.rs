//! The four functions of a policy's `policy` export, found and type-checked
//! once per module rather than once per evaluation.
//!
//! wasmtime's generated `RollbackPolicyPre::instantiate` looks every export
//! up and checks its type against the WIT types on each instantiation: about
//! 2 µs of a 10-pod evaluation (`cargo bench -p rewind --bench perf`). The
//! types of a compiled component's exports cannot change, so the check
//! belongs with loading: [`PolicyExports::check`] runs it on the first
//! instance, and every later instance of the same component only fetches
//! the functions by index ([`PolicyExports::bind`]).
//!
//! Invariant: a [`PolicyExports`] is only made by `check`, and only binds
//! instances of the component it was checked on ([`super::LoadedPolicy`]
//! keeps the two together). That is what makes the unchecked typed
//! functions of [`PolicyFuncs`] sound.
//!
//! Two contract versions are spoken. They differ only in the last two
//! stages: 0.2.0 passes them the failure report, 0.3.0 does not (the policy
//! keeps the one it returned). [`LaterStages`] records which shape was
//! checked, and the functions of the other shape are never handed out.

use crate::contract::{Eligibility, FailureReport, Selection};
use wasmtime::AsContextMut;
use wasmtime::component::{Component, ComponentExportIndex, ComponentNamedList, Func, Instance, Lift, TypedFunc};

type ValidateSettings<'a> = TypedFunc<(&'a str,), (Result<(), String>,)>;
type DetectFailure<'a> = TypedFunc<(&'a [u8],), (Result<FailureReport, String>,)>;

/// A stage after detect-failure, answering an `R`, in the shape of its
/// policy's contract version.
pub enum Later<'a, R> {
    KeepReport(TypedFunc<(), (Result<R, String>,)>),
    GivenReport(TypedFunc<(&'a FailureReport,), (Result<R, String>,)>),
}

/// How the stages after detect-failure learn the failure report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaterStages {
    /// `rewind:policy@0.2.0`: the host passes the report to each.
    GivenReport,
    /// 0.3.0 on: the policy keeps the report its detect-failure returned.
    KeepReport,
}

impl LaterStages {
    /// The shape of `version` (one of `SUPPORTED_WIT_VERSIONS`).
    pub fn of_version(version: &str) -> Self {
        if version == "0.2.0" { LaterStages::GivenReport } else { LaterStages::KeepReport }
    }
}

/// Where the policy functions are in one component, their types checked.
#[derive(Clone, Copy, Debug)]
pub struct PolicyExports {
    validate_settings: ComponentExportIndex,
    detect_failure: ComponentExportIndex,
    check_eligibility: ComponentExportIndex,
    select_release: ComponentExportIndex,
    later_stages: LaterStages,
}

impl PolicyExports {
    /// Finds the functions of `interface` (the policy interface's full
    /// export name, with its version) in `component` and checks each one's
    /// type, in the shape `later_stages` of that version, on `instance`, an
    /// instance of `component`.
    pub fn check(
        component: &Component,
        interface: &str,
        later_stages: LaterStages,
        mut store: impl AsContextMut,
        instance: &Instance,
    ) -> wasmtime::Result<Self> {
        let interface_index = component
            .get_export_index(None, interface)
            .ok_or_else(|| wasmtime::format_err!("the component does not export `{interface}`"))?;
        let find = |name: &str| {
            component
                .get_export_index(Some(&interface_index), name)
                .ok_or_else(|| wasmtime::format_err!("`{interface}` has no function `{name}`"))
        };
        let exports = PolicyExports {
            validate_settings: find("validate-settings")?,
            detect_failure: find("detect-failure")?,
            check_eligibility: find("check-eligibility")?,
            select_release: find("select-release")?,
            later_stages,
        };
        let mut store = store.as_context_mut();
        // The annotations name the signatures the check is against.
        let mistyped = |name: &'static str| {
            move |e: wasmtime::Error| {
                wasmtime::format_err!("`{interface}#{name}` does not have the contract's type: {e:#}")
            }
        };
        let _: ValidateSettings =
            instance.get_typed_func(&mut store, exports.validate_settings).map_err(mistyped("validate-settings"))?;
        let _: DetectFailure =
            instance.get_typed_func(&mut store, exports.detect_failure).map_err(mistyped("detect-failure"))?;
        check_later::<Eligibility>(&mut store, instance, exports.check_eligibility, later_stages)
            .map_err(mistyped("check-eligibility"))?;
        check_later::<Selection>(&mut store, instance, exports.select_release, later_stages)
            .map_err(mistyped("select-release"))?;
        Ok(exports)
    }

    /// The functions of `instance`, a fresh instance of the component these
    /// exports were checked on.
    pub fn bind(&self, mut store: impl AsContextMut, instance: &Instance) -> wasmtime::Result<PolicyFuncs> {
        let mut get = |index: ComponentExportIndex| {
            instance
                .get_func(&mut store, index)
                .ok_or_else(|| wasmtime::format_err!("a checked export is missing from its own component"))
        };
        Ok(PolicyFuncs {
            validate_settings: get(self.validate_settings)?,
            detect_failure: get(self.detect_failure)?,
            check_eligibility: get(self.check_eligibility)?,
            select_release: get(self.select_release)?,
            later_stages: self.later_stages,
        })
    }
}

/// Checks that the later stage at `index` answers an `R` in the shape
/// `later_stages`.
fn check_later<R>(
    store: impl AsContextMut,
    instance: &Instance,
    index: ComponentExportIndex,
    later_stages: LaterStages,
) -> wasmtime::Result<()>
where
    (Result<R, String>,): ComponentNamedList + Lift,
{
    match later_stages {
        LaterStages::KeepReport => instance.get_typed_func::<(), (Result<R, String>,)>(store, index).map(drop),
        LaterStages::GivenReport => {
            instance.get_typed_func::<(&FailureReport,), (Result<R, String>,)>(store, index).map(drop)
        }
    }
}

/// One instance's policy functions, typed.
pub struct PolicyFuncs {
    validate_settings: Func,
    detect_failure: Func,
    check_eligibility: Func,
    select_release: Func,
    later_stages: LaterStages,
}

// SAFETY (every `new_unchecked`): `PolicyFuncs` comes only from
// `PolicyExports::bind`, whose indices `PolicyExports::check` type-checked
// against exactly these signatures on the same component; the later stages
// are handed out only in the shape (`later_stages`) that was checked, each
// with the answer type it was checked with.
impl PolicyFuncs {
    pub fn validate_settings<'a>(&self) -> ValidateSettings<'a> {
        unsafe { TypedFunc::new_unchecked(self.validate_settings) }
    }

    pub fn detect_failure<'a>(&self) -> DetectFailure<'a> {
        unsafe { TypedFunc::new_unchecked(self.detect_failure) }
    }

    pub fn check_eligibility<'a>(&self) -> Later<'a, Eligibility> {
        self.later(self.check_eligibility)
    }

    pub fn select_release<'a>(&self) -> Later<'a, Selection> {
        self.later(self.select_release)
    }

    /// `func` (one of the two later stages) in the shape that was checked;
    /// `R` is the answer its signature was checked with.
    fn later<'a, R>(&self, func: Func) -> Later<'a, R>
    where
        (Result<R, String>,): ComponentNamedList + Lift,
    {
        match self.later_stages {
            LaterStages::KeepReport => Later::KeepReport(unsafe { TypedFunc::new_unchecked(func) }),
            LaterStages::GivenReport => Later::GivenReport(unsafe { TypedFunc::new_unchecked(func) }),
        }
    }
}

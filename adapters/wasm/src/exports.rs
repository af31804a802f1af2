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
//! functions of [`PolicyFuncs`] sound. `A` is the contract version whose
//! answer types the check was made with.

use super::contracts::Answers;
use std::marker::PhantomData;
use wasmtime::AsContextMut;
use wasmtime::component::{Component, ComponentExportIndex, Func, Instance, TypedFunc};

pub type ValidateSettings<'a> = TypedFunc<(&'a str,), (Result<(), String>,)>;
pub type DetectFailure<'a, R> = TypedFunc<(&'a [u8],), (Result<R, String>,)>;
pub type LaterStage<R> = TypedFunc<(), (Result<R, String>,)>;

/// Where the policy functions are in one component, their types checked.
pub struct PolicyExports<A> {
    validate_settings: ComponentExportIndex,
    detect_failure: ComponentExportIndex,
    check_eligibility: ComponentExportIndex,
    select_release: ComponentExportIndex,
    version: PhantomData<fn() -> A>,
}

impl<A> Clone for PolicyExports<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for PolicyExports<A> {}

impl<A: Answers> PolicyExports<A> {
    /// Finds the functions of `interface` (the policy interface's full
    /// export name, with its version) in `component` and checks each one's
    /// type against version `A`'s on `instance`, an instance of `component`.
    pub fn check(
        component: &Component,
        interface: &str,
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
            version: PhantomData,
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
        let _: DetectFailure<A::Report> =
            instance.get_typed_func(&mut store, exports.detect_failure).map_err(mistyped("detect-failure"))?;
        let _: LaterStage<A::Eligibility> =
            instance.get_typed_func(&mut store, exports.check_eligibility).map_err(mistyped("check-eligibility"))?;
        let _: LaterStage<A::Selection> =
            instance.get_typed_func(&mut store, exports.select_release).map_err(mistyped("select-release"))?;
        Ok(exports)
    }

    /// The functions of `instance`, a fresh instance of the component these
    /// exports were checked on.
    pub fn bind(&self, mut store: impl AsContextMut, instance: &Instance) -> wasmtime::Result<PolicyFuncs<A>> {
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
            version: PhantomData,
        })
    }
}

/// One instance's policy functions, typed by version `A`.
pub struct PolicyFuncs<A> {
    validate_settings: Func,
    detect_failure: Func,
    check_eligibility: Func,
    select_release: Func,
    version: PhantomData<fn() -> A>,
}

impl<A> Clone for PolicyFuncs<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for PolicyFuncs<A> {}

// SAFETY (every `new_unchecked`): `PolicyFuncs<A>` comes only from
// `PolicyExports::<A>::bind`, whose indices `PolicyExports::<A>::check`
// type-checked against exactly these signatures, with `A`'s answer types,
// on the same component.
impl<A: Answers> PolicyFuncs<A> {
    pub fn validate_settings_func<'a>(&self) -> ValidateSettings<'a> {
        unsafe { TypedFunc::new_unchecked(self.validate_settings) }
    }

    pub fn detect_failure_func<'a>(&self) -> DetectFailure<'a, A::Report> {
        unsafe { TypedFunc::new_unchecked(self.detect_failure) }
    }

    pub fn check_eligibility_func(&self) -> LaterStage<A::Eligibility> {
        unsafe { TypedFunc::new_unchecked(self.check_eligibility) }
    }

    pub fn select_release_func(&self) -> LaterStage<A::Selection> {
        unsafe { TypedFunc::new_unchecked(self.select_release) }
    }
}

//! The four functions of a policy's `policy` export, found by name and
//! type-checked once per module, fetched by index from each instance.
//!
//! [`PolicyExports::check`] runs at load, on the first instance: it finds
//! the functions and checks each one's type against the contract version's,
//! so a policy built with other types is refused then, with a message
//! naming the function. Each later instance only fetches a function by its
//! index when a stage calls it ([`PolicyFuncs`]): no name lookups, and no
//! type check again. wasmtime 48's safe fetch (`Instance::get_typed_func`)
//! checks the type on every instance, about 1 µs of a three-stage
//! evaluation (`cargo bench -p rewind --bench perf -- compare …/floor.wasm
//! pods 10`: 10.6–10.9 µs with the unchecked fetch, 11.7–11.8 µs with the
//! safe one), a tenth of the fixed overhead per evaluation; the unchecked
//! fetch stands on the load-time check (see the SAFETY note below).

use rewind_core::answers::{Eligibility, FailureReport, Selection};
use rewind_snapshot::Encoding;
use std::marker::PhantomData;
use wasmtime::AsContextMut;
use wasmtime::component::{Component, ComponentExportIndex, Func, Instance, Lift, TypedFunc};

/// The answer types of one contract version's policy exports, as its
/// bindings lift them, and what they convert into: each version module
/// (`contracts::v0_4` …) implements it once.
pub trait Answers: 'static {
    /// How the snapshot is encoded for policies of this version.
    const ENCODING: Encoding;
    type Report: Lift + Into<FailureReport> + 'static;
    type Eligibility: Lift + Into<Eligibility> + 'static;
    type Selection: Lift + Into<Selection> + 'static;
}

pub type ValidateSettings<'a> = TypedFunc<(&'a str,), (Result<(), String>,)>;
pub type DetectFailure<'a, R> = TypedFunc<(&'a [u8],), (Result<R, String>,)>;
pub type LaterStage<R> = TypedFunc<(), (Result<R, String>,)>;

/// Where the policy functions are in one component, their types checked
/// against version `A`'s.
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
        let exports = Self::find(component, interface)?;
        let mut store = store.as_context_mut();
        // wasmtime checks each type against the signature named here: the
        // check the unchecked fetches of `PolicyFuncs` stand on.
        let mistyped = |name: &'static str| {
            move |e: wasmtime::Error| {
                wasmtime::format_err!("`{interface}#{name}` does not have the contract's type: {e:#}")
            }
        };
        instance
            .get_typed_func::<(&str,), (Result<(), String>,)>(&mut store, exports.validate_settings)
            .map_err(mistyped("validate-settings"))?;
        instance
            .get_typed_func::<(&[u8],), (Result<A::Report, String>,)>(&mut store, exports.detect_failure)
            .map_err(mistyped("detect-failure"))?;
        instance
            .get_typed_func::<(), (Result<A::Eligibility, String>,)>(&mut store, exports.check_eligibility)
            .map_err(mistyped("check-eligibility"))?;
        instance
            .get_typed_func::<(), (Result<A::Selection, String>,)>(&mut store, exports.select_release)
            .map_err(mistyped("select-release"))?;
        Ok(exports)
    }

    /// The export indices of `interface`'s four functions in `component`.
    fn find(component: &Component, interface: &str) -> wasmtime::Result<Self> {
        let interface_index = component
            .get_export_index(None, interface)
            .ok_or_else(|| wasmtime::format_err!("the component does not export `{interface}`"))?;
        let find = |name: &str| {
            component
                .get_export_index(Some(&interface_index), name)
                .ok_or_else(|| wasmtime::format_err!("`{interface}` has no function `{name}`"))
        };
        Ok(PolicyExports {
            validate_settings: find("validate-settings")?,
            detect_failure: find("detect-failure")?,
            check_eligibility: find("check-eligibility")?,
            select_release: find("select-release")?,
            version: PhantomData,
        })
    }

    /// The functions of `instance`, an instance of the component these
    /// exports were found in. Nothing is looked up until a stage calls one.
    pub fn bind(&self, instance: Instance) -> PolicyFuncs<A> {
        PolicyFuncs { instance, exports: *self }
    }
}

/// One instance's policy functions, typed by version `A`.
pub struct PolicyFuncs<A> {
    instance: Instance,
    exports: PolicyExports<A>,
}

impl<A> Clone for PolicyFuncs<A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for PolicyFuncs<A> {}

// SAFETY (every `new_unchecked`): a `PolicyFuncs<A>` comes only from
// `PolicyExports::<A>::bind`, whose indices `PolicyExports::<A>::check`
// type-checked against exactly these signatures, with `A`'s answer types,
// on the same component; each instance is of that component.
impl<A: Answers> PolicyFuncs<A> {
    /// The function at `index` of this instance.
    fn func(&self, mut store: impl AsContextMut, index: ComponentExportIndex) -> wasmtime::Result<Func> {
        self.instance
            .get_func(store.as_context_mut(), index)
            .ok_or_else(|| wasmtime::format_err!("the instance has no function at a checked export index"))
    }

    pub fn validate_settings<'a>(&self, store: impl AsContextMut) -> wasmtime::Result<ValidateSettings<'a>> {
        let func = self.func(store, self.exports.validate_settings)?;
        Ok(unsafe { TypedFunc::new_unchecked(func) })
    }

    pub fn detect_failure<'a>(&self, store: impl AsContextMut) -> wasmtime::Result<DetectFailure<'a, A::Report>> {
        let func = self.func(store, self.exports.detect_failure)?;
        Ok(unsafe { TypedFunc::new_unchecked(func) })
    }

    pub fn check_eligibility(&self, store: impl AsContextMut) -> wasmtime::Result<LaterStage<A::Eligibility>> {
        let func = self.func(store, self.exports.check_eligibility)?;
        Ok(unsafe { TypedFunc::new_unchecked(func) })
    }

    pub fn select_release(&self, store: impl AsContextMut) -> wasmtime::Result<LaterStage<A::Selection>> {
        let func = self.func(store, self.exports.select_release)?;
        Ok(unsafe { TypedFunc::new_unchecked(func) })
    }
}

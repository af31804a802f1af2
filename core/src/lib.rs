//! rewind's core: everything a rollback decision needs except running the
//! policy and talking to a cluster.
//!
//! - [`objects`] and [`dump`]: Kubernetes objects as JSON, and cluster dumps
//!   read into an [`objects::ObjectSet`];
//! - [`tree`] and [`pods`]: the ownership tree of an object, and pods and
//!   conditions in the snapshot's typed form;
//! - [`workloads`]: what each workload kind means (history, current
//!   release, counts, undo), one file per kind;
//! - [`snapshot`]: the snapshot of one workload a policy is given;
//! - [`answers`] and [`pipeline`]: what a policy answers, in host types,
//!   and the order its three questions are asked in;
//! - the ports the host plugs its adapters into: [`pipeline::PolicyStages`]
//!   (a policy's answers), [`executor::Executor`] (carrying actions out) and
//!   [`metrics::MetricSource`] (metric results);
//! - [`actions`], [`change`] and [`executor`]: validating what a policy asks
//!   for, the change each action makes, and carrying it out in memory;
//! - [`evaluation`]: one evaluation end to end as a typed value, over any
//!   policy's stages;
//!   Kubernetes' name rules, which validation checks, are in `names`.
//!
//! No module depends back on itself through others (`tests/module_graph.rs`).
//!
//! No Wasm engine, Kubernetes client, async runtime or network: the host
//! crate puts those around it.

#![forbid(unsafe_code)]

pub mod actions;
pub mod answers;
pub mod application;
pub mod change;
pub mod configuration;
pub mod dump;
pub mod evaluation;
pub mod executor;
pub mod gitops;
pub mod metrics;
mod names;
pub mod objects;
pub mod pipeline;
pub mod pods;
pub mod snapshot;
pub mod synthetic;
pub mod time;
pub mod tree;
pub mod workloads;

#[cfg(test)]
mod fixtures;

/// The snapshot as the host builds it: every string owned, so it outlives
/// the objects it was read from.
pub type Snapshot = rewind_snapshot::Snapshot<'static>;

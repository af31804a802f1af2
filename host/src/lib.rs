//! rewind: Kubernetes rollback policies as sandboxed WebAssembly components.
//!
//! The core ([`rewind_core`], re-exported here module by module) is pure and
//! works on plain JSON objects; this crate puts the edges around it: the
//! Wasm runtime ([`runtime`], the `rewind-wasm` adapter crate), the cluster ([`controller`], [`capture`]),
//! the registry ([`distribution`]) and the faces (the CLI, [`suite`],
//! [`backtest`], [`report`]).

pub use rewind_core::{
    Snapshot, actions, answers, change, configuration, dump, executor, gitops, objects, pipeline, snapshot, synthetic,
    time, workloads,
};
/// The Wasm adapter ([`rewind_wasm`]), under the name the rest of the host
/// knows it by.
pub use rewind_wasm as runtime;

pub mod authoring;
pub mod backtest;
pub mod capture;
pub mod cli;
pub mod controller;
pub mod distribution;
pub mod evaluate;
pub mod queries;
pub mod report;
pub mod style;
pub mod suite;

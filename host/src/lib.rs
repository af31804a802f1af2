//! rewind: Kubernetes rollback policies as sandboxed WebAssembly components.
//!
//! The core (snapshot building, action validation, the decision pipeline,
//! Deployment undo) is pure and works on plain JSON objects; the edges are
//! the Wasm runtime ([`runtime`]), the cluster-dump reader ([`dump`]) and
//! the executors ([`executor`]).

pub mod actions;
pub mod authoring;
pub mod backtest;
pub mod capture;
pub mod contract;
pub mod controller;
pub mod deployment;
pub mod distribution;
pub mod dump;
pub mod evaluate;
pub mod executor;
pub mod objects;
pub mod pipeline;
pub mod report;
pub mod runtime;
pub mod snapshot;
pub mod style;
pub mod synthetic;
pub mod time;

#[cfg(test)]
mod fixtures;
pub mod suite;

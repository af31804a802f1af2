//! The in-cluster controller: RolloutPolicy resources, their covered
//! workloads, and the API-server side of evaluation and execution.

pub mod bound;
pub mod cache;
pub mod cluster;
pub mod configuration;
pub mod crd;
pub mod decisions;
pub mod gitops;
pub mod leader;
pub mod manifests;
pub mod metrics;
pub mod modules;
pub mod options;
pub mod plan;
pub mod queries;
pub mod queue;
pub mod reconcile;
pub mod run;

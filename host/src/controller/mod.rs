//! The in-cluster controller: RolloutPolicy resources, their covered
//! workloads, and the API-server side of evaluation and execution.

pub mod cluster;
pub mod crd;
pub mod leader;
pub mod metrics;
pub mod modules;
pub mod plan;
pub mod run;

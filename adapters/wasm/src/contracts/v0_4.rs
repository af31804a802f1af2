//! `rewind:policy@0.4.0`: `rollback` for every workload kind, the failure
//! report's `recheck-after`, and the snapshot's metrics section.

use super::super::sandbox::Sandbox;

wasmtime::component::bindgen!({
    path: "../../wit/0.4.0",
    world: "rollback-policy",
    imports: { "rewind:policy/host.log": trappable },
});

conversions!(
    contract: super::Contract::V0_4,
    rollback: A::Rollback(revision) => PolicyAction::Rollback { revision, deployment_only: false },
    recheck_after: |report| report.recheck_after
);

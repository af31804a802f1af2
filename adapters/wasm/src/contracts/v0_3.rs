//! `rewind:policy@0.3.0`: Deployments only (`rollback-deployment`), no
//! `recheck-after`, no metrics section in the snapshot.

use super::super::sandbox::Sandbox;

wasmtime::component::bindgen!({
    path: "../../wit/0.3.0",
    world: "rollback-policy",
    imports: { "rewind:policy/host.log": trappable },
});

conversions!(
    contract: super::Contract::V0_3,
    rollback: A::RollbackDeployment(revision) => PolicyAction::Rollback { revision, deployment_only: true },
    recheck_after: |report| None
);

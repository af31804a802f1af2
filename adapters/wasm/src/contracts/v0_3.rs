//! `rewind:policy@0.3.0`: Deployments only (`rollback-deployment`), no
//! `recheck-after`, no metrics section in the snapshot. Frozen: it changes
//! only if the core's types do.
//!
//! Its bindings and host interface come from [`super::version_bindings`],
//! the conversion of its answers from [`super::answer_conversions`]: its
//! report has no `recheck-after`, and its rollback is refused on any kind
//! but an apps Deployment.

use rewind_snapshot::Encoding;

super::version_bindings!("../../wit/0.3.0", Encoding::V0_3);

// 0.3.0 has no way to ask for a recheck.
super::answer_conversions!(types, recheck_after: |_| None, {
    types::Action::RollbackDeployment(revision) => PolicyAction::Rollback { revision, deployment_only: true },
});

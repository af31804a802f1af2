//! `rewind:policy@0.4.0`: `rollback` for every workload kind, the failure
//! report's `recheck-after`, and the snapshot's metrics section.
//!
//! Its bindings and host interface come from [`super::version_bindings`],
//! the conversion of its answers from [`super::answer_conversions`].

use rewind_snapshot::Encoding;

super::version_bindings!("../../wit/0.4.0", Encoding::V0_4);

super::answer_conversions!(types, recheck_after: |report| report.recheck_after, {
    types::Action::Rollback(revision) => PolicyAction::Rollback { revision, deployment_only: false },
});

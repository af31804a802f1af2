//! `rewind:policy@0.5.0`: the `restore-configuration` action, and the
//! snapshot's GitOps and configuration sections (which are in the
//! snapshot's bytes, not in these types).
//!
//! Its bindings and host interface come from [`super::version_bindings`],
//! the conversion of its answers from [`super::answer_conversions`], with
//! the one action case 0.4.0 does not have.

use rewind_snapshot::Encoding;

super::version_bindings!("../../wit/0.5.0", Encoding::V0_5);

super::answer_conversions!(types {
    types::Action::RestoreConfiguration(revision) => PolicyAction::RestoreConfiguration { revision },
});

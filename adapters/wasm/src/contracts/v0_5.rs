//! `rewind:policy@0.5.0`: the `restore-configuration` and `member`
//! actions, and the snapshot's GitOps, configuration and application
//! sections (which are in the snapshot's bytes, not in these types).
//!
//! Its bindings and host interface come from [`super::version_bindings`],
//! the conversion of its answers from [`super::answer_conversions`], with
//! the action cases 0.4.0 does not have.

use rewind_snapshot::Encoding;

super::version_bindings!("../../wit/0.5.0", Encoding::V0_5);

super::answer_conversions!(types, recheck_after: |report| report.recheck_after, {
    types::Action::Rollback(revision) => PolicyAction::Rollback { revision, deployment_only: false },
    types::Action::RestoreConfiguration(revision) => PolicyAction::RestoreConfiguration { revision },
    types::Action::Member(member) => PolicyAction::ForMember { member: member.member, action: Box::new(member.action.into()) },
});

impl From<types::MemberActionKind> for PolicyAction {
    fn from(action: types::MemberActionKind) -> Self {
        super::convert_action!(action, types::MemberActionKind {
            types::MemberActionKind::Rollback(revision) => PolicyAction::Rollback { revision, deployment_only: false },
            types::MemberActionKind::RestoreConfiguration(revision) => PolicyAction::RestoreConfiguration { revision },
        })
    }
}

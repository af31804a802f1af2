//! The decision pipeline: the three questions asked in order, stopping
//! where the answer makes the next question moot. Pure over the
//! [`PolicyStages`] trait, so it is tested without a Wasm engine.

use crate::Snapshot;
use crate::answers::{Eligibility, FailureReport, Health, PolicyAction, Selection};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Instantiate,
    ValidateSettings,
    DetectFailure,
    CheckEligibility,
    SelectRelease,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Instantiate => "instantiation",
            Stage::ValidateSettings => "validate-settings",
            Stage::DetectFailure => "detect-failure",
            Stage::CheckEligibility => "check-eligibility",
            Stage::SelectRelease => "select-release",
        })
    }
}

/// The three exports of a policy, however they are run.
///
/// Invariant: the later stages are called on the same `self` after
/// `detect_failure`, with the snapshot it was given and the report it
/// returned ([`decide`] does). A component of contract 0.3.0 on is not
/// sent the report again; it answers from the one it kept.
pub trait PolicyStages {
    type Error;
    fn detect_failure(&mut self, snapshot: &Snapshot) -> Result<FailureReport, Self::Error>;
    fn check_eligibility(&mut self, snapshot: &Snapshot, report: &FailureReport) -> Result<Eligibility, Self::Error>;
    fn select_release(&mut self, snapshot: &Snapshot, report: &FailureReport) -> Result<Selection, Self::Error>;
}

/// What the policy answered. Later stages are `None` when not asked.
#[derive(Clone, Debug)]
pub struct Decision {
    pub failure: FailureReport,
    pub eligibility: Option<Eligibility>,
    pub selection: Option<Selection>,
}

impl Decision {
    /// Refuses answers too large to report: texts over `max_text_bytes`,
    /// more than `max_findings` findings. Like a rejected action, this ends
    /// the evaluation with nothing executed.
    pub fn check_sizes(&self, limits: &crate::actions::ActionLimits) -> Result<(), String> {
        let failure = &self.failure;
        if failure.findings.len() > limits.max_findings {
            let count = failure.findings.len();
            return Err(format!("the policy returned {count} findings; at most {} are allowed", limits.max_findings));
        }
        let mut texts: Vec<(&str, &str)> = Vec::new();
        for finding in &failure.findings {
            texts.extend([("finding reason", finding.reason.as_str()), ("finding message", finding.message.as_str())]);
        }
        if let Some(e) = &self.eligibility {
            texts.push(("eligibility reason", &e.reason));
        }
        if let Some(s) = &self.selection {
            texts.push(("selection reason", &s.reason));
            texts.extend(s.release.as_deref().map(|r| ("selected release", r)));
            texts.extend(s.error.as_deref().map(|e| ("selection error", e)));
        }
        match texts.into_iter().find(|(_, text)| text.len() > limits.max_text_bytes) {
            Some((what, text)) => Err(format!(
                "the policy returned a {what} of {} bytes; at most {} are allowed",
                text.len(),
                limits.max_text_bytes
            )),
            None => Ok(()),
        }
    }

    /// Every action of every stage that ran, in stage order.
    pub fn actions(&self) -> Vec<PolicyAction> {
        let mut actions = self.failure.actions.clone();
        if let Some(e) = &self.eligibility {
            actions.extend(e.actions.iter().cloned());
        }
        if let Some(s) = &self.selection {
            actions.extend(s.actions.iter().cloned());
        }
        actions
    }
}

/// Asks the questions in order: eligibility only for a failed rollout or a
/// manual request (a healthy workload may be rolled back on request), and
/// selection only when eligible. Any stage error ends the evaluation with
/// no decision, so no action of it can run.
pub fn decide<P: PolicyStages>(policy: &mut P, snapshot: &Snapshot) -> Result<Decision, P::Error> {
    let failure = policy.detect_failure(snapshot)?;
    let mut decision = Decision { failure, eligibility: None, selection: None };
    if !(matches!(decision.failure.state, Health::Failed) || decision.failure.manual_request) {
        return Ok(decision);
    }
    let eligibility = policy.check_eligibility(snapshot, &decision.failure)?;
    let eligible = eligibility.eligible;
    decision.eligibility = Some(eligibility);
    if eligible {
        decision.selection = Some(policy.select_release(snapshot, &decision.failure)?);
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::PolicyAction as A;
    use rewind_snapshot::Target;

    /// A native stand-in policy that records which stages ran.
    struct Scripted {
        state: Health,
        manual: bool,
        eligible: bool,
        fail_at: Option<Stage>,
        asked: Vec<Stage>,
    }

    impl Scripted {
        fn new(state: Health) -> Self {
            Scripted { state, manual: false, eligible: true, fail_at: None, asked: vec![] }
        }
        fn ask(&mut self, stage: Stage) -> Result<(), String> {
            self.asked.push(stage);
            if self.fail_at == Some(stage) { Err(format!("{stage} failed")) } else { Ok(()) }
        }
    }

    impl PolicyStages for Scripted {
        type Error = String;
        fn detect_failure(&mut self, _: &Snapshot) -> Result<FailureReport, String> {
            self.ask(Stage::DetectFailure)?;
            Ok(FailureReport {
                state: self.state,
                findings: vec![],
                manual_request: self.manual,
                recheck_after: None,
                actions: vec![A::RemoveAnnotation("a".into())],
            })
        }
        fn check_eligibility(&mut self, _: &Snapshot, _: &FailureReport) -> Result<Eligibility, String> {
            self.ask(Stage::CheckEligibility)?;
            Ok(Eligibility { eligible: self.eligible, reason: String::new(), actions: vec![] })
        }
        fn select_release(&mut self, _: &Snapshot, _: &FailureReport) -> Result<Selection, String> {
            self.ask(Stage::SelectRelease)?;
            Ok(Selection {
                release: Some("2".into()),
                reason: String::new(),
                error: None,
                actions: vec![A::Rollback { revision: 2, deployment_only: false }],
            })
        }
    }

    fn snapshot() -> Snapshot {
        let target = Target { kind: "Deployment".into(), name: "d".into(), generation: 1, ..Default::default() };
        Snapshot { target, settings: "{}".into(), ..Default::default() }
    }

    #[test]
    fn healthy_and_progressing_stop_after_detection() {
        for state in [Health::Healthy, Health::Progressing] {
            let mut policy = Scripted::new(state);
            let decision = decide(&mut policy, &snapshot()).unwrap();
            assert_eq!(policy.asked, [Stage::DetectFailure]);
            assert!(decision.eligibility.is_none() && decision.selection.is_none());
        }
    }

    #[test]
    fn a_manual_request_is_answered_while_healthy() {
        let mut policy = Scripted::new(Health::Healthy);
        policy.manual = true;
        let decision = decide(&mut policy, &snapshot()).unwrap();
        assert_eq!(policy.asked, [Stage::DetectFailure, Stage::CheckEligibility, Stage::SelectRelease]);
        assert_eq!(decision.actions().len(), 2);
    }

    #[test]
    fn not_eligible_stops_before_selection() {
        let mut policy = Scripted::new(Health::Failed);
        policy.eligible = false;
        let decision = decide(&mut policy, &snapshot()).unwrap();
        assert_eq!(policy.asked, [Stage::DetectFailure, Stage::CheckEligibility]);
        assert!(decision.selection.is_none());
    }

    #[test]
    fn a_stage_error_ends_the_evaluation_without_a_decision() {
        let mut policy = Scripted::new(Health::Failed);
        policy.fail_at = Some(Stage::SelectRelease);
        assert_eq!(decide(&mut policy, &snapshot()).unwrap_err(), "select-release failed");
    }
}

//! The Deployment policy compiled natively: the same source and the same SDK
//! entry points as its component, on the same encoded snapshot, so the
//! Wasm/native ratio measures what running in the sandbox costs.

use rewind_sdk as g;

/// What the component does with the bytes `detect-failure` receives: decode
/// them (strings borrowed), then answer the three questions.
pub fn evaluate(bytes: &[u8]) -> Option<String> {
    decide(&g::run::decode(bytes).expect("the host's encoding decodes"))
}

/// The three stages on an already decoded snapshot.
pub fn decide(snapshot: &g::Snapshot) -> Option<String> {
    use deployment::DeploymentPolicy as P;
    use rewind_sdk::run;
    let report = run::detect_failure::<P>(snapshot).expect("native detect-failure");
    if report.state != g::Health::Failed && !report.manual_request {
        return None;
    }
    let eligibility = run::check_eligibility::<P>(snapshot, &report).expect("native check-eligibility");
    if !eligibility.eligible {
        return None;
    }
    run::select_release::<P>(snapshot, &report).expect("native select-release").release
}

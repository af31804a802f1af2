//! The Deployment policy compiled natively: the same source, decoding and
//! settings parsing as its component (the SDK's), on the same encoded
//! snapshot, so the Wasm/native ratio measures what running in the sandbox
//! costs.

use rewind_sdk as g;

/// What the component does with the bytes `detect-failure` receives: decode
/// them (strings borrowed), then answer the three questions.
pub fn evaluate(bytes: &[u8]) -> Option<String> {
    decide(&g::run::decode(bytes).expect("the host's encoding decodes"))
}

/// The three stages on an already decoded snapshot, with the settings
/// parsed once, as the component does.
pub fn decide(snapshot: &g::Snapshot) -> Option<String> {
    use deployment::DeploymentPolicy as P;
    use rewind_sdk::{Rules, run};
    let settings = run::settings_of::<P>(&snapshot.settings).expect("native settings");
    let report = P::detect_failure(snapshot, &settings).expect("native detect-failure");
    if report.state != g::Health::Failed && !report.manual_request {
        return None;
    }
    let eligibility = P::check_eligibility(snapshot, &settings, &report).expect("native check-eligibility");
    if !eligibility.eligible {
        return None;
    }
    P::select_release(snapshot, &settings, &report).expect("native select-release").release
}

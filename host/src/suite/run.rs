//! Running the cases of one suite file.

use super::{Case, SuiteError, build::resolve_policy, parse_suite, settings_json};
use crate::actions::Grant;
use crate::evaluate::{EvalOptions, Subject, TargetSpec, evaluate_subject, find_target};
use crate::objects::{ObjectSet, Origin};
use crate::runtime::{LoadedPolicy, PolicyRuntime};
use crate::snapshot::metrics;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct CaseResult {
    pub name: String,
    /// Empty when the case passed.
    pub problems: Vec<String>,
}

pub struct SuiteResult {
    pub path: PathBuf,
    pub cases: Vec<CaseResult>,
}

/// Runs every case of the suite at `path` against its policy, or against
/// `policy` when given (another build, or another language's port, of the
/// same rules). A suite that cannot be read or whose policy does not load
/// is an error; a case that cannot be evaluated is a failed case.
pub fn run_suite_file(runtime: &PolicyRuntime, path: &Path, policy: Option<&Path>) -> Result<SuiteResult, SuiteError> {
    let suite = parse_suite(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let policy_path = match policy {
        Some(policy) => resolve_policy(policy)?,
        None => resolve_policy(&base.join(&suite.policy))?,
    };
    // One load per distinct settings document: settings are validated at
    // load, and the compiled component is shared by all of them.
    let mut loaded: HashMap<String, Result<LoadedPolicy, String>> = HashMap::new();
    let mut cases = Vec::new();
    for case in &suite.cases {
        let settings = settings_json(case.settings.as_ref().or(suite.settings.as_ref()));
        let policy = loaded
            .entry(settings.clone())
            .or_insert_with(|| runtime.load(&policy_path, &settings).map_err(|e| e.to_string()));
        let grants = case.grants.as_ref().unwrap_or(&suite.grants);
        let problems = match (policy, Grant::parse_all(grants)) {
            (Ok(policy), Ok(grants)) => run_case(policy, case, base, grants),
            (Ok(_), Err(e)) => vec![format!("grants: {e}")],
            (Err(e), _) => vec![e.clone()],
        };
        cases.push(CaseResult { name: case.name.clone(), problems });
    }
    Ok(SuiteResult { path: path.to_path_buf(), cases })
}

fn run_case(policy: &LoadedPolicy, case: &Case, base: &Path, grants: Vec<Grant>) -> Vec<String> {
    let subject =
        match Subject::parse(case.target.as_deref(), case.application.as_deref(), &case.members, &case.namespace) {
            Ok(subject) => subject,
            Err(e) => return vec![e],
        };
    let now = match crate::time::parse(&case.now) {
        Ok(n) => n,
        Err(e) => return vec![format!("now: {e}")],
    };
    match evaluate_case(policy, case, base, &subject, EvalOptions::offline(now, grants)) {
        Ok(report) => match &case.expect.refused {
            Some(want) => vec![format!("expected a refusal containing {want:?}, but the case was evaluated")],
            None => case.expect.check(&report, &case.namespace),
        },
        Err(refusal) => match &case.expect.refused {
            Some(want) if refusal.contains(want.as_str()) => Vec::new(),
            Some(want) => vec![format!("refused, but not with {want:?}: {refusal}")],
            None => vec![refusal],
        },
    }
}

/// The case's report, or why its objects could not be read or evaluated at
/// all (what a `refused` expectation is about; a mistyped target or time
/// is the case's own error, never an expected refusal).
fn evaluate_case(
    policy: &LoadedPolicy,
    case: &Case,
    base: &Path,
    subject: &Subject,
    options: EvalOptions,
) -> Result<crate::report::EvalReport, String> {
    let paths: Vec<PathBuf> = case.cluster.paths().iter().map(|p| base.join(p)).collect();
    let mut objects = crate::dump::load_paths(&paths).map_err(|e| e.to_string())?;
    let warning = match (&case.metrics, subject) {
        (Some(results), Subject::Workload(target)) => inline_metrics(&mut objects, target, results)?,
        (Some(_), Subject::Application(_)) => {
            return Err("a case's metrics are a workload's; record them in the dump for each member instead".into());
        }
        (None, _) => None,
    };
    let mut report = evaluate_subject(policy, &mut objects, subject, &options, &crate::snapshot::NoViews)
        .map_err(|e| e.to_string())?
        .report;
    report.warnings.extend(warning);
    Ok(report)
}

/// The case's `metrics` as a RecordedMetrics object for its target (checked
/// when the snapshot reads it, like a dump's).
fn inline_metrics(objects: &mut ObjectSet, target: &TargetSpec, results: &[Value]) -> Result<Option<String>, String> {
    let id = find_target(objects, target).map_err(|e| e.to_string())?;
    let target_value = objects.get(id).expect("found above");
    let mut recorded = metrics::recorded_object(target_value, &[], serde_json::json!({"suite": "inline metrics"}));
    recorded["results"] = Value::from(results.to_vec());
    crate::queries::add_results(objects, id, recorded, Origin("the case's metrics".into()))
}

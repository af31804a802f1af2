//! What a case expects, and the readable list of mismatches when the
//! evaluation differs.

use crate::evaluate::TargetSpec;
use crate::objects;
use crate::report::EvalReport;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every field is optional; only what is given is checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expectations {
    /// `healthy`, `progressing` or `failed`.
    pub failure: Option<String>,
    /// The distinct finding reasons, in any order.
    pub findings: Option<Vec<String>>,
    /// Each listed text must occur in one finding's message.
    #[serde(default)]
    pub finding_messages: Vec<String>,
    /// The seconds after which the policy says its answer could change;
    /// `null` means it gave none.
    #[serde(default, deserialize_with = "present")]
    pub recheck_after: Option<Option<u32>>,
    /// `true`/`false`; `null` means the stage must not have run.
    #[serde(default, deserialize_with = "present")]
    pub eligible: Option<Option<bool>>,
    /// Text the eligibility reason must contain.
    pub eligibility_reason: Option<String>,
    /// Text the selection's reason must contain.
    pub selection_reason: Option<String>,
    /// The selected release; `null` means none selected (or not asked).
    #[serde(default, deserialize_with = "present")]
    pub release: Option<Option<String>>,
    /// Each listed action must match one actual action (a JSON subset);
    /// an empty list means the policy returned no action.
    pub actions: Option<Vec<Value>>,
    /// Each listed text must occur in one reported error; an empty list
    /// means no error.
    pub errors: Option<Vec<String>>,
    /// Each listed text must occur in one of the host's warnings about the
    /// objects (a time it could not read, an object it left out); an empty
    /// list means no warning.
    pub warnings: Option<Vec<String>>,
    /// The case's objects must be refused (not evaluated) with an error
    /// containing this text: a dump rewind cannot read as it is.
    pub refused: Option<String>,
    /// Checks on the objects after the actions were applied.
    #[serde(default)]
    pub objects: Vec<ObjectCheck>,
}

/// Distinguishes a field given as `null` (`Some(None)`) from one left out.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectCheck {
    /// `Kind/name` (or `Kind.group/name`), in the case's namespace unless
    /// `namespace` names another.
    pub object: String,
    /// The object's namespace, when it is not the case's (a GitOps tool's
    /// object).
    pub namespace: Option<String>,
    pub pointer: Option<String>,
    pub equals: Option<Value>,
    pub annotation_absent: Option<String>,
    /// With `pointer`: nothing may be at the pointer.
    #[serde(default)]
    pub absent: bool,
    #[serde(default)]
    pub deleted: bool,
}

impl Expectations {
    /// Mismatches between this expectation and the report, each one line.
    pub fn check(&self, report: &EvalReport, namespace: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let mut differ = |what: &str, expected: String, actual: String| {
            if expected != actual {
                problems.push(format!("{what}: expected {expected}, got {actual}"));
            }
        };
        if let Some(state) = &self.failure {
            let actual = report.failure.as_ref().map_or("(not evaluated)", |f| f.state);
            differ("failure state", state.clone(), actual.to_string());
        }
        if let Some(reasons) = &self.findings {
            let expected: BTreeSet<&str> = reasons.iter().map(String::as_str).collect();
            let actual: BTreeSet<&str> =
                report.failure.iter().flat_map(|f| f.findings.iter().map(|x| x.reason.as_str())).collect();
            differ("finding reasons", format!("{expected:?}"), format!("{actual:?}"));
        }
        if let Some(recheck_after) = &self.recheck_after {
            let actual = report.failure.as_ref().and_then(|f| f.recheck_after);
            differ("recheck after", show_option(recheck_after), show_option(&actual));
        }
        if let Some(eligible) = &self.eligible {
            let actual = report.eligibility.as_ref().map(|e| e.eligible);
            differ("eligible", show_option(eligible), show_option(&actual));
        }
        if let Some(release) = &self.release {
            let actual = report.selection.as_ref().and_then(|s| s.release.clone());
            differ("selected release", show_option(release), show_option(&actual));
        }
        let reasons = [
            ("eligibility reason", &self.eligibility_reason, report.eligibility.as_ref().map(|e| e.reason.as_str())),
            ("selection reason", &self.selection_reason, report.selection.as_ref().map(|s| s.reason.as_str())),
        ];
        for (what, want, actual) in reasons {
            let Some(want) = want else { continue };
            match actual {
                Some(reason) if reason.contains(want.as_str()) => {}
                Some(reason) => problems.push(format!("{what}: {reason:?} does not contain {want:?}")),
                None => problems.push(format!("{what}: expected one containing {want:?}, not asked")),
            }
        }
        let messages: Vec<&str> =
            report.failure.iter().flat_map(|f| f.findings.iter().map(|x| x.message.as_str())).collect();
        contains_each(&mut problems, "finding messages", &self.finding_messages, &messages);
        if let Some(expected) = &self.warnings {
            if expected.is_empty() && !report.warnings.is_empty() {
                problems.push(format!("warnings: expected none, got {:?}", report.warnings));
            }
            let warnings: Vec<&str> = report.warnings.iter().map(String::as_str).collect();
            contains_each(&mut problems, "warnings", expected, &warnings);
        }
        if let Some(expected) = &self.actions {
            let actual: Vec<Value> =
                report.actions.iter().map(|a| serde_json::to_value(&a.action).expect("actions serialize")).collect();
            if expected.is_empty() && !actual.is_empty() {
                problems.push(format!("actions: expected none, got {}", Value::Array(actual.clone())));
            }
            for want in expected {
                if !actual.iter().any(|have| is_subset(want, have)) {
                    problems.push(format!(
                        "actions: no action matches {want}; actions were {}",
                        Value::Array(actual.clone())
                    ));
                }
            }
        }
        if let Some(expected) = &self.errors {
            if expected.is_empty() && !report.errors.is_empty() {
                problems.push(format!("errors: expected none, got {:?}", report.errors));
            }
            let errors: Vec<&str> = report.errors.iter().map(String::as_str).collect();
            contains_each(&mut problems, "errors", expected, &errors);
        }
        for check in &self.objects {
            if let Err(problem) = check.check(report, namespace) {
                problems.push(format!("object {}: {problem}", check.object));
            }
        }
        problems
    }
}

impl ObjectCheck {
    fn check(&self, report: &EvalReport, namespace: &str) -> Result<(), String> {
        let namespace = self.namespace.as_deref().unwrap_or(namespace);
        let spec = TargetSpec::parse(&self.object, namespace)?;
        let objects =
            report.objects.as_ref().ok_or("the evaluation did not apply its actions (it ended in an error)")?;
        let found = objects.iter().find(|o| {
            let api_version = o.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            objects::name(o) == Some(spec.name.as_str())
                && objects::namespace(o).is_none_or(|ns| ns == namespace)
                && objects::kind(o).is_some_and(|k| objects::names_kind(&spec.kind, k, api_version))
        });
        if self.deleted {
            return match found {
                Some(_) => Err("expected deleted, but it still exists".into()),
                None => Ok(()),
            };
        }
        let object = found.ok_or("does not exist after apply")?;
        if let Some(key) = &self.annotation_absent
            && let Some(value) = objects::annotation(object, key)
        {
            return Err(format!("annotation {key} should be absent but is {value:?}"));
        }
        if let Some(pointer) = &self.pointer {
            let actual = object.pointer(pointer);
            if self.absent {
                return match actual {
                    Some(value) => Err(format!("{pointer} should be absent but is {value}")),
                    None => Ok(()),
                };
            }
            match &self.equals {
                Some(expected) if actual != Some(expected) => {
                    return Err(format!(
                        "{pointer}: expected {expected}, got {}",
                        actual.map_or("nothing".to_string(), Value::to_string)
                    ));
                }
                None if actual.is_none() => return Err(format!("{pointer} does not exist")),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Adds a problem for each wanted text that no actual text contains.
fn contains_each(problems: &mut Vec<String>, what: &str, wanted: &[String], actual: &[&str]) {
    for want in wanted {
        if !actual.iter().any(|a| a.contains(want.as_str())) {
            problems.push(format!("{what}: none contains {want:?}; they were {actual:?}"));
        }
    }
}

fn show_option<T: std::fmt::Debug>(value: &Option<T>) -> String {
    value.as_ref().map_or("null".to_string(), |v| format!("{v:?}"))
}

/// Whether every field of `want` is in `have` with an equal value (objects
/// compare recursively; arrays and scalars compare whole).
pub fn is_subset(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, wv)| h.get(k).is_some_and(|hv| is_subset(wv, hv))),
        _ => want == have,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_matching_is_recursive_for_objects_only() {
        let have = json!({"type": "merge-patch", "patch": {"spec": {"a": 1, "b": 2}}, "list": [1, 2]});
        assert!(is_subset(&json!({"type": "merge-patch", "patch": {"spec": {"a": 1}}}), &have));
        assert!(!is_subset(&json!({"patch": {"spec": {"a": 2}}}), &have));
        assert!(!is_subset(&json!({"list": [1]}), &have));
    }

    #[test]
    fn null_and_absent_expectations_differ() {
        let e: Expectations = serde_yaml::from_str("release: null").unwrap();
        assert_eq!(e.release, Some(None));
        let e: Expectations = serde_yaml::from_str("failure: failed").unwrap();
        assert_eq!(e.release, None);
    }
}

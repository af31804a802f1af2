//! Which history objects are a workload's releases: those its controller
//! itself counts. Anyone allowed to create a ReplicaSet or a
//! ControllerRevision in the namespace can give it an owner reference with
//! the workload's uid and any revision number; only the controller
//! reference that names the workload (kind, group, name and uid), and for a
//! Deployment a ReplicaSet its selector matches, make it one, as the
//! workload's controller requires before it adopts or counts it.

use super::Workload;
use crate::objects::{self, OwnerReference};
use serde_json::{Map, Value};

/// Why `history` is not a release of `target`, if it is not.
pub fn not_claimed(workload: &dyn Workload, target: &Value, history: &Value) -> Option<String> {
    let references = objects::owner_references(history);
    let Some(controller) = references.iter().find(|r| r.controller) else {
        return Some("it has no controller reference".into());
    };
    if let Some(mismatch) = controller_mismatch(workload, target, controller) {
        return Some(mismatch);
    }
    if !workload.selects_history() {
        return None;
    }
    match target.pointer("/spec/selector") {
        // A trimmed dump without a selector: nothing to hold the labels to.
        None | Some(Value::Null) => None,
        Some(selector) => match selects(selector, objects::at(history, &["metadata", "labels"])) {
            Ok(true) => None,
            Ok(false) => Some(format!("its labels do not match the {}'s selector", workload.kind())),
            Err(problem) => Some(format!("the {}'s selector cannot be read: {problem}", workload.kind())),
        },
    }
}

fn controller_mismatch(workload: &dyn Workload, target: &Value, controller: &OwnerReference) -> Option<String> {
    let group = objects::group_of(&controller.api_version);
    let names_target = controller.uid == objects::uid(target).unwrap_or_default()
        && controller.kind == workload.kind()
        && workload.groups().contains(&group)
        && controller.name == objects::name(target).unwrap_or_default();
    (!names_target).then(|| {
        format!(
            "its controller reference names {} {} ({}, uid {}), not this {}",
            controller.kind,
            controller.name,
            if controller.api_version.is_empty() { "no apiVersion" } else { &controller.api_version },
            controller.uid,
            workload.kind()
        )
    })
}

/// Whether a label selector (`matchLabels` and `matchExpressions`, as
/// metav1.LabelSelector) selects `labels`. An empty selector selects
/// everything, as Kubernetes reads one.
pub fn selects(selector: &Value, labels: Option<&Value>) -> Result<bool, String> {
    let empty = Map::new();
    let labels = labels.and_then(Value::as_object).unwrap_or(&empty);
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    if let Some(wanted) = selector.get("matchLabels").filter(|v| !v.is_null()) {
        let wanted = wanted.as_object().ok_or("matchLabels is not a map")?;
        for (key, value) in wanted {
            if label(key) != Some(value.as_str().ok_or_else(|| format!("matchLabels.{key} is not a string"))?) {
                return Ok(false);
            }
        }
    }
    let expressions = match selector.get("matchExpressions") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(expressions)) => expressions,
        Some(_) => return Err("matchExpressions is not a list".into()),
    };
    for expression in expressions {
        let key = expression.get("key").and_then(Value::as_str).ok_or("a matchExpression has no key")?;
        let values: Vec<&str> = match expression.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
            Some(_) => return Err(format!("matchExpression {key}: values is not a list")),
        };
        let held = match expression.get("operator").and_then(Value::as_str) {
            Some("In") => label(key).is_some_and(|v| values.contains(&v)),
            Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
            Some("Exists") => label(key).is_some(),
            Some("DoesNotExist") => label(key).is_none(),
            other => {
                return Err(format!(
                    "matchExpression {key}: operator {other:?} is not In, NotIn, Exists or DoesNotExist"
                ));
            }
        };
        if !held {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use serde_json::json;

    #[test]
    fn selectors_read_as_kubernetes_reads_them() {
        let labels = json!({"app": "web", "tier": "front"});
        let selects = |selector: Value| selects(&selector, Some(&labels)).unwrap();
        assert!(selects(json!({})));
        assert!(selects(json!({"matchLabels": {"app": "web"}})));
        assert!(!selects(json!({"matchLabels": {"app": "web", "pod-template-hash": "x"}})));
        assert!(selects(json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]})));
        assert!(!selects(json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]})));
        assert!(selects(json!({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]})));
        assert!(!selects(json!({"matchExpressions": [{"key": "canary", "operator": "Exists"}]})));
        assert!(super::selects(&json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}), None).is_err());
    }

    #[test]
    fn a_release_is_what_the_workloads_controller_counts() {
        let deployment = deployment("web:3");
        let workload = super::super::of_value(&deployment).unwrap();
        let claimed = replica_set("2", "web:2");
        assert_eq!(not_claimed(workload, &deployment, &claimed), None);
        let mut not_controller = claimed.clone();
        not_controller["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        assert_eq!(not_claimed(workload, &deployment, &not_controller).unwrap(), "it has no controller reference");
        let mut other_kind = claimed.clone();
        other_kind["metadata"]["ownerReferences"][0]["kind"] = json!("StatefulSet");
        assert!(not_claimed(workload, &deployment, &other_kind).unwrap().contains("names StatefulSet web"));
        let mut other_group = claimed.clone();
        other_group["metadata"]["ownerReferences"][0]["apiVersion"] = json!("shadow.example.com/v1");
        assert!(not_claimed(workload, &deployment, &other_group).unwrap().contains("(shadow.example.com/v1"));
        let mut outside_selector = claimed.clone();
        outside_selector["metadata"]["labels"] = json!({"app": "planted"});
        let why = not_claimed(workload, &deployment, &outside_selector).unwrap();
        assert_eq!(why, "its labels do not match the Deployment's selector");
    }
}

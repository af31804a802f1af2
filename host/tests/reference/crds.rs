//! The custom resources' field reference, from the CRDs `rewind crd`
//! prints: the same schema the API server validates and `kubectl explain`
//! reads.

use super::schema::{cell, fields};
use serde_json::Value;

/// The page, and the fields that have no description.
pub fn page() -> (String, Vec<String>) {
    let mut page = String::from(
        "# RolloutPolicy, RolloutDecision, RolloutPolicyBound\n\n\
         Generated from the CRDs (`rewind crd`); `kubectl explain rolloutpolicy.spec.mode` reads the same \
         descriptions. All three are `rewind.dev/v1alpha1`.\n",
    );
    let mut undocumented = Vec::new();
    for crd in rewind::controller::manifests::crds() {
        let crd = serde_json::to_value(crd).expect("a CRD serializes");
        let names = &crd["spec"]["names"];
        let version = &crd["spec"]["versions"][0];
        let kind = names["kind"].as_str().expect("a kind");
        page.push_str(&format!("\n## {kind}\n\n"));
        let short = names["shortNames"].as_array().into_iter().flatten().filter_map(Value::as_str);
        let short = short.map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
        page.push_str(&format!(
            "Plural `{}`, short name {short}, {} scope.\n",
            names["plural"].as_str().unwrap_or_default(),
            crd["spec"]["scope"].as_str().unwrap_or_default().to_lowercase()
        ));
        let schema = &version["schema"]["openAPIV3Schema"];
        if let Some(description) = schema["description"].as_str() {
            page.push_str(&format!("\n{description}\n"));
        }
        let columns = version["additionalPrinterColumns"].as_array().into_iter().flatten();
        let columns: Vec<String> = columns
            .map(|c| {
                format!("{} (`{}`)", c["name"].as_str().unwrap_or_default(), c["jsonPath"].as_str().unwrap_or_default())
            })
            .collect();
        if !columns.is_empty() {
            page.push_str(&format!("\n`kubectl get` shows: {}.\n", columns.join(", ")));
        }
        page.push_str("\n| Field | Type | Default | Description |\n|---|---|---|---|\n");
        for section in ["spec", "status"] {
            for field in fields(&schema["properties"][section], section) {
                let description = field.description.clone().unwrap_or_default();
                if field.description.is_none() {
                    undocumented.push(format!("{kind} {}", field.path));
                }
                let required = if field.required { " (required)" } else { "" };
                let default = field.default.map(|d| format!("`{d}`")).unwrap_or_default();
                page.push_str(&format!(
                    "| `{}` | {}{required} | {} | {} |\n",
                    field.path,
                    cell(&field.kind),
                    cell(&default),
                    cell(&description)
                ));
            }
        }
    }
    (page, undocumented)
}

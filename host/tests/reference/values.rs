//! The Helm chart's values reference, from `values.schema.json` (what each
//! value is) and `values.yaml` (its default).

use super::schema::{cell, fields};
use serde_json::Value;

/// The page, and the values that have no description.
pub fn page(chart: &std::path::Path) -> (String, Vec<String>) {
    let read = |file: &str| std::fs::read_to_string(chart.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let schema: Value = serde_json::from_str(&read("values.schema.json")).expect("the values schema is JSON");
    let defaults: Value = serde_yaml::from_str(&read("values.yaml")).expect("values.yaml is YAML");
    let mut page = String::from(
        "# Helm values\n\nGenerated from the chart's `values.schema.json` (Helm checks every install and \
         upgrade against it, so a misspelt or mistyped value is refused) and `values.yaml` (the defaults).\n",
    );
    if let Some(description) = schema["description"].as_str() {
        page.push_str(&format!("\n{description}\n"));
    }
    page.push_str("\n| Value | Type | Default | Description |\n|---|---|---|---|\n");
    let mut undocumented = Vec::new();
    for field in fields(&schema, "") {
        if field.description.is_none() {
            undocumented.push(field.path.clone());
        }
        let default = if field.path.contains("[]") { None } else { default_of(&defaults, &field.path) };
        let default = default.map(|d| format!("`{}`", serde_json::to_string(&d).expect("JSON"))).unwrap_or_default();
        page.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            field.path,
            cell(&field.kind),
            cell(&default),
            cell(field.description.as_deref().unwrap_or_default())
        ));
    }
    (page, undocumented)
}

/// A scalar or empty default at a dotted path; objects are described by
/// their own fields.
fn default_of(defaults: &Value, path: &str) -> Option<Value> {
    let value = path.split('.').try_fold(defaults, |value, key| value.get(key))?;
    let empty = value.as_object().is_some_and(|o| o.is_empty()) || value.as_array().is_some();
    (!value.is_object() || empty).then(|| value.clone())
}

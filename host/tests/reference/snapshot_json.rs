//! The snapshot as `host.snapshot-json` returns it, for policies written in
//! a language without the Rust SDK: the field reference from the schema of
//! the very type the host serializes (`rewind_snapshot::JsonView`), and an
//! example produced by the host's own snapshot builder.

use schemars::schema_for;
use serde_json::Value;
use std::fmt::Write;

const EXAMPLE_DUMP: &str = "examples/deployment/image-pull-backoff.yaml";

/// The page, and the fields that have no description.
pub fn page(workspace: &std::path::Path) -> (String, Vec<String>) {
    let schema = schema_for!(rewind_snapshot::JsonView<'static, 'static>);
    let schema = schema.as_value();
    let mut page = String::from(
        "# The snapshot as JSON\n\nA policy that cannot decode the snapshot's bytes (a Python or JavaScript \
         policy) calls `host.snapshot-json()` and reads the same snapshot as one JSON document. Generated from \
         the type the host serializes: field names are kebab-case, times are seconds since the Unix epoch, \
         absent values are `null`, and an `objects` index points into the `objects` list (0 is the target).\n\n\
         The document has the fields of the policy's own contract version: `metrics` only from 0.4.0 on.\n",
    );
    let mut undocumented = Vec::new();
    page.push_str(&type_section("Snapshot", schema, &mut undocumented));
    let definitions = schema["$defs"].as_object().expect("the snapshot has named types");
    for (name, definition) in definitions {
        page.push_str(&type_section(name, definition, &mut undocumented));
    }
    let _ = write!(
        page,
        "\n## Example\n\nThe snapshot of `Deployment/web` in `{EXAMPLE_DUMP}` at 2024-11-06T14:34:00Z, as a \
         0.4.0 policy reads it:\n\n```json\n{}\n```\n",
        example(workspace)
    );
    (page, undocumented)
}

fn type_section(name: &str, schema: &Value, undocumented: &mut Vec<String>) -> String {
    let mut text = format!("\n## {name}\n\n");
    if let Some(description) = schema["description"].as_str() {
        let _ = writeln!(text, "{}\n", description.trim());
    }
    if let Some(properties) = schema["properties"].as_object() {
        text.push_str("| Field | Type | Description |\n|---|---|---|\n");
        for (field, property) in properties {
            let description = property["description"].as_str();
            if description.is_none() {
                undocumented.push(format!("{name}.{field}"));
            }
            let _ =
                writeln!(text, "| `{field}` | {} | {} |", kind_of(property), one_line(description.unwrap_or_default()));
        }
    } else if let Some(cases) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        text.push_str("One of:\n\n");
        for case in cases {
            let _ = writeln!(text, "- {}", case_of(case));
        }
    } else if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{}`", v.as_str().unwrap_or_default())).collect();
        let _ = writeln!(text, "One of the strings {}.", values.join(", "));
    } else {
        let _ = writeln!(text, "{}", kind_of(schema));
    }
    text
}

/// One case of an enum: a string, or an object with one field naming the
/// case.
fn case_of(case: &Value) -> String {
    let description = case["description"].as_str().map(|d| format!(": {}", one_line(d))).unwrap_or_default();
    let constant = case.get("const").map(std::slice::from_ref);
    if let Some(values) = case["enum"].as_array().map(Vec::as_slice).or(constant) {
        let values: Vec<String> = values.iter().map(|v| format!("`\"{}\"`", v.as_str().unwrap_or_default())).collect();
        return format!("{}{description}", values.join(", "));
    }
    if let Some((key, value)) = case["properties"].as_object().and_then(|p| p.iter().next()) {
        return format!("`{{\"{key}\": …}}` with {}{description}", kind_of(value));
    }
    format!("{}{description}", kind_of(case))
}

/// A field's type as a reader wants it, linking named types.
fn kind_of(schema: &Value) -> String {
    // The root: an application's members are snapshots themselves.
    if schema["$ref"] == "#" {
        return "[Snapshot](#snapshot)".to_string();
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return format!("[{name}](#{})", name.to_lowercase());
    }
    if let Some(cases) = schema["anyOf"].as_array().or(schema["oneOf"].as_array()) {
        return cases.iter().map(kind_of).collect::<Vec<_>>().join(" or ");
    }
    let base = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
        _ => "any".to_string(),
    };
    if base.starts_with("array") {
        if let Some(items) = schema["prefixItems"].as_array() {
            return format!("[{}]", items.iter().map(kind_of).collect::<Vec<_>>().join(", "));
        }
        return base.replacen("array", &format!("list of {}", kind_of(&schema["items"])), 1);
    }
    base.replace("null", "`null`")
}

fn one_line(text: &str) -> String {
    super::schema::cell(text)
}

fn example(workspace: &std::path::Path) -> String {
    let objects = rewind::dump::load_paths(&[workspace.join(EXAMPLE_DUMP)]).expect("the example dump loads");
    let target = rewind::evaluate::TargetSpec::parse("Deployment/web", "shop").expect("a target");
    let now = rewind::time::parse("2024-11-06T14:34:00Z").expect("a time");
    let argocd = rewind::gitops::ArgoCdTracking::default();
    let prepared =
        rewind_core::evaluation::Prepared::new(&objects, &target, now, "{}", &rewind::snapshot::NoViews, &argocd)
            .expect("the example's snapshot builds");
    let view = prepared.built.snapshot.json_view(rewind_snapshot::Encoding::LATEST);
    serde_json::to_string_pretty(&view).expect("snapshots serialize")
}

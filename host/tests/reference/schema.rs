//! Field tables from an OpenAPI / JSON schema of nested `properties`: the
//! CRDs' and the chart values'.

use serde_json::Value;

/// One field: its dotted path, what type it takes, its default, whether it
/// is required, and its description.
pub struct Field {
    pub path: String,
    pub kind: String,
    pub default: Option<Value>,
    pub required: bool,
    pub description: Option<String>,
}

/// Every field below `schema`, depth first in declared order, with paths
/// starting at `prefix`. Array items' fields are written `path[].field`.
pub fn fields(schema: &Value, prefix: &str) -> Vec<Field> {
    let mut out = Vec::new();
    walk(schema, prefix, &mut out);
    out
}

fn walk(schema: &Value, prefix: &str, out: &mut Vec<Field>) {
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let Some(properties) = schema["properties"].as_object() else { return };
    for (name, property) in properties {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        out.push(Field {
            path: path.clone(),
            kind: kind_of(property),
            default: property.get("default").cloned(),
            required: required.contains(&name.as_str()),
            description: property["description"].as_str().map(str::to_string),
        });
        walk(property, &path, out);
        if property["type"] == "array" {
            walk(&property["items"], &format!("{path}[]"), out);
        }
    }
}

/// The type as a reader wants it: `string`, `[string]`, `integer ≥ 0`,
/// `Enforce | DryRun`, `object`.
pub fn kind_of(schema: &Value) -> String {
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(|v| format!("`{}`", v.as_str().map_or(v.to_string(), str::to_string)))
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    let base = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => {
            kinds.iter().filter_map(Value::as_str).filter(|k| *k != "null").collect::<Vec<_>>().join(" or ")
        }
        _ if schema["x-kubernetes-preserve-unknown-fields"] == true => "any".to_string(),
        _ => "any".to_string(),
    };
    let base = if base == "array" { format!("[{}]", kind_of(&schema["items"])) } else { base };
    match schema["minimum"].as_i64() {
        Some(minimum) => format!("{base} ≥ {minimum}"),
        None => base,
    }
}

/// A table cell: one line, pipes escaped, and angle brackets outside code
/// spans written as entities (Markdown would read `<hex>` as a tag).
pub fn cell(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|");
    line.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 0 { part.replace('<', "&lt;").replace('>', "&gt;") } else { part.to_string() })
        .collect::<Vec<_>>()
        .join("`")
}

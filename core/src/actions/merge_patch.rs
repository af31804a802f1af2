//! RFC 7386 JSON merge patch.

use serde_json::Value;

/// Applies `patch` to `target`: objects merge key by key, `null` removes a
/// key, anything else replaces.
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            apply_merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Nesting depth of a JSON value (a scalar is 0). Iterative, so a hostile
/// value cannot overflow the host's stack.
pub fn json_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_rfc_7386_examples() {
        let mut doc = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["example", "sample"], "content": "x"});
        apply_merge_patch(
            &mut doc,
            &json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null}, "tags": ["example"]}),
        );
        assert_eq!(
            doc,
            json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"], "content": "x", "phoneNumber": "+01-123-456-7890"})
        );
        let mut scalar = json!("a");
        apply_merge_patch(&mut scalar, &json!({"b": {"c": null}}));
        assert_eq!(scalar, json!({"b": {}}));
    }

    #[test]
    fn depth_counts_nesting() {
        assert_eq!(json_depth(&json!(1)), 0);
        assert_eq!(json_depth(&json!({"a": [1, {"b": 2}]})), 3);
    }
}

//! Typed reads of an object's full JSON: what custom resources carry beyond
//! the snapshot's typed view (`spec`, `status` of an operator's CR).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// An object's JSON with reads by JSON pointer (`/status/activeStrategy`).
/// Missing fields read as `None`; fields of the wrong type are errors that
/// name the pointer, so a policy can report bad input instead of guessing.
#[derive(Clone, Debug)]
pub struct RawObject {
    pub value: Value,
}

impl RawObject {
    pub fn new(value: Value) -> Self {
        RawObject { value }
    }

    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer).filter(|v| !v.is_null())
    }

    pub fn str(&self, pointer: &str) -> Result<Option<&str>, String> {
        self.get(pointer).map(|v| v.as_str().ok_or_else(|| wrong(pointer, "a string", v))).transpose()
    }

    /// A string that is present and not empty.
    pub fn non_empty_str(&self, pointer: &str) -> Result<Option<&str>, String> {
        Ok(self.str(pointer)?.filter(|s| !s.trim().is_empty()))
    }

    pub fn i64(&self, pointer: &str) -> Result<Option<i64>, String> {
        self.get(pointer).map(|v| v.as_i64().ok_or_else(|| wrong(pointer, "an integer", v))).transpose()
    }

    pub fn array(&self, pointer: &str) -> Result<&[Value], String> {
        match self.get(pointer) {
            None => Ok(&[]),
            Some(v) => v.as_array().map(Vec::as_slice).ok_or_else(|| wrong(pointer, "a list", v)),
        }
    }

    /// Deserializes the value at `pointer` into `T` (none when absent).
    pub fn parse<T: DeserializeOwned>(&self, pointer: &str) -> Result<Option<T>, String> {
        self.get(pointer).map(|v| serde_json::from_value(v.clone()).map_err(|e| format!("{pointer}: {e}"))).transpose()
    }
}

fn wrong(pointer: &str, expected: &str, found: &Value) -> String {
    let mut shown = found.to_string();
    if shown.len() > 80 {
        shown.truncate(80);
        shown.push('…');
    }
    format!("{pointer} should be {expected}, found {shown}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_name_the_pointer_on_type_errors() {
        let raw = RawObject::new(json!({"status": {"phase": "Stable", "count": "three", "list": [1], "empty": ""}}));
        assert_eq!(raw.str("/status/phase"), Ok(Some("Stable")));
        assert_eq!(raw.str("/status/missing"), Ok(None));
        assert_eq!(raw.non_empty_str("/status/empty"), Ok(None));
        assert_eq!(raw.i64("/status/count"), Err("/status/count should be an integer, found \"three\"".into()));
        assert_eq!(raw.array("/status/list").unwrap().len(), 1);
        assert!(raw.array("/status/phase").unwrap_err().contains("a list"));
        assert_eq!(raw.parse::<Vec<u8>>("/status/list"), Ok(Some(vec![1])));
    }
}

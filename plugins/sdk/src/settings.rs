//! Policy settings: a JSON document parsed into the policy's own type.

use serde::de::DeserializeOwned;

/// A policy's settings type. Derive `Deserialize` with
/// `#[serde(default, deny_unknown_fields, rename_all = "camelCase")]` so
/// omitted fields take their defaults and misspelt ones are errors; check
/// what serde cannot in [`Settings::validate`].
pub trait Settings: DeserializeOwned {
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Free-form settings for policies that read them as JSON.
impl Settings for serde_json::Value {}

/// Parses settings into `T`. Empty input means `{}`, so `T`'s defaults
/// apply; errors name the field (`graceSeconds: invalid type ...`).
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| format!("invalid settings: {e}"))
}

/// Fails when `value` is negative, naming the setting.
pub fn non_negative(name: &str, value: i64) -> Result<(), String> {
    if value < 0 { Err(format!("{name} must not be negative (got {value})")) } else { Ok(()) }
}

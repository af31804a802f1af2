//! Policy settings: a JSON document parsed into the policy's own type.

use serde::de::DeserializeOwned;

/// Parses settings into `T`. Empty input means `{}`, so `T`'s defaults
/// apply; errors name the field (`graceSeconds: invalid type ...`).
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| format!("invalid settings: {e}"))
}

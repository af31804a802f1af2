//! Timestamps cross the WIT boundary as seconds since the Unix epoch; users
//! read and write them as RFC 3339.

use jiff::Timestamp;

/// Parses an RFC 3339 timestamp (`2024-11-06T14:34:00Z`) into epoch seconds.
pub fn parse(text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|e| format!("`{text}` is not an RFC 3339 timestamp: {e}"))
}

/// Formats epoch seconds as RFC 3339 in UTC; out-of-range values are shown
/// as the raw number rather than failing.
pub fn format(seconds: i64) -> String {
    Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_else(|_| format!("@{seconds}"))
}

pub fn from_jiff(t: &Timestamp) -> i64 {
    t.as_second()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_and_rejects_garbage() {
        let t = super::parse("2024-11-06T14:34:00Z").unwrap();
        assert_eq!(super::format(t), "2024-11-06T14:34:00Z");
        assert!(super::parse("yesterday").unwrap_err().contains("yesterday"));
    }
}

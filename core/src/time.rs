//! Timestamps cross the WIT boundary as seconds since the Unix epoch; users
//! read and write them as RFC 3339.

use jiff::Timestamp;

/// Parses an RFC 3339 timestamp (`2024-11-06T14:34:00Z`) into epoch seconds.
/// The form Ruby prints by default (`2018-01-09 22:56:45 UTC`), which some
/// tools write into dumps, is read too.
pub fn parse(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let rfc3339 = match trimmed.strip_suffix(" UTC") {
        Some(utc) => std::borrow::Cow::Owned(format!("{}Z", utc.replacen(' ', "T", 1))),
        None => std::borrow::Cow::Borrowed(trimmed),
    };
    rfc3339
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
        assert_eq!(super::parse("2018-01-09 22:56:45 UTC"), super::parse("2018-01-09T22:56:45Z"));
        assert_eq!(super::parse("2020-09-25T09:02:53.000Z"), super::parse("2020-09-25T09:02:53Z"));
    }
}

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

    /// An RFC 3339 timestamp (`2024-11-06T14:30:22Z`, as Kubernetes writes
    /// them) as epoch seconds.
    pub fn time(&self, pointer: &str) -> Result<Option<i64>, String> {
        self.str(pointer)?
            .map(|text| parse_rfc3339(text).ok_or_else(|| format!("{pointer} is not an RFC 3339 time: {text:?}")))
            .transpose()
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

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as epoch seconds (the
/// fraction is dropped). Policies have no clock or time library; the
/// snapshot's own times come as numbers, this reads those of raw objects.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if text.len() < 20 || separators.iter().any(|&(i, c)| text.as_bytes()[i] != c) {
        return None;
    }
    if !matches!(text.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
            let digit = |b: &u8| i64::from(b - b'0');
            let minutes = (digit(h1) * 10 + digit(h2)) * 60 + digit(m1) * 10 + digit(m2);
            if *sign == b'+' { minutes * 60 } else { -minutes * 60 }
        }
        _ => return None,
    };
    // Days from the civil date (proleptic Gregorian), after H. Hinnant.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset)
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

    #[test]
    fn rfc3339_times_read_as_epoch_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-11-06T14:30:22Z"), Some(1_730_903_422));
        assert_eq!(parse_rfc3339("2024-11-06T15:30:22.123+01:00"), Some(1_730_903_422));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in ["2024-11-06", "2024-13-06T14:30:22Z", "2024-11-06T14:30:22", "yesterday", "2024-11-06T14:30:22.Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        let raw = RawObject::new(json!({"metadata": {"creationTimestamp": "2024-11-06T14:30:22Z", "bad": "soon"}}));
        assert_eq!(raw.time("/metadata/creationTimestamp"), Ok(Some(1_730_903_422)));
        assert!(raw.time("/metadata/bad").unwrap_err().contains("/metadata/bad"));
    }
}

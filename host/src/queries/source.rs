//! The port the host asks metric results through. Prometheus is one
//! source; another (an HTTP JSON API, a vendor's metrics service) is one
//! more implementation of [`MetricSource`]: queries, placeholders, limits,
//! caching by the caller and the way results reach the policy (a
//! RecordedMetrics object) stay as they are.

use super::QueryRange;
use rewind_snapshot::MetricResult;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

pub trait MetricSource: Send + Sync {
    /// Runs one filled query at `now` (a range ending then, or an instant
    /// query); a failure is the result's error, naming the source.
    fn query<'a>(
        &'a self,
        query: &'a str,
        range: Option<QueryRange>,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = MetricResult<'static>> + Send + 'a>>;

    /// Where results came from, recorded beside them (`{"prometheus":
    /// "http://…"}`), so a replay says what a live evaluation asked.
    fn described(&self) -> Value;
}

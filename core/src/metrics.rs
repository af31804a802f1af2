//! The port metric results come through. A source runs one query (a range
//! ending at the evaluation time, or an instant query) and answers samples
//! or an error; the host fills the queries in, bounds them and hands the
//! results to the policy as a RecordedMetrics object beside the workload's
//! objects ([`crate::snapshot::metrics`]). Prometheus is one source; another
//! is one more implementation.

use rewind_snapshot::MetricResult;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// A range query's span: `seconds` back from the evaluation time, a
/// sample every `step_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Range {
    pub seconds: u64,
    pub step_seconds: u64,
}

pub trait MetricSource: Send + Sync {
    /// Runs one filled query at `now` (epoch seconds); a failure is the
    /// result's error, naming the source.
    fn query<'a>(
        &'a self,
        query: &'a str,
        range: Option<Range>,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = MetricResult<'static>> + Send + 'a>>;

    /// Where results came from, recorded beside them (`{"prometheus":
    /// "http://…"}`), so a replay says what a live evaluation asked.
    fn described(&self) -> Value;
}

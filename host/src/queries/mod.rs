//! Metric queries a RolloutPolicy (or a `--queries` file) declares: the
//! host fills in the workload's placeholders, runs them against Prometheus
//! before an evaluation and hands the results to the policy in the
//! snapshot's metrics section, as a RecordedMetrics object beside the
//! workload's objects, the same object a capture writes and a dump replays.
//! The policy itself never reaches the network.

mod placeholders;
mod prometheus;

pub use placeholders::{PLACEHOLDERS, Placeholders};
pub use prometheus::{MAX_RANGE_STEPS, MAX_SERIES_SAMPLES, Prometheus, QueryCache};
pub use rewind_core::metrics::MetricSource;

use crate::objects::{ObjectSet, Origin};
use rewind_core::snapshot::metrics;
use rewind_snapshot::{Metric, MetricResult, Text};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;

/// Where the queries go and which they are.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsSpec {
    /// The Prometheus the queries go to; it must be one the namespace's
    /// bound (and the controller's `--prometheus-address`, if given) allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSource>,
    /// The queries, each run before every evaluation of a covered workload.
    pub queries: Vec<QuerySpec>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusSource {
    /// The base URL, e.g. `http://prometheus.monitoring:9090`.
    pub address: String,
    /// A bearer token, from a Secret in the RolloutPolicy's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_secret: Option<SecretKey>,
    /// How long one query may take, connecting included (default 5, at most 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// The largest response accepted (default 1 MiB, at most 16 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<u64>,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKey {
    /// The Secret's name, in the RolloutPolicy's namespace.
    pub name: String,
    /// The key whose value is the token.
    pub key: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuerySpec {
    /// How the policy finds the result (`snapshot.metric(name)`).
    pub name: String,
    /// PromQL; `{{namespace}}`, `{{workload}}`, `{{kind}}`, `{{release}}`,
    /// `{{podTemplateHash}}`, `{{releaseStart}}` (Unix seconds),
    /// `{{previousRelease}}` and `{{previousPodTemplateHash}}` are filled in
    /// for each workload.
    pub query: String,
    /// A range query over the last `seconds`, a sample every `stepSeconds`;
    /// without it, an instant query at the evaluation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<QueryRange>,
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryRange {
    /// How far back the range reaches from the evaluation time.
    pub seconds: u64,
    /// Seconds between samples.
    pub step_seconds: u64,
}

impl From<QueryRange> for rewind_core::metrics::Range {
    fn from(QueryRange { seconds, step_seconds }: QueryRange) -> Self {
        rewind_core::metrics::Range { seconds, step_seconds }
    }
}

pub const DEFAULT_TIMEOUT_SECONDS: u64 = 5;
pub const MAX_TIMEOUT_SECONDS: u64 = 60;
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 1 << 20;
pub const MAX_RESPONSE_BYTES: u64 = 16 << 20;
/// A range reaches back at most 30 days, a step at most a day.
pub const MAX_RANGE_SECONDS: u64 = 30 * 86_400;
pub const MAX_STEP_SECONDS: u64 = 86_400;
/// Queries of one RolloutPolicy; they run at once, so an evaluation waits
/// at most one timeout for them.
pub const MAX_QUERIES: usize = 16;

impl MetricsSpec {
    /// Problems serde cannot see, each naming the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(source) = &self.prometheus {
            prometheus::check_address(&source.address).map_err(|e| format!("metrics.prometheus.address: {e}"))?;
            if let Some(t) = source.timeout_seconds.filter(|t| !(1..=MAX_TIMEOUT_SECONDS).contains(t)) {
                return Err(format!("metrics.prometheus.timeoutSeconds must be 1 to {MAX_TIMEOUT_SECONDS} (got {t})"));
            }
            if let Some(b) = source.max_response_bytes.filter(|b| !(1..=MAX_RESPONSE_BYTES).contains(b)) {
                return Err(format!("metrics.prometheus.maxResponseBytes must be 1 to {MAX_RESPONSE_BYTES} (got {b})"));
            }
        }
        if self.queries.len() > MAX_QUERIES {
            return Err(format!("metrics.queries: {} queries, more than {MAX_QUERIES}", self.queries.len()));
        }
        let mut names = std::collections::HashSet::new();
        for (i, query) in self.queries.iter().enumerate() {
            let at = format!("metrics.queries[{i}]");
            let valid_name = !query.name.is_empty()
                && query.name.len() <= 63
                && query.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid_name {
                return Err(format!("{at}.name {:?} must be 1-63 lowercase letters, digits and '-'", query.name));
            }
            if !names.insert(&query.name) {
                return Err(format!("{at}.name {:?} is declared twice", query.name));
            }
            placeholders::check(&query.query).map_err(|e| format!("{at}.query: {e}"))?;
            if let Some(QueryRange { seconds, step_seconds }) = query.range {
                if !(1..=MAX_RANGE_SECONDS).contains(&seconds) || !(1..=MAX_STEP_SECONDS).contains(&step_seconds) {
                    return Err(format!(
                        "{at}.range: seconds must be 1 to {MAX_RANGE_SECONDS}, stepSeconds 1 to {MAX_STEP_SECONDS}"
                    ));
                }
                if seconds / step_seconds > MAX_RANGE_STEPS {
                    return Err(format!(
                        "{at}.range: {seconds} s every {step_seconds} s is more than {MAX_RANGE_STEPS} steps \
                         (Prometheus' limit)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// A `--queries` file: this spec as a document, or a RolloutPolicy whose
    /// `spec.metrics` it is.
    pub fn from_file(path: &Path) -> Result<MetricsSpec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let document: Value = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let spec = match document.get("kind").and_then(Value::as_str) {
            Some("RolloutPolicy") => document
                .pointer("/spec/metrics")
                .cloned()
                .ok_or_else(|| format!("{}: the RolloutPolicy has no spec.metrics", path.display()))?,
            _ => document,
        };
        let spec: MetricsSpec = serde_json::from_value(spec).map_err(|e| format!("{}: {e}", path.display()))?;
        spec.validate().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(spec)
    }
}

impl PrometheusSource {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS))
    }

    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES)
    }
}

/// Declared queries and the Prometheus they run against, for the CLI.
pub struct LiveQueries {
    pub spec: MetricsSpec,
    pub prometheus: Prometheus,
}

impl LiveQueries {
    /// From a `--queries` file; `address` (`--metrics-from`) replaces the
    /// file's Prometheus address, `token` is sent as a bearer token.
    pub fn from_file(file: &Path, address: Option<&str>, token: Option<String>) -> Result<LiveQueries, String> {
        let spec = MetricsSpec::from_file(file)?;
        let source = spec.prometheus.clone();
        let address = address.map(str::to_string).or_else(|| source.as_ref().map(|s| s.address.clone()));
        let address = address.ok_or_else(|| {
            format!("{}: no metrics.prometheus.address; give one with --metrics-from", file.display())
        })?;
        if let (Some(secret), None) = (source.as_ref().and_then(|s| s.bearer_token_secret.as_ref()), &token) {
            return Err(format!(
                "{}: the queries send a bearer token from Secret {} (key {}); give it with --metrics-token-file",
                file.display(),
                secret.name,
                secret.key
            ));
        }
        let defaults = PrometheusSource {
            address: address.clone(),
            bearer_token_secret: None,
            timeout_seconds: None,
            max_response_bytes: None,
        };
        let source = source.unwrap_or(defaults);
        let prometheus = Prometheus::new(&address, token, source.timeout(), source.max_response_bytes())
            .map_err(|e| format!("--metrics-from: {e}"))?;
        Ok(LiveQueries { spec, prometheus })
    }

    /// The RecordedMetrics object of this moment's results for `target`.
    pub async fn record(&self, set: &ObjectSet, target: usize, now: i64) -> Value {
        run_for(&self.spec, Ok(&self.prometheus as &dyn MetricSource), set, target, now).await
    }
}

/// Runs every query for the target `target` of `set` against `source` and
/// returns the RecordedMetrics object of the results, in declaration order.
/// A query that cannot be filled or run is a result holding its error.
pub async fn run_for(
    spec: &MetricsSpec,
    source: Result<&dyn MetricSource, String>,
    set: &ObjectSet,
    target: usize,
    now: i64,
) -> Value {
    let target_value = set.get(target).expect("target id comes from this set");
    let placeholders = Placeholders::of(set, target, now);
    let runs = spec.queries.iter().map(|query| {
        let filled = placeholders.as_ref().map_err(Clone::clone).and_then(|p| p.fill(&query.query));
        let source = &source;
        async move {
            let result = match (&filled, source) {
                (Err(problem), _) => MetricResult::Error(Text::copied(problem)),
                (Ok(_), Err(problem)) => MetricResult::Error(Text::copied(problem)),
                (Ok(text), Ok(source)) => source.query(text, query.range.map(Into::into), now).await,
            };
            let query_text = filled.unwrap_or_else(|_| query.query.clone());
            Metric { name: Text::copied(&query.name), query: Text::copied(&query_text), result }
        }
    });
    let results = futures::future::join_all(runs).await;
    let mut recorded_source = source.map(|s| s.described()).unwrap_or_else(|_| json!({}));
    recorded_source["queried"] = json!(crate::time::format(now));
    metrics::recorded_object(target_value, &results, recorded_source)
}

/// Puts `recorded` (from `origin`) beside the target's objects. Results
/// recorded for the same target before (a dump's) are replaced; the warning
/// says so.
pub fn add_results(
    set: &mut ObjectSet,
    target: usize,
    recorded: Value,
    origin: Origin,
) -> Result<Option<String>, String> {
    let target_value = set.get(target).expect("target id comes from this set").clone();
    let earlier: Vec<usize> =
        set.iter().filter(|(_, object)| metrics::records_for(object, &target_value)).map(|(id, _)| id).collect();
    let warning = (!earlier.is_empty()).then(|| {
        let origins: Vec<String> = earlier.iter().map(|id| set.origin(*id).to_string()).collect();
        format!("metrics recorded in {} are replaced by {origin}", origins.join(", "))
    });
    for id in earlier {
        set.remove(id);
    }
    set.insert(recorded, origin).map_err(|e| e.to_string())?;
    Ok(warning)
}

#[cfg(test)]
mod tests;

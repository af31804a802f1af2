//! The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), bounded
//! in time and response size, and a cache that keeps each result for its
//! step so workloads evaluated together do not repeat a query.

use crate::distribution::{CappedRead, read_capped, status_line};
use rewind_core::metrics::Range;
use rewind_snapshot::{MetricResult, Sample, Text};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An instant query's result is reused this long.
const INSTANT_CACHE: Duration = Duration::from_secs(15);
/// No result is reused longer, whatever its step.
const LONGEST_CACHE: Duration = Duration::from_secs(3600);
/// At most this many samples are cached in all (about 16 MiB); the results
/// that expire first go first.
const CACHE_SAMPLES: usize = 1_000_000;

pub fn check_address(address: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(address).map_err(|e| format!("{address:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{address:?} is not an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{address:?} carries credentials; use bearerTokenSecret"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{address:?} has a query or fragment; give the base URL only"));
    }
    Ok(())
}

pub struct Prometheus {
    http: reqwest::Client,
    address: String,
    timeout: Duration,
    token: Option<String>,
    /// Results fetched with one token are not served to a caller with
    /// another (a Prometheus may answer each tenant's token differently).
    token_digest: Option<String>,
    max_bytes: usize,
    cache: Option<std::sync::Arc<QueryCache>>,
}

/// A range spans at most this many steps: Prometheus' own limit on
/// `(end - start) / step`, so a query the spec check accepts is one
/// Prometheus answers.
pub const MAX_RANGE_STEPS: u64 = 11_000;
/// Samples of one series: a range of `MAX_RANGE_STEPS` steps has a sample
/// at both ends.
pub const MAX_SERIES_SAMPLES: u64 = MAX_RANGE_STEPS + 1;

impl rewind_core::metrics::MetricSource for Prometheus {
    fn query<'a>(
        &'a self,
        query: &'a str,
        range: Option<Range>,
        now: i64,
    ) -> std::pin::Pin<Box<dyn Future<Output = MetricResult<'static>> + Send + 'a>> {
        Box::pin(Prometheus::query(self, query, range, now))
    }

    fn described(&self) -> Value {
        serde_json::json!({"prometheus": self.address})
    }
}

impl Prometheus {
    pub fn new(address: &str, token: Option<String>, timeout: Duration, max_bytes: u64) -> Result<Self, String> {
        check_address(address)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("rewind/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let address = address.trim_end_matches('/').to_string();
        let token_digest = token.as_deref().map(|t| crate::distribution::sha256_hex(t.as_bytes()));
        Ok(Prometheus { http, address, timeout, token, token_digest, max_bytes: max_bytes as usize, cache: None })
    }

    /// Results are kept in `cache` for their step (an instant query's for 15 s).
    pub fn with_cache(mut self, cache: std::sync::Arc<QueryCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Runs one filled query at `now`; a failure is the result's error,
    /// naming this Prometheus.
    pub async fn query(&self, query: &str, range: Option<Range>, now: i64) -> MetricResult<'static> {
        let key = (self.address.clone(), self.token_digest.clone(), query.to_string(), range);
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            return hit;
        }
        let result = match self.fetch(query, range, now).await {
            Ok(samples) => MetricResult::Samples(samples),
            Err(problem) => MetricResult::Error(Text::copied(&format!("Prometheus at {}: {problem}", self.address))),
        };
        if let Some(cache) = &self.cache {
            let keep = range.map_or(INSTANT_CACHE, |r| Duration::from_secs(r.step_seconds)).min(LONGEST_CACHE);
            cache.put(key, result.clone(), keep);
        }
        result
    }

    async fn fetch(&self, query: &str, range: Option<Range>, now: i64) -> Result<Vec<Sample>, String> {
        let (path, mut params) = match range {
            None => ("query", vec![("time", now.to_string())]),
            Some(r) => (
                "query_range",
                vec![
                    ("start", now.saturating_sub(r.seconds as i64).to_string()),
                    ("end", now.to_string()),
                    ("step", r.step_seconds.to_string()),
                ],
            ),
        };
        params.push(("query", query.to_string()));
        let mut request = self.http.get(format!("{}/api/v1/{path}", self.address)).query(&params);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.describe(&e))?;
        let status = response.status();
        let body = read_capped(response, self.max_bytes).await.map_err(|e| match e {
            CappedRead::TooLarge => format!("the response is larger than {} bytes", self.max_bytes),
            CappedRead::Interrupted(e) => self.describe(&e),
        })?;
        parse_response(status.as_u16(), &body)
    }

    /// The error and its causes (a refused connection says so), or the
    /// timeout that ran out.
    fn describe(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("did not answer within {} s", self.timeout.as_secs_f64());
        }
        crate::distribution::describe(error)
    }
}

/// One series' samples from an API response; an error response, several
/// series or a string result are errors saying so.
pub fn parse_response(status: u16, body: &[u8]) -> Result<Vec<Sample>, String> {
    // The body is not quoted back: it could be any page of the address a
    // RolloutPolicy names, and the error reaches its decision.
    let document: Value = serde_json::from_slice(body)
        .map_err(|_| format!("{}, not a Prometheus API response ({} bytes)", status_line(status), body.len()))?;
    if document.get("status").and_then(Value::as_str) != Some("success") {
        return Err(api_error(status, &document));
    }
    let data = document.get("data").ok_or("the response has no data")?;
    let result = data.get("result").ok_or("the response has no data.result")?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("scalar") => Ok(vec![sample(result)?]),
        Some(kind @ ("vector" | "matrix")) => {
            let series = result.as_array().ok_or("data.result is not a list")?;
            match series.as_slice() {
                [] => Ok(Vec::new()),
                [one] if kind == "vector" => Ok(vec![sample(one.get("value").ok_or("a vector sample has no value")?)?]),
                [one] => {
                    let values = one.get("values").and_then(Value::as_array).ok_or("a matrix series has no values")?;
                    if values.len() as u64 > MAX_SERIES_SAMPLES {
                        return Err(format!(
                            "the series has {} samples, more than {}",
                            values.len(),
                            MAX_SERIES_SAMPLES
                        ));
                    }
                    values.iter().map(sample).collect()
                }
                many => Err(format!(
                    "the query returned {} series ({}, …); aggregate it to one (sum, max, avg, …)",
                    many.len(),
                    many[0].get("metric").map(Value::to_string).unwrap_or_default()
                )),
            }
        }
        other => Err(format!("a {} result is not a number", other.unwrap_or("missing"))),
    }
}

/// The `errorType`s Prometheus itself answers with (its web/api/v1).
const PROMETHEUS_ERROR_TYPES: &[&str] =
    &["bad_data", "timeout", "canceled", "execution", "internal", "unavailable", "not_found", "not_acceptable"];

/// An error answer told by its status and, when it is one of Prometheus'
/// own, its `errorType`. The `error` text is never repeated: any server can
/// answer in Prometheus' format, with whatever it wants a tenant to read.
/// It goes to the operator's log (debug) instead.
fn api_error(status: u16, document: &Value) -> String {
    let kind = document.get("errorType").and_then(Value::as_str);
    let error = document.get("error").and_then(Value::as_str).unwrap_or_default();
    let error: String = error.chars().take(2000).collect();
    tracing::debug!(status, error_type = kind.unwrap_or_default(), %error, "Prometheus answered with an error");
    let http = status_line(status);
    match kind.filter(|kind| PROMETHEUS_ERROR_TYPES.contains(kind)) {
        Some(kind) => format!("{http}, a Prometheus API error of type {kind}"),
        None => format!("{http}, an unsuccessful answer in the Prometheus API format"),
    }
}

/// `[<unix time>, "<value>"]`.
fn sample(pair: &Value) -> Result<Sample, String> {
    let malformed = || format!("{pair} is not a [time, \"value\"] sample");
    let [time, value] = pair.as_array().map(Vec::as_slice).ok_or_else(malformed)? else {
        return Err(malformed());
    };
    // A time a timestamp cannot hold would make the recorded result unreadable.
    let time = time.as_f64().filter(|t| t.is_finite()).ok_or_else(malformed)?.floor() as i64;
    if jiff::Timestamp::from_second(time).is_err() {
        return Err(format!("{pair} has a time outside the years 1-9999"));
    }
    let value = match value.as_str().ok_or_else(malformed)? {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        text => text.parse().map_err(|_| malformed())?,
    };
    Ok(Sample { time, value })
}

/// Prometheus, token digest, filled query and range.
type CacheKey = (String, Option<String>, String, Option<Range>);

/// Query results, each until its step has passed, bounded by the samples
/// they hold in all.
#[derive(Default)]
pub struct QueryCache {
    entries: Mutex<HashMap<CacheKey, (Instant, MetricResult<'static>)>>,
}

fn samples_in(result: &MetricResult) -> usize {
    match result {
        MetricResult::Samples(samples) => samples.len().max(1),
        MetricResult::Error(_) => 1,
    }
}

impl QueryCache {
    fn get(&self, key: &CacheKey) -> Option<MetricResult<'static>> {
        // A panic elsewhere while holding the lock leaves the map whole.
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(key).filter(|(until, _)| Instant::now() < *until).map(|(_, result)| result.clone())
    }

    fn put(&self, key: CacheKey, result: MetricResult<'static>, keep: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        entries.retain(|_, (until, _)| now < *until);
        let mut held: usize = entries.values().map(|(_, r)| samples_in(r)).sum();
        while held + samples_in(&result) > CACHE_SAMPLES {
            let Some(first) = entries.iter().min_by_key(|(_, (until, _))| *until).map(|(k, _)| k.clone()) else {
                return;
            };
            held -= entries.remove(&first).map_or(0, |(_, r)| samples_in(&r));
        }
        entries.insert(key, (now + keep, result));
    }
}

//! Prometheus metrics (the `prometheus` crate's registry and text format)
//! and health endpoints, served from a plain thread: `/metrics`,
//! `/healthz`, `/readyz`.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Upper bounds (seconds) of the evaluation latency histogram.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The controller's metrics. Cheap to clone and share.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    evaluations: IntCounterVec,
    latency: HistogramVec,
    actions: IntCounterVec,
    rollbacks: IntCounterVec,
    policy_errors: IntCounterVec,
    flap_guard_trips: IntCounterVec,
    ready: Arc<AtomicBool>,
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let counter = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
            registry.register(Box::new(counter.clone())).expect("registered once");
            counter
        };
        let evaluations =
            counter("rewind_evaluations_total", "Evaluations by policy and outcome", &["policy", "outcome"]);
        let actions = counter("rewind_actions_executed_total", "Actions executed, by type", &["type"]);
        let rollbacks = counter("rewind_rollbacks_total", "Automatic rollbacks executed", &["policy"]);
        let policy_errors = counter("rewind_policy_errors_total", "Evaluations that ended in an error", &["policy"]);
        let flap_guard_trips =
            counter("rewind_flap_guard_trips_total", "Evaluations the flap guard held back", &["policy"]);
        let opts = HistogramOpts::new("rewind_evaluation_seconds", "Time of one evaluation, snapshot to answer")
            .buckets(LATENCY_BUCKETS.to_vec());
        let latency = HistogramVec::new(opts, &[]).expect("a valid metric");
        registry.register(Box::new(latency.clone())).expect("registered once");
        Metrics {
            registry,
            evaluations,
            latency,
            actions,
            rollbacks,
            policy_errors,
            flap_guard_trips,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Metrics {
    pub fn evaluation(&self, policy: &str, outcome: &str, seconds: f64) {
        self.evaluations.with_label_values(&[policy, outcome]).inc();
        self.latency.with_label_values(&[] as &[&str]).observe(seconds);
    }

    pub fn action(&self, action: &str) {
        self.actions.with_label_values(&[action]).inc();
    }

    pub fn rollback(&self, policy: &str) {
        self.rollbacks.with_label_values(&[policy]).inc();
    }

    pub fn policy_error(&self, policy: &str) {
        self.policy_errors.with_label_values(&[policy]).inc();
    }

    pub fn flap_guard_trip(&self, policy: &str) {
        self.flap_guard_trips.with_label_values(&[policy]).inc();
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("metrics encode");
        String::from_utf8(out).expect("the text format is UTF-8")
    }

    /// Serves the endpoints on `address` from a background thread.
    pub fn serve(&self, address: &str) -> std::io::Result<()> {
        let listener = TcpListener::bind(address)?;
        let metrics = self.clone();
        std::thread::Builder::new().name("rewind-metrics".into()).spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (status, body) = match path {
                    "/metrics" => ("200 OK", metrics.render()),
                    "/healthz" => ("200 OK", "ok\n".to_string()),
                    "/readyz" if metrics.ready.load(Ordering::Relaxed) => ("200 OK", "ok\n".to_string()),
                    "/readyz" => ("503 Service Unavailable", "not ready\n".to_string()),
                    _ => ("404 Not Found", "not found\n".to_string()),
                };
                let mut stream = &stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_the_latency_histogram() {
        let metrics = Metrics::default();
        metrics.evaluation("web", "rolled-back", 0.02);
        metrics.evaluation("web", "healthy", 0.002);
        metrics.rollback("web");
        let text = metrics.render();
        assert!(text.contains("rewind_evaluations_total{outcome=\"healthy\",policy=\"web\"} 1"), "{text}");
        assert!(text.contains("rewind_rollbacks_total{policy=\"web\"} 1"), "{text}");
        assert!(text.contains("rewind_evaluation_seconds_bucket{le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("rewind_evaluation_seconds_bucket{le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("rewind_evaluation_seconds_count 2"), "{text}");
    }

    #[test]
    fn serves_health_and_metrics_over_http() {
        let metrics = Metrics::default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        metrics.serve(&address).unwrap();
        let get = |path: &str| {
            let mut stream = std::net::TcpStream::connect(&address).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut response = String::new();
            std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
            response
        };
        assert!(get("/healthz").starts_with("HTTP/1.1 200"));
        assert!(get("/readyz").starts_with("HTTP/1.1 503"));
        metrics.set_ready(true);
        assert!(get("/readyz").starts_with("HTTP/1.1 200"));
        metrics.evaluation("web", "healthy", 0.002);
        assert!(get("/metrics").contains("rewind_evaluation_seconds_count 1"));
    }
}

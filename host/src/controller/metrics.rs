//! Prometheus metrics and health endpoints, served from a plain thread:
//! `/metrics` (text exposition format), `/healthz`, `/readyz`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Upper bounds (seconds) of the evaluation latency histogram.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Counters {
    /// (metric, labels) → value.
    values: BTreeMap<(&'static str, String), f64>,
    latency: Vec<u64>,
    latency_sum: f64,
    latency_count: u64,
}

/// The controller's metrics. Cheap to clone and share.
#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<Counters>>,
    ready: Arc<AtomicBool>,
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", v.replace('"', "'"))).collect();
    format!("{{{}}}", inner.join(","))
}

impl Metrics {
    fn add(&self, metric: &'static str, pairs: &[(&str, &str)]) {
        let mut counters = self.counters.lock().expect("metrics lock");
        *counters.values.entry((metric, labels(pairs))).or_default() += 1.0;
    }

    pub fn evaluation(&self, policy: &str, outcome: &str, seconds: f64) {
        self.add("rewind_evaluations_total", &[("policy", policy), ("outcome", outcome)]);
        let mut counters = self.counters.lock().expect("metrics lock");
        if counters.latency.is_empty() {
            counters.latency = vec![0; LATENCY_BUCKETS.len()];
        }
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                counters.latency[i] += 1;
            }
        }
        counters.latency_sum += seconds;
        counters.latency_count += 1;
    }

    pub fn action(&self, action: &str) {
        self.add("rewind_actions_executed_total", &[("type", action)]);
    }

    pub fn rollback(&self, policy: &str) {
        self.add("rewind_rollbacks_total", &[("policy", policy)]);
    }

    pub fn policy_error(&self, policy: &str) {
        self.add("rewind_policy_errors_total", &[("policy", policy)]);
    }

    pub fn flap_guard_trip(&self, policy: &str) {
        self.add("rewind_flap_guard_trips_total", &[("policy", policy)]);
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let counters = self.counters.lock().expect("metrics lock");
        let mut out = String::new();
        let mut last = "";
        for ((metric, labels), value) in &counters.values {
            if *metric != last {
                out.push_str(&format!("# TYPE {metric} counter\n"));
                last = metric;
            }
            out.push_str(&format!("{metric}{labels} {value}\n"));
        }
        out.push_str("# TYPE rewind_evaluation_seconds histogram\n");
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let count = counters.latency.get(i).copied().unwrap_or(0);
            out.push_str(&format!("rewind_evaluation_seconds_bucket{{le=\"{bound}\"}} {count}\n"));
        }
        out.push_str(&format!("rewind_evaluation_seconds_bucket{{le=\"+Inf\"}} {}\n", counters.latency_count));
        out.push_str(&format!("rewind_evaluation_seconds_sum {}\n", counters.latency_sum));
        out.push_str(&format!("rewind_evaluation_seconds_count {}\n", counters.latency_count));
        out
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
        assert!(text.contains("rewind_evaluations_total{policy=\"web\",outcome=\"healthy\"} 1"), "{text}");
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
        assert!(get("/metrics").contains("rewind_evaluation_seconds_count 0"));
    }
}

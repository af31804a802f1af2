//! Metric queries against a real Prometheus (scripts/metrics-bench.sh
//! starts Debian's on loopback over backfilled series and sets
//! REWIND_BENCH_PROMETHEUS): time per query, uncached and cached, for an
//! instant query and range queries of 240 and 1,440 samples, and what the
//! results add to the snapshot a policy receives. Prints a table.

use rewind::queries::{Prometheus, QueryCache};
use rewind_core::metrics::Range;
use rewind_snapshot::{Metric, MetricResult, Snapshot, Text};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let Ok(address) = std::env::var("REWIND_BENCH_PROMETHEUS") else {
        eprintln!("REWIND_BENCH_PROMETHEUS is not set: run scripts/metrics-bench.sh");
        std::process::exit(2);
    };
    let now: i64 = std::env::var("REWIND_BENCH_NOW").expect("REWIND_BENCH_NOW").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let uncached = Prometheus::new(&address, None, Duration::from_secs(5), 16 << 20).unwrap();
    let cached = Prometheus::new(&address, None, Duration::from_secs(5), 16 << 20)
        .unwrap()
        .with_cache(Arc::new(QueryCache::default()));
    let query = "max(http_error_ratio)";
    let shapes = [
        ("instant", None),
        ("range 1 h / 15 s", Some(Range { seconds: 3600, step_seconds: 15 })),
        ("range 24 h / 60 s", Some(Range { seconds: 86_400, step_seconds: 60 })),
    ];
    println!(
        "| query | samples | uncached p50 | uncached p99 | cached p50 | bytes in the snapshot (1 query) | 10 queries |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let empty = rewind_snapshot::encode(&Snapshot::default()).len();
    for (name, range) in shapes {
        let time = |prometheus: &Prometheus| {
            let mut times: Vec<Duration> = (0..RUNS)
                .map(|_| {
                    let started = Instant::now();
                    let result = runtime.block_on(prometheus.query(query, range, now));
                    assert!(matches!(result, MetricResult::Samples(_)), "{result:?}");
                    started.elapsed()
                })
                .collect();
            times.sort();
            times
        };
        let slow = time(&uncached);
        let fast = time(&cached);
        let result = runtime.block_on(uncached.query(query, range, now));
        let MetricResult::Samples(samples) = &result else { unreachable!() };
        let metric = Metric { name: Text::copied("error-rate"), query: Text::copied(query), result: result.clone() };
        let size = |n: usize| {
            let snapshot = Snapshot { metrics: vec![metric.clone(); n], ..Default::default() };
            rewind_snapshot::encode(&snapshot).len() - empty
        };
        println!(
            "| {name} | {} | {:.2} ms | {:.2} ms | {:.1} µs | {} | {} |",
            samples.len(),
            percentile(&slow, 0.5).as_secs_f64() * 1e3,
            percentile(&slow, 0.99).as_secs_f64() * 1e3,
            percentile(&fast, 0.5).as_secs_f64() * 1e6,
            size(1),
            size(10)
        );
    }
}

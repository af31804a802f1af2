//! `rewind eval --queries … --metrics-from …` against Debian's Prometheus
//! on loopback, over series loaded with promtool (common/prometheus.rs):
//! the Deployment policy's analysis on the example dump `healthy.yaml`,
//! whose revision 2 (pod-template-hash 7c9d6f8b5) replaced revision 1
//! (5d8f7b9c4) at 13:02:05 and has every pod Ready.

mod common;
use common::prometheus::{Series, TestPrometheus, every, free_port};
use common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const NOW: &str = "2024-11-06T13:30:00Z";

fn at(text: &str) -> i64 {
    rewind::time::parse(text).unwrap()
}

/// Requests of both releases as counters: 10 good ones a second, and 0.1
/// errors a second, until `errors_from`, after which revision 2 fails 2 a
/// second (a 5xx share of 2/12).
fn traffic(errors_from: i64) -> Vec<Series<'static>> {
    let (released, now) = (at("2024-11-06T13:02:05Z"), at(NOW));
    let counter = |rate: f64, from: i64, to: i64| every(15, from, to, move |t| rate * (t - from) as f64);
    let errors_of_2 = every(15, released, now, |t| {
        let before = (t.min(errors_from) - released) as f64 * 0.1;
        before + (t - errors_from).max(0) as f64 * 2.0
    });
    vec![
        Series {
            name: "http_requests_total",
            labels: r#"namespace="shop",pod_template_hash="5d8f7b9c4",code="200""#,
            samples: counter(10.0, at("2024-11-06T12:40:00Z"), released),
        },
        Series {
            name: "http_requests_total",
            labels: r#"namespace="shop",pod_template_hash="5d8f7b9c4",code="500""#,
            samples: counter(0.1, at("2024-11-06T12:40:00Z"), released),
        },
        Series {
            name: "http_requests_total",
            labels: r#"namespace="shop",pod_template_hash="7c9d6f8b5",code="200""#,
            samples: counter(10.0, released, now),
        },
        Series {
            name: "http_requests_total",
            labels: r#"namespace="shop",pod_template_hash="7c9d6f8b5",code="500""#,
            samples: errors_of_2,
        },
    ]
}

/// `rewind eval` of the Deployment policy with the example analysis
/// settings on `healthy.yaml` at 13:30, with `extra` arguments.
fn eval_healthy(extra: &[&str]) -> (i32, String, String) {
    let policy = component("plugins/deployment");
    let args = [
        "eval",
        "--policy",
        policy.to_str().unwrap(),
        "--cluster",
        "examples/deployment/healthy.yaml",
        "--target",
        "Deployment/web",
        "-n",
        "shop",
        "--now",
        NOW,
        "--settings",
        "examples/analysis/settings.yaml",
        "--output",
        "json",
    ];
    run_rewind(&[&args[..], extra].concat(), &[])
}

fn eval_with_queries(queries: &str, address: &str) -> Value {
    let (code, stdout, stderr) = eval_healthy(&["--queries", queries, "--metrics-from", address]);
    assert!(code == 0 || code == 1, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"))
}

fn messages(report: &Value) -> Vec<String> {
    report["failure"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_error_rate_crossing_the_threshold_fails_the_rollout_and_names_query_value_and_threshold() {
    let prometheus = TestPrometheus::start(&traffic(at("2024-11-06T13:27:00Z")));
    let report = eval_with_queries("examples/analysis/queries.yaml", &prometheus.address);
    assert_eq!(report["failure"]["state"], "failed", "{report:#}");
    let messages = messages(&report);
    // The latest sample sees only the 2 errors a second of 12 requests; the
    // two before it straddle 13:27 and still breach.
    let threshold = messages.iter().find(|m| m.contains("above 0.05")).unwrap_or_else(|| panic!("{messages:?}"));
    assert!(threshold.starts_with("metric error-rate is 0.1666666666666666"), "{threshold}");
    assert!(threshold.contains("(latest of 6 samples), above 0.05, in the latest 3 samples"), "{threshold}");
    assert!(threshold.contains(r#"pod_template_hash="7c9d6f8b5",code=~"5.."}[2m]))"#), "{threshold}");
    // Revision 1 failed 0.1 of 10.1 a second over the ten minutes before 13:02:05.
    let compared =
        messages.iter().find(|m| m.contains("3 × the mean of error-rate-previous (0.0099009900990099")).unwrap();
    assert!(compared.starts_with("metric error-rate is 0.16"), "{compared}");
    assert_eq!(report["selection"]["release"], "1", "{report:#}");
}

#[test]
fn an_error_rate_under_the_threshold_is_healthy() {
    let prometheus = TestPrometheus::start(&traffic(at("2024-11-06T14:00:00Z")));
    let report = eval_with_queries("examples/analysis/queries.yaml", &prometheus.address);
    assert_eq!(report["failure"]["state"], "healthy", "{report:#}");
}

#[test]
fn series_that_are_not_there_make_the_analysis_inconclusive() {
    let prometheus = TestPrometheus::start(&[Series { name: "other", labels: "", samples: vec![(at(NOW), 1.0)] }]);
    let report = eval_with_queries("examples/analysis/queries.yaml", &prometheus.address);
    assert_eq!(report["failure"]["state"], "progressing", "{report:#}");
    assert!(messages(&report).contains(&"metric error-rate: the query returned no samples".to_string()), "{report:#}");
    assert!(report["actions"].as_array().unwrap().is_empty());
}

#[test]
fn a_prometheus_that_is_down_is_inconclusive_and_named() {
    let address = format!("http://127.0.0.1:{}", free_port());
    let report = eval_with_queries("examples/analysis/queries.yaml", &address);
    assert_eq!(report["failure"]["state"], "progressing", "{report:#}");
    let first = &messages(&report)[0];
    assert!(first.starts_with(&format!("metric error-rate: the query failed: Prometheus at {address}: ")), "{first}");
    assert!(first.contains("Connection refused"), "{first}");
}

fn queries_file(name: &str, body: &str) -> String {
    let path = workspace().join("target").join(format!("metric-queries-{name}.yaml"));
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn a_prometheus_that_never_answers_is_given_up_after_the_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", silent.local_addr().unwrap());
    let holder = std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(2).collect();
        std::thread::sleep(Duration::from_secs(4));
        drop(held);
    });
    let file = queries_file(
        "silent",
        "prometheus: {address: 'http://unused', timeoutSeconds: 1}\nqueries: [{name: error-rate, query: up}, {name: error-rate-previous, query: up}]",
    );
    let started = Instant::now();
    let report = eval_with_queries(&file, &address);
    assert!(started.elapsed() < Duration::from_secs(4), "two queries of 1 s took {:?}", started.elapsed());
    assert!(messages(&report)[0].ends_with("did not answer within 1 s"), "{report:#}");
    holder.join().unwrap();
}

#[test]
fn a_response_larger_than_the_limit_and_several_series_are_refused_saying_why() {
    let many: Vec<Series> = [r#"pod="a""#, r#"pod="b""#]
        .into_iter()
        .map(|labels| Series { name: "http_error_ratio", labels, samples: every(60, at(NOW) - 3600, at(NOW), |_| 0.5) })
        .collect();
    let prometheus = TestPrometheus::start(&many);
    let file = queries_file(
        "limit",
        "prometheus: {address: 'http://unused', maxResponseBytes: 300}\nqueries: [{name: error-rate, query: 'max(http_error_ratio)', range: {seconds: 3600, stepSeconds: 60}}]",
    );
    let first = messages(&eval_with_queries(&file, &prometheus.address))[0].clone();
    assert!(first.ends_with("the response is larger than 300 bytes"), "{first}");
    let file = queries_file("series", "queries: [{name: error-rate, query: http_error_ratio}]");
    let first = messages(&eval_with_queries(&file, &prometheus.address))[0].clone();
    assert!(first.contains("returned 2 series") && first.contains("aggregate it to one (sum, max, avg, …)"), "{first}");
}

#[test]
fn a_range_at_prometheus_step_limit_is_read_whole_and_one_past_it_is_refused_before_asking() {
    let prometheus = TestPrometheus::start(&[Series { name: "other", labels: "", samples: vec![(at(NOW), 1.0)] }]);
    // 11,000 steps of a second: Prometheus answers with 11,001 samples.
    let file = queries_file(
        "steps",
        "queries: [{name: error-rate, query: 'vector(0.01)', range: {seconds: 11000, stepSeconds: 1}}]",
    );
    let report = eval_with_queries(&file, &prometheus.address);
    // The threshold check reads every sample; only the comparison with the
    // undeclared previous release's query is left without data.
    let failed: Vec<String> = messages(&report).into_iter().filter(|m| m.contains("the query failed")).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(report["failure"]["state"], "progressing", "{report:#}");
    let file = queries_file(
        "over",
        "queries: [{name: error-rate, query: 'vector(0.01)', range: {seconds: 11001, stepSeconds: 1}}]",
    );
    let (code, _, stderr) = eval_healthy(&["--queries", &file, "--metrics-from", &prometheus.address]);
    assert_ne!(code, 0);
    assert!(stderr.contains("11001 s every 1 s is more than 11000 steps"), "{stderr}");
}

#[test]
fn recorded_results_replay_to_the_same_decision_as_the_live_queries() {
    let prometheus = TestPrometheus::start(&traffic(at("2024-11-06T13:27:00Z")));
    let live = eval_with_queries("examples/analysis/queries.yaml", &prometheus.address);
    // What `rewind capture --queries` writes beside the objects.
    let queries = rewind::queries::LiveQueries::from_file(
        &workspace().join("examples/analysis/queries.yaml"),
        Some(&prometheus.address),
        None,
    )
    .unwrap();
    let set = example("healthy.yaml");
    let target = rewind::evaluate::find_target(&set, &web()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let recorded = runtime.block_on(queries.record(&set, target, at(NOW)));
    drop(prometheus);
    let path = workspace().join("target/metric-queries-recorded.yaml");
    std::fs::write(&path, serde_yaml::to_string(&recorded).unwrap()).unwrap();
    let (code, stdout, stderr) = eval_healthy(&["--metrics", path.to_str().unwrap()]);
    let replayed: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    // The exit status follows the decision: 1 when the rollout failed.
    let failed = replayed["failure"]["state"] == "failed";
    assert_eq!(code, if failed { 1 } else { 0 }, "{stderr}");
    assert_eq!(replayed["failure"], live["failure"]);
    assert_eq!(replayed["selection"], live["selection"]);
}

/// The bearer token goes to the Prometheus the queries name, as an
/// `Authorization` header (Debian's Prometheus checks no bearer tokens, so a
/// loopback server that answers like one records what it was sent).
#[test]
fn the_bearer_token_is_sent_to_the_prometheus_and_nowhere_else() {
    use std::io::{BufRead, BufReader, Write};
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", server.local_addr().unwrap());
    let recorder = std::thread::spawn(move || {
        let mut headers = Vec::new();
        for stream in server.incoming().take(2) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                headers.push(line.trim_end().to_ascii_lowercase());
                line.clear();
            }
            let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
            let answer =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            stream.write_all(answer.as_bytes()).unwrap();
        }
        headers
    });
    let token = workspace().join("target/metric-queries-token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let (code, stdout, stderr) = eval_healthy(&[
        "--queries",
        "examples/analysis/queries.yaml",
        "--metrics-from",
        &address,
        "--metrics-token-file",
        token.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("s3cret"), "the token is not reported: {stdout}");
    let headers = recorder.join().unwrap();
    let sent = headers.iter().filter(|h| *h == "authorization: bearer s3cret-token").count();
    assert_eq!(sent, 2, "{headers:?}");
}

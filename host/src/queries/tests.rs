use super::prometheus::parse_response;
use super::*;
use crate::objects::Origin;
use rewind_snapshot::MetricResult;

fn spec(yaml: &str) -> Result<MetricsSpec, String> {
    let spec: MetricsSpec = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
    spec.validate().map(|()| spec)
}

#[test]
fn declared_queries_are_checked_naming_the_field() {
    let ok = "prometheus: {address: 'http://prometheus:9090'}\nqueries: [{name: error-rate, query: 'up{namespace=\"{{namespace}}\"}', range: {seconds: 600, stepSeconds: 30}}]";
    assert!(spec(ok).is_ok());
    let refused = |yaml: &str| spec(yaml).unwrap_err();
    assert!(refused("queries: [{name: Error, query: up}]").contains("metrics.queries[0].name \"Error\""));
    assert!(refused("queries: [{name: e, query: up}, {name: e, query: up}]").contains("declared twice"));
    assert!(
        refused("queries: [{name: e, query: '{{pod}}'}]")
            .contains("metrics.queries[0].query: unknown placeholder {{pod}}")
    );
    assert!(refused("queries: [{name: e, query: 'x{{workload'}]").contains("not closed"));
    assert!(
        refused("queries: [{name: e, query: up, range: {seconds: 11001, stepSeconds: 1}}]")
            .contains("more than 11000 steps")
    );
    assert!(spec("queries: [{name: e, query: up, range: {seconds: 11000, stepSeconds: 1}}]").is_ok());
    assert!(refused("prometheus: {address: 'ftp://p'}\nqueries: []").contains("metrics.prometheus.address"));
    assert!(refused("prometheus: {address: 'http://u:p@p'}\nqueries: []").contains("credentials"));
    assert!(refused("prometheus: {address: 'http://p', timeoutSeconds: 0}\nqueries: []").contains("timeoutSeconds"));
    assert!(refused("queries: [{name: e, querry: up}]").contains("unknown field `querry`"));
}

fn web_with_two_releases() -> (ObjectSet, usize) {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/deployment/image-pull-backoff.yaml"))
            .unwrap();
    let mut set = ObjectSet::new();
    let list: Value = serde_yaml::from_str(&text).unwrap();
    for item in list["items"].as_array().unwrap() {
        set.insert(item.clone(), Origin("image-pull-backoff.yaml".into())).unwrap();
    }
    let target = set.find_by_kind_name("Deployment", "shop", "web")[0];
    (set, target)
}

#[test]
fn placeholders_are_the_workloads_names_and_releases_escaped() {
    let (set, target) = web_with_two_releases();
    let placeholders = Placeholders::of(&set, target, 0).unwrap();
    let filled = placeholders
        .fill("rate(errors{namespace=\"{{namespace}}\", deployment=\"{{ workload }}\", rs=\"{{release}}\"}[5m]) / {{previousRelease}}")
        .unwrap();
    assert_eq!(filled, "rate(errors{namespace=\"shop\", deployment=\"web\", rs=\"3\"}[5m]) / 2");
    let hash = placeholders.fill("{{podTemplateHash}} {{previousPodTemplateHash}} @ {{releaseStart}}").unwrap();
    let created = crate::time::parse("2024-11-06T14:30:00Z").unwrap();
    assert_eq!(hash, format!("6b4c8d7f9 7c9d6f8b5 @ {created}"));
}

#[test]
fn a_result_without_a_value_for_its_placeholder_is_an_error_result() {
    let mut set = ObjectSet::new();
    let lone = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
                                  "metadata": {"name": "web", "namespace": "shop"}, "spec": {}});
    set.insert(lone, Origin("test".into())).unwrap();
    let spec = spec("queries: [{name: before, query: 'x{rs=\"{{previousRelease}}\"}'}]").unwrap();
    let recorded = futures_lite(run_for(&spec, Err("no Prometheus".into()), &set, 0, 0));
    let results = &recorded["results"][0];
    assert_eq!(results["name"], "before");
    assert!(results["error"].as_str().unwrap().contains("{{previousRelease}} has no value"), "{recorded}");
}

fn futures_lite<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
}

#[test]
fn live_results_replace_recorded_ones_with_a_warning() {
    let (mut set, target) = web_with_two_releases();
    let spec = spec("queries: [{name: e, query: up}]").unwrap();
    let first = futures_lite(run_for(&spec, Err("down".into()), &set, target, 0));
    let live = || Origin("the live query results".into());
    assert_eq!(add_results(&mut set, target, first.clone(), live()).unwrap(), None);
    let warning = add_results(&mut set, target, first, live()).unwrap().unwrap();
    assert_eq!(warning, "metrics recorded in the live query results are replaced by the live query results");
    let built = rewind_core::snapshot::build(&set, target, 0, "{}").unwrap();
    assert_eq!(built.snapshot.metrics.len(), 1);
}

#[test]
fn api_responses_become_one_series_or_say_why_not() {
    let vector = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.5,"0.25"]}]}}"#;
    let samples = parse_response(200, vector).unwrap();
    assert_eq!((samples[0].time, samples[0].value), (1_700_000_000, 0.25));
    let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"]]}]}}"#;
    let samples = parse_response(200, matrix).unwrap();
    assert!(samples[0].value.is_nan() && samples[1].value == f64::INFINITY);
    let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    assert!(parse_response(200, empty).unwrap().is_empty());
    let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[5,"1"]}}"#;
    assert_eq!(parse_response(200, scalar).unwrap()[0].value, 1.0);
    let two = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1,"1"]},{"metric":{"pod":"b"},"value":[1,"2"]}]}}"#;
    assert!(parse_response(200, two).unwrap_err().contains("returned 2 series ({\"pod\":\"a\"}, …); aggregate"));
    assert!(
        parse_response(502, b"<html>Bad Gateway</html>")
            .unwrap_err()
            .starts_with("HTTP 502 (server error), not a Prometheus API response")
    );
    let string = br#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#;
    assert!(parse_response(200, string).unwrap_err().contains("a string result is not a number"));
}

#[test]
fn a_range_at_the_step_limit_has_a_sample_at_both_ends_and_is_read_whole() {
    let series = |points: u64| {
        let values: Vec<String> = (0..points).map(|t| format!("[{t},\"1\"]")).collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
            values.join(",")
        )
    };
    assert_eq!(parse_response(200, series(MAX_RANGE_STEPS + 1).as_bytes()).unwrap().len(), 11_001);
    let over = parse_response(200, series(MAX_RANGE_STEPS + 2).as_bytes()).unwrap_err();
    assert!(over.contains("the series has 11002 samples, more than 11001"), "{over}");
}

/// Whoever answers at a RolloutPolicy's Prometheus address chooses the
/// `error` text (and can answer in Prometheus' format from any service the
/// controller reaches): findings say the status and a Prometheus error
/// type, never the text.
#[test]
fn an_error_answer_is_told_by_status_and_documented_type_never_by_its_text() {
    let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
    assert_eq!(
        parse_response(400, bad).unwrap_err(),
        "HTTP 400 (client error), a Prometheus API error of type bad_data"
    );
    let timeout = br#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#;
    assert_eq!(
        parse_response(503, timeout).unwrap_err(),
        "HTTP 503 (server error), a Prometheus API error of type timeout"
    );
    let forged = br#"{"status":"error","errorType":"token=s3cret","error":"root:x:0:0:/root:/bin/bash"}"#;
    let told = parse_response(200, forged).unwrap_err();
    assert_eq!(told, "HTTP 200 (success), an unsuccessful answer in the Prometheus API format");
    let no_type = br#"{"status":"error","error":"internal page: s3cret"}"#;
    assert!(!parse_response(500, no_type).unwrap_err().contains("s3cret"));
}

/// A source other than Prometheus: one implementation of the port, and its
/// results reach the RecordedMetrics object as Prometheus' do.
struct Constant(f64);

impl MetricSource for Constant {
    fn query<'a>(
        &'a self,
        query: &'a str,
        range: Option<rewind_core::metrics::Range>,
        now: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = MetricResult<'static>> + Send + 'a>> {
        let steps = range.map_or(0, |r| r.seconds / r.step_seconds) as i64;
        let step = range.map_or(0, |r| r.step_seconds as i64);
        let value = if query.contains("web") { self.0 } else { f64::NAN };
        let samples = (0..=steps).map(|i| rewind_snapshot::Sample { time: now - (steps - i) * step, value }).collect();
        Box::pin(async move { MetricResult::Samples(samples) })
    }

    fn described(&self) -> Value {
        serde_json::json!({"constant": self.0})
    }
}

#[test]
fn another_metric_source_is_one_implementation_of_the_port() {
    let (set, target) = web_with_two_releases();
    let spec = spec(
        "queries: [{name: e, query: 'errors{deployment=\"{{workload}}\"}', range: {seconds: 60, stepSeconds: 30}}]",
    )
    .unwrap();
    let recorded = futures_lite(run_for(&spec, Ok(&Constant(0.5)), &set, target, 1_000));
    assert_eq!(recorded["source"]["constant"], 0.5, "{recorded}");
    let samples = recorded["results"][0]["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3, "{recorded}");
    assert_eq!(samples[2]["value"], 0.5);
}

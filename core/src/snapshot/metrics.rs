//! Metric results recorded beside a workload's objects: a dump (or a
//! capture) may hold `rewind.dev/v1alpha1` `RecordedMetrics` objects, each
//! naming the workload it was recorded for and the results of its queries.
//! The snapshot of that workload carries them in its metrics section, so an
//! offline evaluation sees what a live one would have fetched.
//!
//! ```yaml
//! apiVersion: rewind.dev/v1alpha1
//! kind: RecordedMetrics
//! metadata: {name: web-metrics, namespace: shop}
//! target: {kind: Deployment, name: web}
//! results:
//!   - name: error-rate
//!     query: sum(rate(http_errors_total{deployment="web"}[5m]))
//!     samples: [{time: "2024-11-06T14:30:00Z", value: 0.02}]
//!   - name: latency-p99
//!     query: histogram_quantile(0.99, …)
//!     error: "Prometheus at http://prometheus:9090 did not answer within 5 s"
//! ```

use crate::objects::{self, ObjectSet};
use rewind_snapshot::{Metric, MetricResult, Sample, Text};
use serde_json::{Value, json};

pub const KIND: &str = "RecordedMetrics";
pub const API_VERSION: &str = "rewind.dev/v1alpha1";

/// The RecordedMetrics object holding `results` for `target`: what a live
/// evaluation adds to the workload's objects, and what a capture writes
/// beside them, so both read it back as a dump does. `source` says where
/// the results came from (a Prometheus address) and when.
pub fn recorded_object(target: &Value, results: &[Metric], source: Value) -> Value {
    let kind = objects::kind(target).unwrap_or_default();
    let name = objects::name(target).unwrap_or_default();
    let results: Vec<Value> = results
        .iter()
        .map(|metric| {
            let mut result = json!({"name": metric.name.as_str(), "query": metric.query.as_str()});
            match &metric.result {
                MetricResult::Samples(samples) => {
                    let samples: Vec<Value> = samples
                        .iter()
                        .map(|s| json!({"time": crate::time::format(s.time), "value": written_value(s.value)}))
                        .collect();
                    result["samples"] = Value::from(samples);
                }
                MetricResult::Error(error) => result["error"] = Value::from(error.as_str()),
            }
            result
        })
        .collect();
    json!({
        "apiVersion": API_VERSION, "kind": KIND,
        "metadata": {"name": format!("{}-{name}-metrics", kind.to_ascii_lowercase()),
                     "namespace": objects::namespace(target).unwrap_or_default()},
        "target": {"apiVersion": target.get("apiVersion").cloned().unwrap_or(Value::Null), "kind": kind, "name": name},
        "source": source,
        "results": results,
    })
}

/// JSON numbers are finite: the others are written as Prometheus writes them.
fn written_value(value: f64) -> Value {
    match value {
        v if v.is_nan() => "NaN".into(),
        v if v == f64::INFINITY => "+Inf".into(),
        v if v == f64::NEG_INFINITY => "-Inf".into(),
        v => v.into(),
    }
}

/// Whether `object` is a RecordedMetrics object for `target`.
pub fn records_for(object: &Value, target: &Value) -> bool {
    if objects::kind(object) != Some(KIND) || objects::namespace(object) != objects::namespace(target) {
        return false;
    }
    let group = object.get("apiVersion").and_then(Value::as_str).map(objects::group_of);
    let names = |field: &str| object.pointer(&format!("/target/{field}")).and_then(Value::as_str);
    group == Some("rewind.dev") && names("kind") == objects::kind(target) && names("name") == objects::name(target)
}

/// The recorded results for `target`, in the order they were recorded; an
/// error names the object and the field at fault.
pub fn recorded_for(set: &ObjectSet, target: &Value) -> Result<Vec<Metric<'static>>, String> {
    let mut metrics = Vec::new();
    for (id, object) in set.iter() {
        if !records_for(object, target) {
            continue;
        }
        let at_fault = |problem: String| {
            format!("{KIND} {} ({}): {problem}", objects::name(object).unwrap_or("?"), set.origin(id))
        };
        let results = match object.get("results") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(results)) => results,
            Some(other) => return Err(at_fault(format!("/results is {other}, not a list"))),
        };
        for (i, result) in results.iter().enumerate() {
            metrics.push(metric(result).map_err(|problem| at_fault(format!("/results/{i}{problem}")))?);
        }
    }
    Ok(metrics)
}

fn metric(result: &Value) -> Result<Metric<'static>, String> {
    let text = |field: &str| match result.get(field) {
        Some(Value::String(text)) => Ok(Text::copied(text)),
        Some(other) => Err(format!("/{field} is {other}, not a string")),
        None => Err(format!("/{field} is missing")),
    };
    let name = text("name")?;
    let query = text("query")?;
    let outcome = match (result.get("samples"), result.get("error")) {
        (Some(_), Some(_)) => return Err(": a result has samples or an error, not both".into()),
        (None, Some(_)) => MetricResult::Error(text("error")?),
        (None, None) => return Err(": a result needs `samples` (possibly empty) or `error`".into()),
        (Some(Value::Array(samples)), None) => MetricResult::Samples(
            samples
                .iter()
                .enumerate()
                .map(|(i, s)| sample(s).map_err(|problem| format!("/samples/{i}{problem}")))
                .collect::<Result<_, _>>()?,
        ),
        (Some(other), None) => return Err(format!("/samples is {other}, not a list")),
    };
    Ok(Metric { name, query, result: outcome })
}

/// A sample's time is RFC 3339 or epoch seconds; its value a number or, as
/// Prometheus writes values, a string (`"0.02"`, `"NaN"`, `"+Inf"`).
fn sample(sample: &Value) -> Result<Sample, String> {
    let time = match sample.get("time") {
        Some(Value::String(text)) => crate::time::parse(text).map_err(|e| format!("/time: {e}"))?,
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("/time is {n}, not whole seconds"))?,
        Some(other) => return Err(format!("/time is {other}, not a time")),
        None => return Err("/time is missing".into()),
    };
    let value = match sample.get("value") {
        Some(Value::Number(n)) => n.as_f64().expect("serde_json numbers are finite f64s"),
        Some(Value::String(text)) => parse_value(text).ok_or_else(|| format!("/value {text:?} is not a number"))?,
        Some(other) => return Err(format!("/value is {other}, not a number")),
        None => return Err("/value is missing".into()),
    };
    Ok(Sample { time, value })
}

fn parse_value(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok().filter(|v: &f64| v.is_finite()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use serde_json::json;

    fn recorded(target: &str, results: Value) -> Value {
        json!({"apiVersion": "rewind.dev/v1alpha1", "kind": KIND,
               "metadata": {"name": format!("{target}-metrics"), "namespace": NAMESPACE},
               "target": {"kind": "Deployment", "name": target}, "results": results})
    }

    #[test]
    fn results_recorded_for_the_target_reach_its_snapshot_in_order() {
        let results = json!([
            {"name": "error-rate", "query": "q1", "samples": [{"time": "2024-11-06T14:30:00Z", "value": 0.25},
                                                            {"time": 1730903460, "value": "NaN"}]},
            {"name": "latency", "query": "q2", "error": "timeout"},
        ]);
        let set = set_of([deployment("web:3"), recorded("web", results), recorded("other", json!([]))]);
        let built = crate::snapshot::build(&set, 0, 0, "{}").unwrap();
        let metrics = &built.snapshot.metrics;
        assert_eq!(metrics.len(), 2);
        assert_eq!((metrics[0].name.as_str(), metrics[0].query.as_str()), ("error-rate", "q1"));
        let MetricResult::Samples(samples) = &metrics[0].result else { panic!("samples") };
        assert_eq!((samples[0].time, samples[0].value), (1_730_903_400, 0.25));
        assert!(samples[1].value.is_nan());
        assert_eq!(metrics[1].result, MetricResult::Error("timeout".into()));
        assert_eq!(built.snapshot.objects.len(), 1, "recorded metrics are not part of the tree");
    }

    #[test]
    fn a_recorded_object_reads_back_as_the_same_results() {
        let target = deployment("web:3");
        let results = vec![
            Metric {
                name: "error-rate".into(),
                query: "q1".into(),
                result: MetricResult::Samples(vec![
                    Sample { time: 1_730_903_400, value: 0.25 },
                    Sample { time: 1_730_903_460, value: f64::INFINITY },
                ]),
            },
            Metric { name: "latency".into(), query: "q2".into(), result: MetricResult::Error("timeout".into()) },
        ];
        let object = recorded_object(&target, &results, json!({"prometheus": "http://p:9090"}));
        assert!(records_for(&object, &target));
        let set = set_of([target, object]);
        let built = crate::snapshot::build(&set, 0, 0, "{}").unwrap();
        assert_eq!(built.snapshot.metrics, results);
    }

    #[test]
    fn a_malformed_result_names_the_object_and_field() {
        let bad = recorded("web", json!([{"name": "e", "query": "q", "samples": [{"time": "soon", "value": 1}]}]));
        let set = set_of([deployment("web:3"), bad]);
        let err = crate::snapshot::build(&set, 0, 0, "{}").unwrap_err().to_string();
        assert!(err.contains("RecordedMetrics web-metrics (fixture): /results/0/samples/0/time"), "{err}");
        let both = recorded("web", json!([{"name": "e", "query": "q", "samples": [], "error": "x"}]));
        let err = crate::snapshot::build(&set_of([deployment("web:3"), both]), 0, 0, "{}").unwrap_err();
        assert!(err.to_string().contains("samples or an error, not both"), "{err}");
    }
}

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

/// Whether `object` claims to be a RecordedMetrics object: its kind in the
/// `rewind.dev` group, whatever its version or shape ([`check`] says
/// whether it follows the format).
fn is_recorded(object: &Value) -> bool {
    let group = object.get("apiVersion").and_then(Value::as_str).map(objects::group_of);
    objects::kind(object) == Some(KIND) && matches!(group, Some("rewind.dev") | None)
}

/// Whether `object` is a RecordedMetrics object for `target`.
pub fn records_for(object: &Value, target: &Value) -> bool {
    if !is_recorded(object) || objects::namespace(object) != objects::namespace(target) {
        return false;
    }
    let names = |field: &str| object.pointer(&format!("/target/{field}")).and_then(Value::as_str);
    names("kind") == objects::kind(target) && names("name") == objects::name(target)
}

/// The recorded results for `target`, in the order they were recorded. Every
/// RecordedMetrics object of the set must follow the format, whichever
/// workload it names: one that does not (a missing target, a misspelt
/// field) would otherwise be dropped or half read, and the evaluation would
/// go on with the wrong cause. An error names the object and the field.
pub fn recorded_for(set: &ObjectSet, target: &Value) -> Result<Vec<Metric<'static>>, String> {
    let mut metrics: Vec<Metric<'static>> = Vec::new();
    for (id, object) in set.iter() {
        if !is_recorded(object) {
            continue;
        }
        let at_fault = |problem: String| {
            format!("{KIND} {} ({}): {problem}", objects::name(object).unwrap_or("?"), set.origin(id))
        };
        let results = check(object).map_err(at_fault)?;
        if !records_for(object, target) {
            continue;
        }
        for (i, result) in results.iter().enumerate() {
            let metric = metric(result).map_err(|problem| at_fault(format!("/results/{i}{problem}")))?;
            if metrics.iter().any(|m| m.name == metric.name) {
                let problem =
                    format!("/results/{i}/name {:?} is recorded twice for this workload", metric.name.as_str());
                return Err(at_fault(problem));
            }
            metrics.push(metric);
        }
    }
    Ok(metrics)
}

/// The object's results, once its fields are the format's.
fn check(object: &Value) -> Result<&[Value], String> {
    let version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if version != API_VERSION {
        return Err(format!("/apiVersion is {version}; RecordedMetrics are {API_VERSION}"));
    }
    only_fields(object, "", &["apiVersion", "kind", "metadata", "target", "source", "results"])?;
    match object.get("target") {
        Some(target @ Value::Object(_)) => {
            only_fields(target, "/target", &["apiVersion", "kind", "name"])?;
            for field in ["kind", "name"] {
                match target.get(field) {
                    Some(Value::String(text)) if !text.is_empty() => {}
                    Some(other) => return Err(format!("/target/{field} is {other}, not a name")),
                    None => return Err(format!("/target/{field} is missing: which workload were these recorded for?")),
                }
            }
        }
        Some(other) => return Err(format!("/target is {other}, not {{kind, name}}")),
        None => return Err("/target is missing: which workload were these recorded for?".into()),
    }
    match object.get("results") {
        Some(Value::Array(results)) => Ok(results),
        Some(other) => Err(format!("/results is {other}, not a list")),
        None => Err("/results is missing (an empty list says no query was recorded)".into()),
    }
}

/// Refuses a field of `value` (at `at`) that the format does not have.
fn only_fields(value: &Value, at: &str, known: &[&str]) -> Result<(), String> {
    let Some(fields) = value.as_object() else { return Ok(()) };
    match fields.keys().find(|field| !known.contains(&field.as_str())) {
        Some(field) => Err(format!("{at}/{field} is not a field of RecordedMetrics (known: {})", known.join(", "))),
        None => Ok(()),
    }
}

fn metric(result: &Value) -> Result<Metric<'static>, String> {
    if !result.is_object() {
        return Err(format!(" is {result}, not a result {{name, query, samples or error}}"));
    }
    only_fields(result, "", &["name", "query", "samples", "error"])?;
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
    if !sample.is_object() {
        return Err(format!(" is {sample}, not a sample {{time, value}}"));
    }
    only_fields(sample, "", &["time", "value"])?;
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
    fn an_object_off_the_format_is_refused_naming_it_and_the_field_whichever_workload_it_names() {
        let refused = |object: Value| {
            let set = set_of([deployment("web:3"), object]);
            crate::snapshot::build(&set, 0, 0, "{}").unwrap_err().to_string()
        };
        let mut no_target = recorded("web", json!([]));
        no_target.as_object_mut().unwrap().remove("target");
        let err = refused(no_target);
        assert!(err.contains("RecordedMetrics web-metrics (fixture): /target is missing"), "{err}");
        let mut no_name = recorded("web", json!([]));
        no_name["target"] = json!({"kind": "Deployment"});
        assert!(refused(no_name).contains("/target/name is missing"));
        let mut misspelt = recorded("other", json!([]));
        misspelt["result"] = misspelt.as_object_mut().unwrap().remove("results").unwrap();
        let err = refused(misspelt);
        assert!(err.contains("RecordedMetrics other-metrics (fixture): /result is not a field"), "{err}");
        let value_typo = recorded("web", json!([{"name": "e", "query": "q", "samples": [{"time": 1, "valeu": 1}]}]));
        assert!(refused(value_typo).contains("/results/0/samples/0/valeu is not a field"));
        let twice = recorded(
            "web",
            json!([{"name": "e", "query": "q", "samples": []}, {"name": "e", "query": "q2", "error": "x"}]),
        );
        assert!(refused(twice).contains("/results/1/name \"e\" is recorded twice"));
        let mut version = recorded("web", json!([]));
        version["apiVersion"] = json!("rewind.dev/v1");
        assert!(refused(version).contains("/apiVersion is rewind.dev/v1; RecordedMetrics are rewind.dev/v1alpha1"));
        let mut unversioned = recorded("web", json!([]));
        unversioned.as_object_mut().unwrap().remove("apiVersion");
        assert!(refused(unversioned).contains("/apiVersion is ;"));
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

use super::*;
use crate::Metric;

fn samples(values: &[f64]) -> MetricResult<'static> {
    MetricResult::Samples(
        values.iter().enumerate().map(|(i, v)| Sample { time: 1_000 + 60 * i as i64, value: *v }).collect(),
    )
}

fn snapshot(metrics: Vec<(&'static str, MetricResult<'static>)>) -> Snapshot<'static> {
    let metrics = metrics
        .into_iter()
        .map(|(name, result)| Metric { name: name.into(), query: format!("q_{name}").into(), result })
        .collect();
    Snapshot { metrics, ..Default::default() }
}

fn clear(verdict: &Verdict) -> bool {
    verdict.failing.is_empty() && verdict.inconclusive.is_empty()
}

fn check(yaml: &str) -> Check {
    let check: Check = serde_json::from_str(yaml).unwrap();
    check.validate("analysis[0]").unwrap();
    check
}

#[test]
fn a_threshold_crossed_in_the_latest_samples_fails_naming_query_value_and_threshold() {
    let s = snapshot(vec![("error-rate", samples(&[0.01, 0.2, 0.3]))]);
    let verdict = judge(&s, &[check(r#"{"metric": "error-rate", "failWhen": {"above": 0.05}, "consecutive": 2}"#)]);
    assert_eq!(verdict.failing.len(), 1, "{verdict:?}");
    let finding = &verdict.failing[0];
    assert_eq!(finding.reason, "MetricFailed");
    assert_eq!(
        finding.message,
        "metric error-rate is 0.3 (latest of 3 samples), above 0.05, in the latest 2 samples; query: q_error-rate"
    );
    assert_eq!(finding.since, Some(1_060));
}

#[test]
fn fewer_breaches_than_consecutive_pass() {
    let s = snapshot(vec![("error-rate", samples(&[0.2, 0.01, 0.3]))]);
    let verdict = judge(&s, &[check(r#"{"metric": "error-rate", "failWhen": {"above": 0.05}, "consecutive": 2}"#)]);
    assert!(clear(&verdict), "{verdict:?}");
}

#[test]
fn more_breaches_than_the_failure_limit_fail_wherever_they_are() {
    let s = snapshot(vec![("error-rate", samples(&[0.2, 0.01, 0.3, 0.01]))]);
    let c = r#"{"metric": "error-rate", "failWhen": {"above": 0.05}, "consecutive": 3, "failureLimit": 1}"#;
    let verdict = judge(&s, &[check(c)]);
    assert!(verdict.failing[0].message.contains("in 2 of 4 samples (failureLimit 1)"), "{verdict:?}");
}

#[test]
fn a_sample_missing_the_success_condition_breaches() {
    let s = snapshot(vec![("success", samples(&[0.999, 0.95]))]);
    let verdict = judge(&s, &[check(r#"{"metric": "success", "successWhen": {"above": 0.99}}"#)]);
    assert!(verdict.failing[0].message.contains("is 0.95 (latest of 2 samples), not above 0.99"), "{verdict:?}");
}

#[test]
fn a_comparison_with_the_previous_release_uses_its_mean_times_the_factor() {
    let c = check(r#"{"metric": "errors", "failWhen": {"aboveMetric": "errors-previous", "factor": 2}}"#);
    let worse = snapshot(vec![("errors", samples(&[0.05])), ("errors-previous", samples(&[0.01, 0.03]))]);
    let verdict = judge(&worse, std::slice::from_ref(&c));
    assert!(verdict.failing[0].message.contains("above 2 × the mean of errors-previous (0.02)"), "{verdict:?}");
    let same = snapshot(vec![("errors", samples(&[0.03])), ("errors-previous", samples(&[0.01, 0.03]))]);
    let verdict = judge(&same, &[c]);
    assert!(clear(&verdict), "{verdict:?}");
}

#[test]
fn missing_data_is_inconclusive_and_says_why() {
    let c = check(r#"{"metric": "errors", "failWhen": {"aboveMetric": "errors-previous"}}"#);
    let cases = [
        (snapshot(vec![]), "no result in the snapshot"),
        (snapshot(vec![("errors", samples(&[]))]), "the query returned no samples"),
        (snapshot(vec![("errors", samples(&[f64::NAN]))]), "all 1 samples are NaN"),
        (
            snapshot(vec![("errors", MetricResult::Error("connection refused".into()))]),
            "the query failed: connection refused",
        ),
        (snapshot(vec![("errors", samples(&[1.0]))]), "reference metric errors-previous no result"),
    ];
    for (s, why) in cases {
        let verdict = judge(&s, std::slice::from_ref(&c));
        assert!(verdict.failing.is_empty(), "{verdict:?}");
        assert_eq!(verdict.inconclusive[0].reason, "MetricInconclusive");
        assert!(verdict.inconclusive[0].message.contains(why), "{why}: {verdict:?}");
    }
}

#[test]
fn too_few_samples_for_consecutive_or_an_infinite_reference_are_inconclusive() {
    let two = check(r#"{"metric": "e", "failWhen": {"above": 0.05}, "consecutive": 2}"#);
    let verdict = judge(&snapshot(vec![("e", samples(&[0.01]))]), std::slice::from_ref(&two));
    assert!(verdict.inconclusive[0].message.contains("1 usable samples, fewer than the 2 consecutive"), "{verdict:?}");
    let compared = check(r#"{"metric": "e", "successWhen": {"belowMetric": "p"}}"#);
    let s = snapshot(vec![("e", samples(&[0.01])), ("p", samples(&[f64::INFINITY]))]);
    let verdict = judge(&s, &[compared]);
    assert!(verdict.failing.is_empty() && verdict.inconclusive[0].message.contains("no finite mean"), "{verdict:?}");
}

#[test]
fn nan_samples_are_skipped_not_breaches() {
    let s = snapshot(vec![("success", samples(&[0.999, f64::NAN]))]);
    let verdict = judge(&s, &[check(r#"{"metric": "success", "successWhen": {"above": 0.99}}"#)]);
    assert!(clear(&verdict), "{verdict:?}");
}

#[test]
fn malformed_checks_are_refused_naming_the_field() {
    let refused = |json: &str| serde_json::from_str::<Check>(json).unwrap().validate("analysis[0]").unwrap_err();
    assert_eq!(refused(r#"{"metric": "e"}"#), "analysis[0] needs failWhen or successWhen");
    assert!(refused(r#"{"metric": "e", "failWhen": {"above": 1, "below": 0}}"#).contains("exactly one of"));
    assert!(refused(r#"{"metric": "e", "failWhen": {"above": 1, "factor": 2}}"#).contains("factor applies only"));
    assert!(refused(r#"{"metric": "e", "failWhen": {"aboveMetric": "p", "factor": 0}}"#).contains("positive"));
    assert!(refused(r#"{"metric": "e", "failWhen": {"above": 1}, "consecutive": 0}"#).contains("at least 1"));
    assert!(serde_json::from_str::<Check>(r#"{"metric": "e", "failWhen": {"abov": 1}}"#).is_err());
}

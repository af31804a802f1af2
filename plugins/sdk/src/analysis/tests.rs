use super::*;
use crate::{Metric, Release};

fn samples(values: &[f64]) -> MetricResult<'static> {
    MetricResult::Samples(
        values.iter().enumerate().map(|(i, v)| Sample { time: 1_000 + 60 * i as i64, value: *v }).collect(),
    )
}

/// The current release was created at `start`.
fn snapshot_since(start: Option<i64>, metrics: Vec<(&'static str, MetricResult<'static>)>) -> Snapshot<'static> {
    let metrics = metrics
        .into_iter()
        .map(|(name, result)| Metric { name: name.into(), query: format!("q_{name}").into(), result })
        .collect();
    let current = Release {
        id: "2".into(),
        revision: Some(2),
        object: None,
        pod_template_hash: None,
        images: Vec::new(),
        created: start,
        replicas: 1,
        ready_replicas: 1,
        current: true,
    };
    Snapshot { metrics, releases: vec![current], ..Default::default() }
}

/// Every sample is from the current release (created with the first one).
fn snapshot(metrics: Vec<(&'static str, MetricResult<'static>)>) -> Snapshot<'static> {
    snapshot_since(Some(1_000), metrics)
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
fn a_failure_limit_finding_quotes_the_worst_breach_not_the_latest_sample() {
    let s = snapshot(vec![("error-rate", samples(&[0.2, 0.01, 0.3, 0.003]))]);
    let c = r#"{"metric": "error-rate", "failWhen": {"above": 0.05}, "consecutive": 3, "failureLimit": 1}"#;
    let verdict = judge(&s, &[check(c)]);
    assert_eq!(
        verdict.failing[0].message,
        "metric error-rate breached in 2 of 4 samples (failureLimit 1), worst 0.3 at 1970-01-01T00:18:40Z, \
         above 0.05; latest 0.003; query: q_error-rate"
    );
    assert_eq!(verdict.failing[0].since, Some(1_000));
    let success = r#"{"metric": "ok", "successWhen": {"above": 0.99}, "consecutive": 3, "failureLimit": 1}"#;
    let s = snapshot(vec![("ok", samples(&[0.9, 0.999, 0.5, 0.999]))]);
    let verdict = judge(&s, &[check(success)]);
    assert!(verdict.failing[0].message.contains("worst 0.5 at 1970-01-01T00:18:40Z, not above 0.99"), "{verdict:?}");
}

#[test]
fn samples_from_before_the_release_started_are_not_judged_unless_the_window_is_whole() {
    // Breaches at 1000 and 1060 belong to the release before; this one
    // started at 1100.
    let series = || vec![("error-rate", samples(&[0.5, 0.5, 0.01, 0.02]))];
    let since = r#"{"metric": "error-rate", "failWhen": {"above": 0.05}, "failureLimit": 1}"#;
    let verdict = judge(&snapshot_since(Some(1_100), series()), &[check(since)]);
    assert!(clear(&verdict), "{verdict:?}");
    let whole = r#"{"metric": "error-rate", "failWhen": {"above": 0.05}, "failureLimit": 1, "window": "whole"}"#;
    let verdict = judge(&snapshot_since(Some(1_100), series()), &[check(whole)]);
    assert!(verdict.failing[0].message.contains("breached in 2 of 4 samples"), "{verdict:?}");
}

#[test]
fn a_release_whose_start_is_unknown_or_later_than_every_sample_is_inconclusive() {
    let c = r#"{"metric": "error-rate", "failWhen": {"above": 0.05}}"#;
    let verdict = judge(&snapshot_since(None, vec![("error-rate", samples(&[0.5]))]), &[check(c)]);
    assert!(verdict.inconclusive[0].message.contains("current release's start is unknown"), "{verdict:?}");
    let verdict = judge(&snapshot_since(Some(5_000), vec![("error-rate", samples(&[0.5]))]), &[check(c)]);
    assert!(verdict.inconclusive[0].message.contains("none of its 1 samples is from after"), "{verdict:?}");
    let whole = r#"{"metric": "error-rate", "failWhen": {"above": 0.05}, "window": "whole"}"#;
    assert_eq!(judge(&snapshot_since(None, vec![("error-rate", samples(&[0.5]))]), &[check(whole)]).failing.len(), 1);
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
    assert!(serde_json::from_str::<Check>(r#"{"metric": "e", "failWhen": {"above": 1}, "window": "all"}"#).is_err());
}

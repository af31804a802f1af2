//! Metric analysis: checks over the results of the metric queries a
//! RolloutPolicy declares (the snapshot's metrics section).
//!
//! A check names a query and says when its samples breach: a sample meeting
//! `failWhen`, or one not meeting `successWhen`. Conditions compare with a
//! number (`above`, `below`) or with another query's mean scaled by
//! `factor` (`aboveMetric`, `belowMetric`): declare the same query for the
//! previous release over the same window, and the new release is judged
//! against it. The check fails when its `consecutive` latest samples all
//! breach, or when more than `failureLimit` samples of the result breach.
//! NaN samples (a ratio of zero requests) are skipped: they neither breach
//! nor break a run of breaches. A query that failed, returned nothing or
//! only NaN, or fewer samples than `consecutive` asks for, or whose
//! reference query did (or has no finite mean), is inconclusive: never a
//! reason to roll back on its own.
//!
//! A check judges the samples taken since the current release was created
//! (`window: sinceRelease`, the default): a range reaching back past the
//! release's start would otherwise hold the release before it against it.
//! `window: whole` judges every sample the query returned. With
//! `sinceRelease` and no known start (no release of the dump is current, or
//! it has no creation time) the check is inconclusive. Reference queries
//! (`aboveMetric`, `belowMetric`) are always taken whole: they describe
//! another release or another time on purpose.
//!
//! ```yaml
//! analysis:
//!   - metric: error-rate
//!     failWhen: {above: 0.05}
//!     consecutive: 2
//!   - metric: error-rate
//!     failWhen: {aboveMetric: error-rate-previous, factor: 2}
//! ```

use crate::{Finding, MetricResult, Sample, Snapshot};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    /// The query's name in the RolloutPolicy's `metrics.queries`.
    pub metric: String,
    /// A sample meeting this breaches.
    #[serde(default)]
    pub fail_when: Option<Condition>,
    /// A sample not meeting this breaches.
    #[serde(default)]
    pub success_when: Option<Condition>,
    /// How many of the latest samples must all breach (default 1).
    #[serde(default = "one")]
    pub consecutive: u32,
    /// More breaching samples than this, anywhere in the result, fail the
    /// check too (unset: only `consecutive` counts).
    #[serde(default)]
    pub failure_limit: Option<u32>,
    /// Which of the query's samples are judged.
    #[serde(default)]
    pub window: Window,
}

fn one() -> u32 {
    1
}

/// Which samples of a check's query count.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Window {
    /// Samples at or after the current release's creation.
    #[default]
    SinceRelease,
    /// Every sample the query returned.
    Whole,
}

/// Exactly one of the four comparisons.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    /// Above `factor` × the mean of this query's samples.
    #[serde(default)]
    pub above_metric: Option<String>,
    /// Below `factor` × the mean of this query's samples.
    #[serde(default)]
    pub below_metric: Option<String>,
    /// Scales the reference query's mean (default 1).
    #[serde(default)]
    pub factor: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Direction {
    Above,
    Below,
}

/// A condition with its threshold known for this snapshot.
struct Threshold {
    direction: Direction,
    value: f64,
    /// How the threshold was found, for findings (`0.05`, or
    /// `2 × mean of error-rate-previous (0.01)`).
    described: String,
}

impl Threshold {
    fn met_by(&self, value: f64) -> bool {
        match self.direction {
            Direction::Above => value > self.value,
            Direction::Below => value < self.value,
        }
    }
}

impl Condition {
    fn validate(&self, at: &str) -> Result<(), String> {
        let set =
            [self.above.is_some(), self.below.is_some(), self.above_metric.is_some(), self.below_metric.is_some()];
        if set.iter().filter(|s| **s).count() != 1 {
            return Err(format!("{at} needs exactly one of above, below, aboveMetric, belowMetric"));
        }
        if let Some(v) = self.above.or(self.below).filter(|v| !v.is_finite()) {
            return Err(format!("{at}: {v} is not a finite threshold"));
        }
        match self.factor {
            Some(_) if self.above_metric.is_none() && self.below_metric.is_none() => {
                Err(format!("{at}: factor applies only to aboveMetric and belowMetric"))
            }
            Some(f) if !(f.is_finite() && f > 0.0) => Err(format!("{at}: factor must be a positive number (got {f})")),
            _ => Ok(()),
        }
    }

    /// The threshold in this snapshot, or why there is none (inconclusive).
    fn threshold(&self, snapshot: &Snapshot) -> Result<Threshold, String> {
        let fixed = |direction, value: f64| Threshold { direction, value, described: format!("{value}") };
        if let Some(value) = self.above {
            return Ok(fixed(Direction::Above, value));
        }
        if let Some(value) = self.below {
            return Ok(fixed(Direction::Below, value));
        }
        let (direction, reference) = match (&self.above_metric, &self.below_metric) {
            (Some(name), _) => (Direction::Above, name),
            (None, Some(name)) => (Direction::Below, name),
            (None, None) => unreachable!("validated: one comparison is set"),
        };
        let samples =
            usable_samples(snapshot, reference).map_err(|why| format!("reference metric {reference} {why}"))?;
        let mean = samples.iter().map(|s| s.value).sum::<f64>() / samples.len() as f64;
        if !mean.is_finite() {
            return Err(format!("reference metric {reference} has no finite mean ({mean})"));
        }
        let factor = self.factor.unwrap_or(1.0);
        let described = match factor {
            1.0 => format!("the mean of {reference} ({mean})"),
            _ => format!("{factor} × the mean of {reference} ({mean})"),
        };
        Ok(Threshold { direction, value: factor * mean, described })
    }
}

impl Check {
    /// Problems serde cannot see, naming the check (`analysis[0]`).
    pub fn validate(&self, at: &str) -> Result<(), String> {
        if self.metric.trim().is_empty() {
            return Err(format!("{at}.metric must name a query"));
        }
        if self.fail_when.is_none() && self.success_when.is_none() {
            return Err(format!("{at} needs failWhen or successWhen"));
        }
        if let Some(c) = &self.fail_when {
            c.validate(&format!("{at}.failWhen"))?;
        }
        if let Some(c) = &self.success_when {
            c.validate(&format!("{at}.successWhen"))?;
        }
        if self.consecutive == 0 {
            return Err(format!("{at}.consecutive must be at least 1"));
        }
        Ok(())
    }

    /// The check's usable samples within its window, or why there are none.
    fn samples<'s>(&self, snapshot: &'s Snapshot) -> Result<Vec<&'s Sample>, String> {
        let samples = usable_samples(snapshot, &self.metric)?;
        if self.window == Window::Whole {
            return Ok(samples);
        }
        let Some(start) = snapshot.current_release().and_then(|release| release.created) else {
            return Err("the current release's start is unknown, so its samples cannot be told from the \
                        release before it (window: whole judges every sample)"
                .into());
        };
        let total = samples.len();
        let since: Vec<&Sample> = samples.into_iter().filter(|s| s.time >= start).collect();
        if since.is_empty() {
            return Err(format!(
                "none of its {total} samples is from after the current release started at {}",
                crate::time::format(start)
            ));
        }
        Ok(since)
    }

    fn judge(&self, snapshot: &Snapshot) -> Judged {
        let inconclusive = |why: String| Judged::Inconclusive(format!("metric {}: {why}", self.metric));
        let samples = match self.samples(snapshot) {
            Ok(samples) => samples,
            Err(why) => return inconclusive(why),
        };
        let threshold = |c: &Option<Condition>| c.as_ref().map(|c| c.threshold(snapshot)).transpose();
        let (fail, success) = match (threshold(&self.fail_when), threshold(&self.success_when)) {
            (Ok(fail), Ok(success)) => (fail, success),
            (Err(why), _) | (_, Err(why)) => return inconclusive(why),
        };
        let breaches = |value: f64| {
            fail.as_ref().is_some_and(|t| t.met_by(value)) || success.as_ref().is_some_and(|t| !t.met_by(value))
        };
        let breaching: Vec<&Sample> = samples.iter().copied().filter(|s| breaches(s.value)).collect();
        let latest_run = samples.iter().rev().take_while(|s| breaches(s.value)).count();
        let by_run = latest_run >= self.consecutive as usize;
        let by_limit = self.failure_limit.is_some_and(|limit| breaching.len() > limit as usize);
        if !(by_run || by_limit) && samples.len() < self.consecutive as usize {
            return inconclusive(format!(
                "{} usable samples, fewer than the {} consecutive ones the check asks for",
                samples.len(),
                self.consecutive
            ));
        }
        if !(by_run || by_limit) {
            return Judged::Passed;
        }
        let query = snapshot.metric(&self.metric).map(|m| m.query.as_str()).unwrap_or_default();
        let latest = samples.last().expect("usable samples are not empty");
        let (message, since) = if by_run {
            let rule = match (&fail, &success) {
                (Some(t), _) if t.met_by(latest.value) => describe(t, false),
                (_, Some(t)) => describe(t, true),
                (Some(t), None) => describe(t, false),
                (None, None) => unreachable!("validated: a check has a condition"),
            };
            let how = match latest_run {
                1 => "in the latest sample".to_string(),
                n => format!("in the latest {n} samples"),
            };
            let message = format!(
                "metric {} is {} (latest of {} samples), {rule}, {how}",
                self.metric,
                latest.value,
                samples.len()
            );
            (message, samples[samples.len() - latest_run].time)
        } else {
            // The latest sample may be within bounds: the message quotes the
            // breaching samples, by their worst.
            let (rule, worst) = worst_breach(fail.as_ref(), success.as_ref(), &breaching);
            let message = format!(
                "metric {} breached in {} of {} samples (failureLimit {}), worst {} at {}, {rule}; latest {}",
                self.metric,
                breaching.len(),
                samples.len(),
                self.failure_limit.unwrap_or_default(),
                worst.value,
                crate::time::format(worst.time),
                latest.value,
            );
            (message, breaching[0].time)
        };
        Judged::Failed(Finding {
            reason: "MetricFailed".into(),
            message: format!("{message}; query: {query}"),
            pod: None,
            container: None,
            since: Some(since),
        })
    }
}

/// The rule most breaching samples broke, and the sample furthest past it.
fn worst_breach<'s>(
    fail: Option<&Threshold>,
    success: Option<&Threshold>,
    breaching: &[&'s Sample],
) -> (String, &'s Sample) {
    let broke_fail = |s: &&&Sample| fail.is_some_and(|t| t.met_by(s.value));
    let (threshold, success_rule) = match (fail, success) {
        (Some(t), None) => (t, false),
        (None, Some(t)) => (t, true),
        (Some(f), Some(_)) if breaching.iter().filter(broke_fail).count() * 2 >= breaching.len() => (f, false),
        (Some(_), Some(s)) => (s, true),
        (None, None) => unreachable!("validated: a check has a condition"),
    };
    let broke = |s: &&&Sample| threshold.met_by(s.value) != success_rule;
    // Breaching a fail rule above, or a success rule below, is worse the
    // higher the value.
    let higher_is_worse = (threshold.direction == Direction::Above) != success_rule;
    let by_value = |a: &&&Sample, b: &&&Sample| a.value.total_cmp(&b.value);
    let candidates = breaching.iter().filter(broke);
    let worst = if higher_is_worse { candidates.max_by(by_value) } else { candidates.min_by(by_value) };
    (describe(threshold, success_rule), worst.copied().unwrap_or(breaching[0]))
}

fn describe(threshold: &Threshold, success: bool) -> String {
    let side = match (threshold.direction, success) {
        (Direction::Above, false) => "above",
        (Direction::Below, false) => "below",
        (Direction::Above, true) => "not above",
        (Direction::Below, true) => "not below",
    };
    format!("{side} {}", threshold.described)
}

/// The query's samples that are numbers, oldest first, or why there are
/// none.
fn usable_samples<'s>(snapshot: &'s Snapshot, name: &str) -> Result<Vec<&'s Sample>, String> {
    let Some(metric) = snapshot.metric(name) else {
        return Err("no result in the snapshot (is it declared in the RolloutPolicy's metrics.queries?)".into());
    };
    match &metric.result {
        MetricResult::Error(error) => Err(format!("the query failed: {}", error.as_str())),
        MetricResult::Samples(samples) if samples.is_empty() => Err("the query returned no samples".into()),
        MetricResult::Samples(samples) => {
            let mut usable: Vec<&Sample> = samples.iter().filter(|s| !s.value.is_nan()).collect();
            if usable.is_empty() {
                return Err(format!("all {} samples are NaN", samples.len()));
            }
            usable.sort_by_key(|s| s.time);
            Ok(usable)
        }
    }
}

enum Judged {
    Passed,
    Failed(Finding),
    Inconclusive(String),
}

/// What the checks found: failing metrics, and checks that could not be
/// decided (each a `MetricInconclusive` finding).
#[derive(Debug, Default)]
pub struct Verdict {
    pub failing: Vec<Finding>,
    pub inconclusive: Vec<Finding>,
}

/// Judges every check against the snapshot's metrics section.
pub fn judge(snapshot: &Snapshot, checks: &[Check]) -> Verdict {
    let mut verdict = Verdict::default();
    for check in checks {
        match check.judge(snapshot) {
            Judged::Passed => {}
            Judged::Failed(finding) => verdict.failing.push(finding),
            Judged::Inconclusive(message) => verdict.inconclusive.push(Finding {
                reason: "MetricInconclusive".into(),
                message,
                pod: None,
                container: None,
                since: None,
            }),
        }
    }
    verdict
}

/// Validates a list of checks as a setting named `field`.
pub fn validate(field: &str, checks: &[Check]) -> Result<(), String> {
    checks.iter().enumerate().try_for_each(|(i, check)| check.validate(&format!("{field}[{i}]")))
}

#[cfg(test)]
mod tests;

//! `rewind backtest`: one or more policies over a timeline of cluster dumps,
//! each evaluated at the moment its dump was taken, without acting. The
//! report says when each policy would first have declared failure and first
//! acted, and where policies decide differently: the safe way to try a new
//! policy before enforcing it.
//!
//! A timeline is a directory whose entries (dump files, or directories of
//! dumps) are named by the moment they were taken: RFC 3339
//! (`2024-11-06T14:30:00Z.yaml`) or the same with `-` in the time, as
//! `rewind capture --watch` writes (`2024-11-06T14-30-00Z.yaml`).

use crate::actions::{ActionLimits, Grant};
use crate::answers::Health;
use crate::dump::{self, DumpError};
use crate::evaluate::{EvalOptions, Evaluation, TargetSpec, evaluate};
use crate::runtime::LoadedPolicy;
use crate::style::Style;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("cannot read timeline {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("timeline entry {0} is not named by a time (e.g. 2024-11-06T14-30-00Z.yaml)")]
    UnnamedMoment(PathBuf),
    #[error("timeline entries {0} and {1} are the same moment")]
    SameMoment(PathBuf, PathBuf),
    #[error("timeline {0} holds no dumps")]
    Empty(PathBuf),
    #[error(transparent)]
    Dump(#[from] DumpError),
}

/// One dump of the timeline and when it was taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Moment {
    pub at: i64,
    pub path: PathBuf,
}

/// The moments of a timeline directory, oldest first. Hidden entries are
/// skipped; any other entry must be named by a time.
pub fn read_timeline(dir: &Path) -> Result<Vec<Moment>, BacktestError> {
    let read_error = |source| BacktestError::Read { path: dir.to_path_buf(), source };
    let mut moments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let stem = name.trim_end_matches(".yaml").trim_end_matches(".yml").trim_end_matches(".json");
        let at = moment_of(stem).ok_or_else(|| BacktestError::UnnamedMoment(path.clone()))?;
        moments.push(Moment { at, path });
    }
    moments.sort_by(|a, b| (a.at, &a.path).cmp(&(b.at, &b.path)));
    if let Some(pair) = moments.windows(2).find(|w| w[0].at == w[1].at) {
        return Err(BacktestError::SameMoment(pair[0].path.clone(), pair[1].path.clone()));
    }
    if moments.is_empty() {
        return Err(BacktestError::Empty(dir.to_path_buf()));
    }
    Ok(moments)
}

/// `2024-11-06T14:30:00Z` or `2024-11-06T14-30-00Z` as epoch seconds.
fn moment_of(stem: &str) -> Option<i64> {
    if let Ok(at) = crate::time::parse(stem) {
        return Some(at);
    }
    let (date, time) = stem.split_once('T')?;
    crate::time::parse(&format!("{date}T{}", time.replacen('-', ":", 2))).ok()
}

/// The file name `rewind capture --watch` gives a dump taken at `at`: the
/// RFC 3339 time with `-` for `:`, which every file system accepts.
pub fn moment_file_name(at: i64) -> String {
    format!("{}.yaml", crate::time::format(at).replace(':', "-"))
}

/// What one policy decided at one moment, reduced to what a backtest
/// compares: the answers and the actions, not their wording.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub state: Option<Health>,
    pub findings: Vec<String>,
    pub eligible: Option<bool>,
    pub release: Option<String>,
    pub actions: Vec<Value>,
    pub errors: Vec<String>,
}

impl Verdict {
    /// From the typed decision; the report only for its errors.
    fn of(evaluation: &Evaluation) -> Self {
        let decision = evaluation.decision.as_ref();
        Verdict {
            state: decision.map(|d| d.failure.state),
            findings: decision.iter().flat_map(|d| d.failure.findings.iter().map(|f| f.reason.clone())).collect(),
            eligible: decision.and_then(|d| d.eligibility.as_ref()).map(|e| e.eligible),
            release: decision.and_then(|d| d.selection.as_ref()).and_then(|s| s.release.clone()),
            actions: evaluation.actions.iter().map(|a| serde_json::to_value(a).expect("actions serialize")).collect(),
            errors: evaluation.report.errors.clone(),
        }
    }

    fn failed(&self) -> bool {
        self.state == Some(Health::Failed)
    }

    /// Two verdicts differ when they judge health or eligibility
    /// differently, pick another release, or act differently. The free text
    /// of an action (an event's or condition's message) is wording, not a
    /// decision.
    fn decides_like(&self, other: &Verdict) -> bool {
        let decisive = |v: &Verdict| {
            let actions: Vec<Value> = v
                .actions
                .iter()
                .map(|a| {
                    let mut a = a.clone();
                    if let Some(fields) = a.as_object_mut() {
                        fields.remove("message");
                    }
                    a
                })
                .collect();
            (v.state, v.eligible, v.release.clone(), actions, v.errors.is_empty())
        };
        decisive(self) == decisive(other)
    }

    /// One line: `failed [ImagePullBackOff] → release 2: rollback, emit-event`.
    pub fn summary(&self) -> String {
        if let Some(error) = self.errors.first() {
            return format!("error: {error}");
        }
        let mut text = self.state.map_or("no answer", Health::as_str).to_string();
        if !self.findings.is_empty() {
            let _ = write!(text, " [{}]", self.findings.join(", "));
        }
        match (self.eligible, &self.release) {
            (Some(false), _) => text.push_str(" → not eligible"),
            (Some(true), Some(release)) => {
                let _ = write!(text, " → release {release}");
            }
            (Some(true), None) => text.push_str(" → stays"),
            (None, _) => {}
        }
        if !self.actions.is_empty() {
            let kinds: Vec<&str> = self.actions.iter().filter_map(|a| a["type"].as_str()).collect();
            let _ = write!(text, ": {}", kinds.join(", "));
        }
        text
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub at: String,
    pub dump: String,
    /// One per policy, in the order given.
    pub verdicts: Vec<Verdict>,
    /// The policies decided differently at this moment.
    pub differs: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySummary {
    pub policy: String,
    pub first_failure: Option<String>,
    pub first_action: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Backtest {
    pub target: String,
    pub policies: Vec<PolicySummary>,
    pub steps: Vec<Step>,
}

/// Evaluates every policy at every moment (nothing is executed; each
/// evaluation gets its own copy of the dump). `progress` hears of each
/// moment before it is evaluated.
pub fn run(
    policies: &[LoadedPolicy],
    timeline: &[Moment],
    target: &TargetSpec,
    action_limits: ActionLimits,
    grants: &[Grant],
    argocd: &crate::gitops::ArgoCdTracking,
    progress: &mut dyn FnMut(usize, &Moment),
) -> Result<Backtest, BacktestError> {
    let mut steps = Vec::with_capacity(timeline.len());
    for (index, moment) in timeline.iter().enumerate() {
        progress(index, moment);
        let objects = dump::load_paths(std::slice::from_ref(&moment.path))?;
        let options = EvalOptions {
            now: moment.at,
            apply: false,
            action_limits,
            grants: grants.to_vec(),
            argocd: argocd.clone(),
        };
        let verdicts: Vec<Verdict> = policies
            .iter()
            .map(|policy| match evaluate(policy, &mut objects.clone(), target, &options) {
                Ok(evaluation) => Verdict::of(&evaluation),
                Err(e) => Verdict {
                    state: None,
                    findings: vec![],
                    eligible: None,
                    release: None,
                    actions: vec![],
                    errors: vec![e.to_string()],
                },
            })
            .collect();
        let differs = verdicts.windows(2).any(|pair| !pair[0].decides_like(&pair[1]));
        steps.push(Step {
            at: crate::time::format(moment.at),
            dump: moment.path.display().to_string(),
            verdicts,
            differs,
        });
    }
    let policies = policies
        .iter()
        .enumerate()
        .map(|(i, policy)| {
            let first = |wanted: &dyn Fn(&Verdict) -> bool| {
                steps.iter().find(|s| wanted(&s.verdicts[i])).map(|s| format!("{} ({})", s.at, s.verdicts[i].summary()))
            };
            PolicySummary {
                policy: policy.name.clone(),
                first_failure: first(&Verdict::failed),
                first_action: first(&|v: &Verdict| !v.actions.is_empty()),
            }
        })
        .collect();
    Ok(Backtest { target: target.to_string(), policies, steps })
}

impl Backtest {
    pub fn to_text(&self) -> String {
        self.to_text_styled(Style::PLAIN)
    }

    /// The text view, with differences and failures coloured when `style` says so.
    pub fn to_text_styled(&self, style: Style) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "target: {}", self.target);
        for (i, p) in self.policies.iter().enumerate() {
            let _ = writeln!(out, "policy {}: {}", letter(i), p.policy);
        }
        let _ = writeln!(out);
        for step in &self.steps {
            let marker = if step.differs { style.caution("  ← differs") } else { String::new() };
            let _ = writeln!(out, "{}{marker}", step.at);
            for (i, verdict) in step.verdicts.iter().enumerate() {
                let summary = crate::report::shown(&verdict.summary()).into_owned();
                let summary =
                    if verdict.failed() || !verdict.errors.is_empty() { style.bad(&summary) } else { summary };
                let _ = writeln!(out, "  {}: {summary}", letter(i));
            }
        }
        let _ = writeln!(out);
        for (i, p) in self.policies.iter().enumerate() {
            let never = || "never".to_string();
            let first =
                |moment: &Option<String>| crate::report::shown(&moment.clone().unwrap_or_else(never)).into_owned();
            let _ = writeln!(out, "{}: first failure {}", letter(i), first(&p.first_failure));
            let _ = writeln!(out, "{}: first action  {}", letter(i), first(&p.first_action));
        }
        if self.policies.len() > 1 {
            let differing: Vec<&str> = self.steps.iter().filter(|s| s.differs).map(|s| s.at.as_str()).collect();
            let _ = match differing.as_slice() {
                [] => writeln!(out, "the policies decide alike at all {} moments", self.steps.len()),
                some => writeln!(
                    out,
                    "the policies decide differently at {} of {} moments: {}",
                    some.len(),
                    self.steps.len(),
                    some.join(", ")
                ),
            };
        }
        out
    }
}

/// Policies are shown as A, B, C … in the order given.
fn letter(index: usize) -> char {
    (b'A' + (index % 26) as u8) as char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_named_by_rfc3339_or_its_file_system_form() {
        let at = crate::time::parse("2024-11-06T14:30:00Z").unwrap();
        assert_eq!(moment_of("2024-11-06T14:30:00Z"), Some(at));
        assert_eq!(moment_of("2024-11-06T14-30-00Z"), Some(at));
        assert_eq!(moment_of(moment_file_name(at).trim_end_matches(".yaml")), Some(at));
        assert_eq!(moment_of("notes"), None);
        assert_eq!(moment_of("2024-11-06"), None);
    }

    #[test]
    fn a_timeline_is_ordered_and_refuses_unnamed_or_repeated_moments() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["2024-11-06T14-31-00Z.yaml", "2024-11-06T14:20:00Z.yaml", ".hidden"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let moments = read_timeline(dir.path()).unwrap();
        assert_eq!(moments.len(), 2);
        assert!(moments[0].path.ends_with("2024-11-06T14:20:00Z.yaml"));

        std::fs::write(dir.path().join("2024-11-06T14-20-00Z.json"), "").unwrap();
        let err = read_timeline(dir.path()).unwrap_err().to_string();
        assert!(err.contains("same moment"), "{err}");

        std::fs::write(dir.path().join("README"), "").unwrap();
        let err = read_timeline(dir.path()).unwrap_err().to_string();
        assert!(err.contains("README") && err.contains("not named by a time"), "{err}");
    }

    #[test]
    fn verdicts_compare_decisions_not_wording() {
        let base = Verdict {
            state: Some(Health::Failed),
            findings: vec!["ImagePullBackOff".into()],
            eligible: Some(true),
            release: Some("2".into()),
            actions: vec![serde_json::json!({"type": "rollback", "revision": 2})],
            errors: vec![],
        };
        let mut worded_differently = Verdict { findings: vec!["ErrImagePull".into()], ..base.clone() };
        worded_differently.actions.push(serde_json::json!({"type": "emit-event", "reason": "Back", "message": "one"}));
        let mut base = base;
        base.actions.push(serde_json::json!({"type": "emit-event", "reason": "Back", "message": "another"}));
        assert!(base.decides_like(&worded_differently));
        let stays = Verdict { release: None, actions: vec![], ..base.clone() };
        assert!(!base.decides_like(&stays));
        assert_eq!(base.summary(), "failed [ImagePullBackOff] → release 2: rollback, emit-event");
    }
}

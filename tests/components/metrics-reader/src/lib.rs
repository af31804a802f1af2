//! Reports each metric result of its snapshot as a finding, through the
//! SDK's typed view: the reason is the result's name, the message its
//! query and samples (or error); and the GitOps owner, when the snapshot
//! names one, as a finding `gitops`. It judges nothing: always healthy.

use rewind_sdk::{
    Eligibility, FailureReport, Finding, GitOps, GitOpsOwner, GitOpsTool, Health, MetricResult, Rules, Selection,
    Snapshot,
};

pub struct MetricsReader;

rewind_sdk::export!(MetricsReader);

impl Rules for MetricsReader {
    type Settings = serde_json::Value;

    fn detect_failure(snapshot: &Snapshot, _: &serde_json::Value) -> Result<FailureReport, String> {
        let mut findings: Vec<Finding> = snapshot
            .metrics
            .iter()
            .map(|metric| {
                let result = match &metric.result {
                    MetricResult::Samples(samples) => {
                        let shown: Vec<String> = samples.iter().map(|s| format!("{}@{}", s.value, s.time)).collect();
                        format!("samples [{}]", shown.join(", "))
                    }
                    MetricResult::Error(error) => format!("error {error}"),
                };
                Finding {
                    reason: metric.name.to_string(),
                    message: format!("{}: {result}", metric.query),
                    pod: None,
                    container: None,
                    since: None,
                }
            })
            .collect();
        findings.extend(snapshot.gitops.as_ref().map(|gitops| Finding {
            reason: "gitops".into(),
            message: describe(gitops),
            pod: None,
            container: None,
            since: None,
        }));
        Ok(FailureReport {
            state: Health::Healthy,
            findings,
            manual_request: false,
            recheck_after: None,
            actions: vec![],
        })
    }

    fn check_eligibility(_: &Snapshot, _: &serde_json::Value, _: &FailureReport) -> Result<Eligibility, String> {
        Err("a healthy report is never asked about eligibility".into())
    }

    fn select_release(_: &Snapshot, _: &serde_json::Value, _: &FailureReport) -> Result<Selection, String> {
        Err("a healthy report is never asked for a release".into())
    }
}

fn describe(gitops: &GitOps) -> String {
    let tool = match gitops.tool {
        GitOpsTool::FluxKustomization => "flux-kustomization",
        GitOpsTool::FluxHelmRelease => "flux-helm-release",
        GitOpsTool::ArgoCdApplication => "argo-cd-application",
    };
    let owner = match &gitops.owner {
        GitOpsOwner::Found(state) => format!(
            "found, {}, {}, revision {}",
            if state.confirmed { "confirmed" } else { "unconfirmed" },
            if state.suspended { "suspended" } else { "not suspended" },
            state.revision.as_deref().unwrap_or("none")
        ),
        GitOpsOwner::Missing => "missing".into(),
        GitOpsOwner::Unreadable(reason) => format!("unreadable: {reason}"),
    };
    format!("{tool} {}/{} ({}): {owner}", gitops.namespace, gitops.name, gitops.marked_by)
}

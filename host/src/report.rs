//! The result of one evaluation, as `rewind eval` prints it: the JSON
//! contract (`--output json`) and the human view (`--output text`).

use crate::actions::{Action, ActionLimits};
use crate::answers;
use crate::executor::Outcome;
use crate::runtime::{LogEntry, SandboxLimits};
use crate::style::Style;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetOut {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl TargetOut {
    pub fn of(key: &rewind_core::objects::ObjectKey, namespace: &str) -> Self {
        TargetOut {
            api_version: key.api_version.clone(),
            kind: key.kind.clone(),
            namespace: namespace.to_string(),
            name: key.name.clone(),
        }
    }
}

/// The application evaluated, when the target is one: `target` is then its
/// member 0.
#[derive(Clone, Debug, Serialize)]
pub struct ApplicationOut {
    pub name: String,
    pub members: Vec<TargetOut>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyOut {
    pub path: String,
    pub sha256: String,
    pub wit: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct FindingOut {
    pub reason: String,
    pub message: String,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub since: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FailureOut {
    pub state: &'static str,
    pub findings: Vec<FindingOut>,
    #[serde(rename = "manualRequest")]
    pub manual_request: bool,
    /// Seconds after which the policy says its answer could change.
    #[serde(rename = "recheckAfter", skip_serializing_if = "Option::is_none")]
    pub recheck_after: Option<u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EligibilityOut {
    pub eligible: bool,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SelectionOut {
    pub release: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActionOut {
    #[serde(flatten)]
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// Host limits in force, shown in the text view.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsOut {
    pub sandbox: SandboxLimits,
    pub actions: ActionLimits,
}

#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub target: TargetOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<ApplicationOut>,
    pub now: String,
    pub policy: PolicyOut,
    pub failure: Option<FailureOut>,
    pub eligibility: Option<EligibilityOut>,
    pub selection: Option<SelectionOut>,
    pub actions: Vec<ActionOut>,
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<Vec<Value>>,
    #[serde(skip)]
    pub limits: Option<LimitsOut>,
    #[serde(skip_serializing_if = "GrantsOut::is_empty")]
    pub grants: GrantsOut,
}

/// The grants of one evaluation: what the policy declares, what the
/// operator gave, and what it may use (both).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GrantsOut {
    pub declared: Vec<String>,
    pub given: Vec<String>,
    pub effective: Vec<String>,
    /// Declared and not given: actions that need one are refused.
    #[serde(rename = "notGiven", skip_serializing_if = "Vec::is_empty")]
    pub not_given: Vec<String>,
}

impl GrantsOut {
    pub fn of(grants: &rewind_core::actions::Grants) -> Self {
        let shown = |list: &[&rewind_core::actions::Grant]| list.iter().map(ToString::to_string).collect();
        GrantsOut {
            declared: grants.declared.iter().map(ToString::to_string).collect(),
            given: grants.granted.iter().map(ToString::to_string).collect(),
            effective: shown(&grants.effective()),
            not_given: shown(&grants.missing()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.declared.is_empty() && self.given.is_empty()
    }
}

impl FailureOut {
    pub fn from_report(report: &answers::FailureReport) -> Self {
        FailureOut {
            state: report.state.as_str(),
            manual_request: report.manual_request,
            recheck_after: report.recheck_after,
            findings: report
                .findings
                .iter()
                .map(|f| FindingOut {
                    reason: f.reason.clone(),
                    message: f.message.clone(),
                    pod: f.pod.clone(),
                    container: f.container.clone(),
                    since: f.since.map(crate::time::format),
                })
                .collect(),
        }
    }
}

impl EvalReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports serialize")
    }

    pub fn to_text(&self) -> String {
        self.to_text_styled(Style::PLAIN)
    }

    /// The text view, with decisions coloured when `style` says so.
    pub fn to_text_styled(&self, style: Style) -> String {
        let mut out = String::new();
        let t = &self.target;
        match &self.application {
            Some(app) => {
                let members: Vec<String> = app.members.iter().map(|m| format!("{}/{}", m.kind, m.name)).collect();
                let _ = writeln!(
                    out,
                    "target:      application {} in namespace {} ({})",
                    app.name,
                    t.namespace,
                    members.join(", ")
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "target:      {}/{} in namespace {} ({})",
                    t.kind, t.name, t.namespace, t.api_version
                );
            }
        }
        let _ = writeln!(out, "now:         {}", self.now);
        let sha = self.policy.sha256.get(..12).unwrap_or(&self.policy.sha256);
        let _ = writeln!(out, "policy:      {} (sha256 {sha}…, {})", self.policy.path, self.policy.wit);
        let mut granted = match self.grants.effective.as_slice() {
            [] => "a rollback's only".to_string(),
            effective => format!("a rollback's and {}", effective.join(", ")),
        };
        match self.grants.not_given.as_slice() {
            [] => {}
            few @ ([_] | [_, _]) => granted.push_str(&format!(" (declared, not given: {})", few.join(", "))),
            many => granted.push_str(&format!(" ({} declared grants not given; --output json lists them)", many.len())),
        }
        let _ = writeln!(out, "grants:      {granted}");
        match &self.failure {
            Some(f) => {
                let manual = if f.manual_request { ", manual rollback requested" } else { "" };
                let recheck = f.recheck_after.map(|s| format!(", look again in {s} s")).unwrap_or_default();
                let state = style.health(f.state);
                let _ = writeln!(out, "failure:     {state} ({} findings{manual}{recheck})", f.findings.len());
                for finding in &f.findings {
                    let mut place = Vec::new();
                    if let Some(pod) = &finding.pod {
                        place.push(format!("pod {}", shown(pod)));
                    }
                    if let Some(container) = &finding.container {
                        place.push(format!("container {}", shown(container)));
                    }
                    if let Some(since) = &finding.since {
                        place.push(format!("since {since}"));
                    }
                    let place = if place.is_empty() { String::new() } else { format!(" [{}]", place.join(", ")) };
                    let _ = writeln!(out, "  - {}{place}: {}", shown(&finding.reason), shown(&finding.message));
                }
            }
            None => out.push_str("failure:     not evaluated\n"),
        }
        match &self.eligibility {
            Some(e) => {
                let verdict = if e.eligible { style.caution("eligible") } else { "not eligible".to_string() };
                let _ = writeln!(out, "eligibility: {verdict}: {}", shown(&e.reason));
            }
            None => out.push_str("eligibility: not asked\n"),
        }
        match &self.selection {
            Some(s) => {
                let release = s.release.as_deref().map_or("none".to_string(), |r| format!("release {}", shown(r)));
                let _ = writeln!(out, "selection:   {release}: {}", shown(&s.reason));
            }
            None => out.push_str("selection:   not asked\n"),
        }
        if self.actions.is_empty() {
            out.push_str("actions:     none\n");
        } else {
            out.push_str("actions:\n");
            for (i, a) in self.actions.iter().enumerate() {
                let (member, action) = a.action.on_member();
                let mut fields = serde_json::to_value(action).expect("actions serialize");
                let mut name = fields
                    .as_object_mut()
                    .and_then(|m| m.remove("type"))
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                if let Some(member) = member {
                    name.push_str(&format!(" on {}/{}", member.kind, member.name));
                }
                let outcome = match &a.outcome {
                    Some(Outcome::Applied(d)) => format!("  => applied: {}", shown(d)),
                    Some(Outcome::Skipped(d)) => format!("  => skipped: {}", shown(d)),
                    None => String::new(),
                };
                let _ = writeln!(out, "  {}. {name} {fields}{outcome}", i + 1);
            }
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "{}     {}", style.caution("warning:"), shown(warning));
        }
        for log in &self.logs {
            let _ = writeln!(out, "log {:5}:   {}", log.level, shown(&log.message));
        }
        for error in &self.errors {
            let _ = writeln!(out, "{}       {}", style.bad("error:"), shown(error));
        }
        if let Some(limits) = &self.limits {
            let s = &limits.sandbox;
            let a = &limits.actions;
            let _ = writeln!(
                out,
                "limits:      {} ms, {} MiB memory, {} log messages / {} KiB, {} actions, {} KiB per patch",
                s.timeout_ms,
                s.memory_bytes >> 20,
                s.max_log_entries,
                s.max_log_bytes >> 10,
                a.max_actions,
                a.max_patch_bytes >> 10
            );
        }
        if let Some(objects) = &self.objects {
            let _ = writeln!(out, "objects:     {} after apply (see --output json)", objects.len());
        }
        out
    }
}

/// Text a policy (or a cluster object) wrote, as the text output shows it:
/// control characters, line breaks included, and the Unicode controls that
/// reorder text are written as escapes, so no string can move the cursor,
/// recolour, or fake a line of the report. (The JSON output is for
/// programs; its strings are JSON-escaped.)
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    let escape = |c: char| c.is_control() || crate::actions::is_hidden_control(c);
    if !text.chars().any(escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod shown_tests {
    #[test]
    fn control_characters_and_line_breaks_are_escaped_and_plain_text_is_not_copied() {
        assert!(matches!(super::shown("RollingBack: revision 2"), std::borrow::Cow::Borrowed(_)));
        let forged = "rolled back\u{1b}[1A\u{1b}[2K\nselection:   none\u{202e}";
        assert_eq!(super::shown(forged), "rolled back\\u{1b}[1A\\u{1b}[2K\\nselection:   none\\u{202e}");
    }
}

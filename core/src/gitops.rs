//! The GitOps object that applies a workload: a Flux Kustomization or
//! HelmRelease, or an Argo CD Application.
//!
//! It is found from the marks these tools leave on what they apply. A mark
//! is only a claim: whoever may edit the workload may write any label or
//! annotation on it, naming another team's Kustomization. So an owner is
//! *confirmed* only when its own status lists the workload among the
//! objects it applies (Flux's inventory, Argo CD's resources), and only a
//! confirmed owner is ever something the host acts on outside the
//! workload's tree.

use crate::objects::{self, at};
use serde_json::Value;

/// The GitOps tools and the object of each that applies workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    FluxKustomization,
    FluxHelmRelease,
    ArgoCdApplication,
}

impl Tool {
    pub fn group(self) -> &'static str {
        match self {
            Tool::FluxKustomization => "kustomize.toolkit.fluxcd.io",
            Tool::FluxHelmRelease => "helm.toolkit.fluxcd.io",
            Tool::ArgoCdApplication => "argoproj.io",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Tool::FluxKustomization => "Kustomization",
            Tool::FluxHelmRelease => "HelmRelease",
            Tool::ArgoCdApplication => "Application",
        }
    }
}

/// Flux's labels on what a Kustomization applies (`<prefix>/name`,
/// `<prefix>/namespace`).
const FLUX_KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
/// Flux's labels on what a HelmRelease installs.
const FLUX_HELM: &str = "helm.toolkit.fluxcd.io";
/// Argo CD's default tracking: `<app>:<group>/<kind>:<namespace>/<name>`,
/// the app written `<namespace>_<name>` when Applications live outside the
/// control plane's namespace.
pub const ARGOCD_TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Argo CD's label tracking, for installations configured to use it.
pub const ARGOCD_INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// How the cluster's Argo CD tracks resources: an installation setting the
/// workload cannot tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgoCdTracking {
    /// The namespace of Argo CD's control plane, where Applications live
    /// unless their tracking id names another.
    pub namespace: String,
    /// The installation tracks by the `app.kubernetes.io/instance` label
    /// (`application.resourceTrackingMethod: label`). Off by default: many
    /// charts set that label themselves.
    pub by_label: bool,
}

impl Default for ArgoCdTracking {
    fn default() -> Self {
        ArgoCdTracking { namespace: "argocd".to_string(), by_label: false }
    }
}

/// What the workload's marks say about who applies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub tool: Tool,
    pub namespace: String,
    pub name: String,
    /// The label or annotation that names the owner.
    pub marked_by: String,
}

/// The owner a workload's marks name, if any. Flux's marks are read first:
/// a Kustomization that applies a HelmRelease's output leaves both, and the
/// HelmRelease is the nearer owner only when no Kustomization label is
/// there.
pub fn claim(workload: &Value, argocd: &ArgoCdTracking) -> Option<Claim> {
    flux_claim(workload, FLUX_KUSTOMIZE, Tool::FluxKustomization)
        .or_else(|| flux_claim(workload, FLUX_HELM, Tool::FluxHelmRelease))
        .or_else(|| argocd_annotation_claim(workload, argocd))
        .or_else(|| argocd.by_label.then(|| argocd_label_claim(workload, argocd)).flatten())
}

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    at(object, &["metadata", "labels", key]).and_then(Value::as_str).filter(|v| !v.is_empty())
}

fn flux_claim(workload: &Value, prefix: &str, tool: Tool) -> Option<Claim> {
    let name = label(workload, &format!("{prefix}/name"))?;
    let namespace = label(workload, &format!("{prefix}/namespace"))?;
    Some(Claim { tool, namespace: namespace.into(), name: name.into(), marked_by: format!("{prefix}/name") })
}

fn argocd_annotation_claim(workload: &Value, argocd: &ArgoCdTracking) -> Option<Claim> {
    let id = objects::annotation(workload, ARGOCD_TRACKING_ID)?;
    let (app, tracked) = id.split_once(':')?;
    // A copy of another application's object keeps that application's id;
    // Argo CD itself tracks an object only when the id names the object.
    if tracked != tracking_key(workload)? {
        return None;
    }
    let (namespace, name) = app_name(app, argocd);
    Some(Claim { tool: Tool::ArgoCdApplication, namespace, name, marked_by: ARGOCD_TRACKING_ID.into() })
}

fn argocd_label_claim(workload: &Value, argocd: &ArgoCdTracking) -> Option<Claim> {
    let app = label(workload, ARGOCD_INSTANCE_LABEL)?;
    let (namespace, name) = app_name(app, argocd);
    Some(Claim { tool: Tool::ArgoCdApplication, namespace, name, marked_by: ARGOCD_INSTANCE_LABEL.into() })
}

/// `<group>/<kind>:<namespace>/<name>` of the workload, as Argo CD writes it.
fn tracking_key(workload: &Value) -> Option<String> {
    let api_version = workload.get("apiVersion")?.as_str()?;
    let kind = objects::kind(workload)?;
    let name = objects::name(workload)?;
    let namespace = objects::namespace(workload).unwrap_or_default();
    Some(format!("{}/{kind}:{namespace}/{name}", objects::group_of(api_version)))
}

/// An Application's namespace and name from its tracking name.
fn app_name(app: &str, argocd: &ArgoCdTracking) -> (String, String) {
    match app.split_once('_') {
        Some((namespace, name)) => (namespace.into(), name.into()),
        None => (argocd.namespace.clone(), app.into()),
    }
}

/// What the owner object says about itself and the workload.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OwnerStatus {
    /// Its status lists the workload among the objects it applies.
    pub confirmed: bool,
    /// Reconciliation is suspended: Flux's `spec.suspend`, Argo CD's
    /// `argocd.argoproj.io/skip-reconcile: "true"`.
    pub suspended: bool,
    /// Argo CD: automated sync is on (`spec.syncPolicy.automated`); none
    /// for Flux, which always reconciles on its interval.
    pub automated: Option<bool>,
    /// Argo CD: automated sync undoes changes made in the cluster.
    pub self_heal: Option<bool>,
    /// The source revision it last applied: Flux's
    /// `status.lastAppliedRevision`, Argo CD's `status.sync.revision`.
    pub revision: Option<String>,
}

/// Reads `owner`, the object `claim` names, as far as it concerns
/// `workload`.
pub fn owner_status(tool: Tool, owner: &Value, workload: &Value) -> OwnerStatus {
    let text = |path: &[&str]| at(owner, path).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    match tool {
        Tool::FluxKustomization | Tool::FluxHelmRelease => OwnerStatus {
            confirmed: tool == Tool::FluxKustomization && in_flux_inventory(owner, workload),
            suspended: at(owner, &["spec", "suspend"]) == Some(&Value::Bool(true)),
            automated: None,
            self_heal: None,
            revision: text(&["status", "lastAppliedRevision"]),
        },
        Tool::ArgoCdApplication => {
            let automated = at(owner, &["spec", "syncPolicy", "automated"]).filter(|a| a.is_object());
            let enabled = automated.is_some_and(|a| a.get("enabled") != Some(&Value::Bool(false)));
            OwnerStatus {
                confirmed: in_argocd_resources(owner, workload),
                suspended: objects::annotation(owner, "argocd.argoproj.io/skip-reconcile") == Some("true"),
                automated: Some(enabled),
                self_heal: Some(enabled && automated.and_then(|a| a.get("selfHeal")) == Some(&Value::Bool(true))),
                revision: text(&["status", "sync", "revision"]),
            }
        }
    }
}

/// Flux's inventory entries are `<namespace>_<name>_<group>_<kind>`.
fn in_flux_inventory(owner: &Value, workload: &Value) -> bool {
    let Some(entries) = at(owner, &["status", "inventory", "entries"]).and_then(Value::as_array) else {
        return false;
    };
    let Some(key) = objects::ObjectKey::of(workload) else { return false };
    let id = format!("{}_{}_{}_{}", key.namespace.as_deref().unwrap_or_default(), key.name, key.group(), key.kind);
    entries.iter().any(|entry| entry.get("id").and_then(Value::as_str) == Some(id.as_str()))
}

fn in_argocd_resources(owner: &Value, workload: &Value) -> bool {
    let Some(resources) = at(owner, &["status", "resources"]).and_then(Value::as_array) else { return false };
    let Some(key) = objects::ObjectKey::of(workload) else { return false };
    let field =
        |resource: &Value, name: &str| resource.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    resources.iter().any(|resource| {
        field(resource, "group") == key.group()
            && field(resource, "kind") == key.kind
            && field(resource, "namespace") == key.namespace.as_deref().unwrap_or_default()
            && field(resource, "name") == key.name
    })
}

#[cfg(test)]
mod tests;

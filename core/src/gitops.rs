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

use crate::objects::{self, ObjectSet, at};
use rewind_snapshot::{GitOps, GitOpsOwner, GitOpsTool, OwnerState, Text};
use serde_json::Value;

/// The GitOps tools and the object of each that applies workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    FluxKustomization,
    FluxHelmRelease,
    ArgoCdApplication,
}

impl Tool {
    pub const ALL: [Tool; 3] = [Tool::FluxKustomization, Tool::FluxHelmRelease, Tool::ArgoCdApplication];

    /// The version of the owner kind the host reads (each tool's current
    /// storage version).
    pub fn api_version(self) -> &'static str {
        match self {
            Tool::FluxKustomization => "kustomize.toolkit.fluxcd.io/v1",
            Tool::FluxHelmRelease => "helm.toolkit.fluxcd.io/v2",
            Tool::ArgoCdApplication => "argoproj.io/v1alpha1",
        }
    }

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
        // Free text the workload's writer chose: it names an object only as
        // a Kubernetes name, so it can never reach a request path (or a
        // message) as anything else.
        .filter(|claim| is_dns_label(&claim.namespace) && is_dns_subdomain(&claim.name))
}

/// RFC 1123 label: what a namespace's name is.
fn is_dns_label(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// RFC 1123 subdomain: what most objects' names are.
fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_dns_label)
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
    /// Its [`PAUSED_FOR`] annotation.
    pub paused_for: Option<String>,
}

/// The annotation a policy writes on an owner object outside the tree when
/// it changes the owner to pause it: `<namespace>/<name>` of the workload.
/// Only a policy of that workload resumes what it names; a person's pause
/// carries no such mark and is left alone.
pub const PAUSED_FOR: &str = "rewind.dev/paused-for";

/// Reads `owner`, the object `claim` names, as far as it concerns
/// `workload`.
pub fn owner_status(tool: Tool, owner: &Value, workload: &Value) -> OwnerStatus {
    let text = |path: &[&str]| at(owner, path).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    match tool {
        // The revision last *attempted*: a Kustomization that waits for
        // health moves `lastAppliedRevision` only once the new revision is
        // healthy, so while it fails that field names the last good one;
        // a HelmRelease (v2) writes only the attempted one.
        Tool::FluxKustomization | Tool::FluxHelmRelease => OwnerStatus {
            confirmed: tool == Tool::FluxKustomization && in_flux_inventory(owner, workload),
            suspended: at(owner, &["spec", "suspend"]) == Some(&Value::Bool(true)),
            automated: None,
            // A HelmRelease corrects drift only with drift detection
            // `enabled` (it is `disabled` unless set).
            self_heal: (tool == Tool::FluxHelmRelease)
                .then(|| at(owner, &["spec", "driftDetection", "mode"]).and_then(Value::as_str) == Some("enabled")),
            revision: text(&["status", "lastAttemptedRevision"]).or_else(|| text(&["status", "lastAppliedRevision"])),
            paused_for: objects::annotation(owner, PAUSED_FOR).map(str::to_string),
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
                paused_for: objects::annotation(owner, PAUSED_FOR).map(str::to_string),
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

/// The kind of object that records what became of looking an owner up
/// when the owner itself could not be added to the object set: written by
/// the controller and by `rewind capture`, read like any dump object.
pub const LOOKUP_KIND: &str = "GitOpsLookup";
pub const LOOKUP_API_VERSION: &str = "rewind.dev/v1alpha1";

/// What looking the owner up found, when it is not in the set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupResult {
    /// The API server answered that it does not exist.
    Missing,
    /// It could not be read, and why.
    Unreadable(String),
}

/// The lookup record of `claim`'s owner with `result`, to put beside the
/// workload's objects.
pub fn lookup_record(claim: &Claim, result: &LookupResult) -> Value {
    let (result, reason) = match result {
        LookupResult::Missing => ("Missing", None),
        LookupResult::Unreadable(reason) => ("Unreadable", Some(reason.as_str())),
    };
    serde_json::json!({
        "apiVersion": LOOKUP_API_VERSION, "kind": LOOKUP_KIND,
        "metadata": {"name": claim.name, "namespace": claim.namespace},
        "owner": {"group": claim.tool.group(), "kind": claim.tool.kind()},
        "result": result, "reason": reason,
    })
}

/// The snapshot's GitOps section for `workload`: its owner as `set` holds
/// it (the object itself, or the record of a failed lookup), or, when the
/// set holds neither, unreadable because it is not there.
pub fn section(set: &ObjectSet, workload: &Value, argocd: &ArgoCdTracking) -> Option<GitOps<'static>> {
    let claim = claim(workload, argocd)?;
    let owner = find_owner(set, &claim).map_or_else(
        || lookup_of(set, &claim, workload),
        |owner| {
            let status = owner_status(claim.tool, owner, workload);
            // Anyone who may label the workload may name any owner: what an
            // owner in another namespace says is shown only when it lists
            // the workload, so a mark does not read another team's object.
            if elsewhere(&claim, workload) && !status.confirmed {
                return unconfirmed_elsewhere(&claim);
            }
            GitOpsOwner::Found(OwnerState {
                confirmed: status.confirmed,
                suspended: status.suspended,
                automated: status.automated,
                self_heal: status.self_heal,
                revision: status.revision.as_deref().map(Text::copied),
                paused_for: status.paused_for.as_deref().map(Text::copied),
            })
        },
    );
    Some(GitOps {
        tool: match claim.tool {
            Tool::FluxKustomization => GitOpsTool::FluxKustomization,
            Tool::FluxHelmRelease => GitOpsTool::FluxHelmRelease,
            Tool::ArgoCdApplication => GitOpsTool::ArgoCdApplication,
        },
        namespace: Text::copied(&claim.namespace),
        name: Text::copied(&claim.name),
        marked_by: Text::copied(&claim.marked_by),
        owner,
    })
}

/// The key of the owner that applies `workload`, when the set holds it and
/// its status confirms it.
pub fn confirmed_owner(set: &ObjectSet, workload: &Value, argocd: &ArgoCdTracking) -> Option<objects::ObjectKey> {
    let claim = claim(workload, argocd)?;
    let owner = find_owner(set, &claim)?;
    owner_status(claim.tool, owner, workload).confirmed.then(|| objects::ObjectKey::of(owner)).flatten()
}

/// The owner object `claim` names, if the set holds it.
pub fn find_owner<'s>(set: &'s ObjectSet, claim: &Claim) -> Option<&'s Value> {
    let (group, kind) = (claim.tool.group(), claim.tool.kind());
    set.find_by_kind_name(kind, &claim.namespace, &claim.name)
        .into_iter()
        .filter_map(|id| set.get(id))
        .find(|object| object.get("apiVersion").and_then(Value::as_str).map(objects::group_of) == Some(group))
}

fn elsewhere(claim: &Claim, workload: &Value) -> bool {
    Some(claim.namespace.as_str()) != objects::namespace(workload)
}

fn unconfirmed_elsewhere(claim: &Claim) -> GitOpsOwner<'static> {
    GitOpsOwner::Unreadable(Text::copied(&format!(
        "{}/{} in namespace {} does not list this workload among the objects it applies",
        claim.tool.kind(),
        claim.name,
        claim.namespace
    )))
}

fn lookup_of(set: &ObjectSet, claim: &Claim, workload: &Value) -> GitOpsOwner<'static> {
    let record = set
        .find_by_kind_name(LOOKUP_KIND, &claim.namespace, &claim.name)
        .into_iter()
        .filter_map(|id| set.get(id))
        .find(|record| {
            at(record, &["owner", "group"]).and_then(Value::as_str) == Some(claim.tool.group())
                && at(record, &["owner", "kind"]).and_then(Value::as_str) == Some(claim.tool.kind())
        });
    match record.and_then(|r| r.get("result")).and_then(Value::as_str) {
        // Whether an object exists in another namespace is not the
        // workload's writer's to learn: said as an owner that does not
        // confirm the workload is.
        Some("Missing") if elsewhere(claim, workload) => unconfirmed_elsewhere(claim),
        Some("Missing") => GitOpsOwner::Missing,
        Some(_) => {
            let reason = record.and_then(|r| r.get("reason")).and_then(Value::as_str).unwrap_or("it could not be read");
            GitOpsOwner::Unreadable(Text::copied(reason))
        }
        None => GitOpsOwner::Unreadable(Text::copied(&format!(
            "{}/{} in namespace {} is not among the objects read",
            claim.tool.kind(),
            claim.name,
            claim.namespace
        ))),
    }
}

#[cfg(test)]
mod tests;

//! The snapshot's GitOps section (contract 0.5.0 on): the object of a GitOps
//! tool that applies the workload, as the workload's marks name it, and
//! what that object says about itself.

use crate::Text;
use serde::{Deserialize, Serialize};

/// Which tool applies the workload, through which kind of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum GitOpsTool {
    /// A Flux Kustomization (`kustomize.toolkit.fluxcd.io`).
    FluxKustomization,
    /// A Flux HelmRelease (`helm.toolkit.fluxcd.io`).
    FluxHelmRelease,
    /// An Argo CD Application (`argoproj.io`).
    ArgoCdApplication,
}

/// The GitOps object the workload's marks name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct GitOps<'a> {
    /// The tool, and so the owner's group and kind.
    pub tool: GitOpsTool,
    /// The owner's namespace.
    #[serde(borrow)]
    pub namespace: Text<'a>,
    /// The owner's name.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// The label or annotation of the workload that names the owner
    /// (`kustomize.toolkit.fluxcd.io/name`, `argocd.argoproj.io/tracking-id`, …).
    #[serde(borrow)]
    pub marked_by: Text<'a>,
    /// The owner object as the host found it.
    #[serde(borrow)]
    pub owner: GitOpsOwner<'a>,
}

/// What became of looking the owner up. Its absence is stated, never
/// guessed: a policy must not treat an unreadable owner as a missing one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum GitOpsOwner<'a> {
    /// The owner was read.
    Found(#[serde(borrow)] OwnerState<'a>),
    /// The API server says no such object exists.
    Missing,
    /// It could not be read: why (the controller may not read that kind,
    /// the dump does not hold it).
    Unreadable(#[serde(borrow)] Text<'a>),
}

/// What the owner object says about itself and the workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct OwnerState<'a> {
    /// Its own status lists the workload among the objects it applies
    /// (Flux's inventory, Argo CD's resources). A HelmRelease lists none, so
    /// it is never confirmed; the host acts on an owner only when it is.
    pub confirmed: bool,
    /// Its reconciliation is suspended: Flux's `spec.suspend`, Argo CD's
    /// `argocd.argoproj.io/skip-reconcile: "true"`.
    pub suspended: bool,
    /// Argo CD: automated sync is on. Absent for Flux, which always
    /// reconciles on its interval.
    pub automated: Option<bool>,
    /// Argo CD: automated sync undoes changes made in the cluster. Absent
    /// for Flux.
    pub self_heal: Option<bool>,
    /// The source revision it last applied: Flux's
    /// `status.lastAppliedRevision`, Argo CD's `status.sync.revision`;
    /// absent when it has none.
    #[serde(borrow)]
    pub revision: Option<Text<'a>>,
    /// The owner's `rewind.dev/paused-for` annotation: the workload
    /// (`<namespace>/<name>`) for which a policy changed the owner to pause
    /// it, so that only what rewind paused is resumed. Absent when unset.
    #[serde(borrow)]
    pub paused_for: Option<Text<'a>>,
}

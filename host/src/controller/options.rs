//! What the cluster operator decides for the whole controller, at start.

use std::path::PathBuf;

/// What the operator decides for the whole controller.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Modules downloaded for RolloutPolicies are cached below it.
    pub cache_root: Option<PathBuf>,
    /// The only Prometheus base URLs RolloutPolicies may name; empty: any.
    pub prometheus_addresses: Vec<String>,
    /// The controller's own registry credentials (each for its registry).
    pub registry_credentials: crate::distribution::Credentials,
    /// Where module paths may point: bundled policies directly in it,
    /// custom ones below `custom/` (default `/policies`, as in the image).
    pub policies_dir: Option<PathBuf>,
    /// How the cluster's Argo CD tracks what it applies.
    pub argocd: crate::gitops::ArgoCdTracking,
}

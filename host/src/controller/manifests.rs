//! The CRDs the controller serves, as the chart installs them and `rewind
//! crd` prints them.

use super::bound::RolloutPolicyBound;
use super::configuration::ReleaseConfiguration;
use super::crd::{RolloutDecision, RolloutPolicy};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// The CRDs the controller serves, with schemas the API server takes
/// without warnings: schemars' unsigned formats (`uint32`, `uint64`) are not
/// OpenAPI formats Kubernetes knows, so they are dropped (the `minimum: 0`
/// beside them keeps the meaning).
pub fn crds() -> [CustomResourceDefinition; 4] {
    use kube::CustomResourceExt;
    [RolloutPolicy::crd(), RolloutDecision::crd(), RolloutPolicyBound::crd(), ReleaseConfiguration::crd()].map(|crd| {
        let mut value = serde_json::to_value(crd).expect("a CRD serializes");
        drop_unknown_formats(&mut value);
        serde_json::from_value(value).expect("a CRD without formats is a CRD")
    })
}

fn drop_unknown_formats(value: &mut Value) {
    const KUBERNETES_INTEGER_FORMATS: [&str; 2] = ["int32", "int64"];
    match value {
        Value::Object(map) => {
            let integer = map.get("type").and_then(|t| t.as_str()) == Some("integer");
            let format = map.get("format").and_then(|f| f.as_str());
            if integer && format.is_some_and(|f| !KUBERNETES_INTEGER_FORMATS.contains(&f)) {
                map.remove("format");
            }
            map.values_mut().for_each(drop_unknown_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_unknown_formats),
        _ => {}
    }
}

/// The CRDs as YAML documents, for `rewind crd`.
pub fn crd_yaml() -> String {
    crds().map(|crd| serde_yaml::to_string(&crd).expect("the CRD serializes")).join("---\n")
}

#[cfg(test)]
mod manifest_tests {
    /// The Helm chart installs these CRDs (and `deploy/`, rendered from the
    /// chart): they must be the ones the controller is built with.
    #[test]
    fn the_chart_holds_the_current_crds() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/helm/rewind/crds/rewind.dev.yaml");
        let manifest = std::fs::read_to_string(path).expect("the chart's CRDs");
        assert!(
            manifest == super::crd_yaml(),
            "deploy/helm/rewind/crds/rewind.dev.yaml differs from `rewind crd`: run \
             `rewind crd > deploy/helm/rewind/crds/rewind.dev.yaml && scripts/render-deploy.sh`"
        );
    }

    /// The API server warns about formats it does not know on every apply.
    #[test]
    fn the_crds_name_only_formats_kubernetes_knows() {
        let yaml = super::crd_yaml();
        let formats: Vec<&str> = yaml.lines().filter_map(|line| line.trim().strip_prefix("format: ")).collect();
        assert!(formats.iter().all(|f| ["int32", "int64", "date-time"].contains(f)), "{formats:?}");
    }
}

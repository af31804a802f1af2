use super::*;
use serde_json::json;

fn deployment(labels: Value, annotations: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "shop", "labels": labels, "annotations": annotations}})
}

fn argocd() -> ArgoCdTracking {
    ArgoCdTracking::default()
}

#[test]
fn flux_labels_name_the_kustomization_first() {
    let workload = deployment(
        json!({"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
               "helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "shop"}),
        json!({}),
    );
    let claim = claim(&workload, &argocd()).unwrap();
    assert_eq!(
        (claim.tool, claim.namespace.as_str(), claim.name.as_str()),
        (Tool::FluxKustomization, "flux-system", "apps")
    );
    assert_eq!(claim.marked_by, "kustomize.toolkit.fluxcd.io/name");
}

#[test]
fn a_helm_release_is_named_by_its_own_labels() {
    let workload = deployment(
        json!({"helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "shop"}),
        json!({}),
    );
    let claim = claim(&workload, &argocd()).unwrap();
    assert_eq!((claim.tool, claim.name.as_str()), (Tool::FluxHelmRelease, "web"));
}

/// Half a mark names nothing: both the name and the namespace are needed.
#[test]
fn a_flux_name_without_its_namespace_is_no_claim() {
    let workload = deployment(json!({"kustomize.toolkit.fluxcd.io/name": "apps"}), json!({}));
    assert_eq!(claim(&workload, &argocd()), None);
}

#[test]
fn the_argocd_tracking_id_names_the_application() {
    let id = "shop-app:apps/Deployment:shop/web";
    let claim = claim(&deployment(json!({}), json!({ARGOCD_TRACKING_ID: id})), &argocd()).unwrap();
    assert_eq!(
        (claim.tool, claim.namespace.as_str(), claim.name.as_str()),
        (Tool::ArgoCdApplication, "argocd", "shop-app")
    );
    // Applications in any namespace are written `<namespace>_<name>`.
    let id = "team-a_shop-app:apps/Deployment:shop/web";
    let claim = super::claim(&deployment(json!({}), json!({ARGOCD_TRACKING_ID: id})), &argocd()).unwrap();
    assert_eq!((claim.namespace.as_str(), claim.name.as_str()), ("team-a", "shop-app"));
}

/// A copied object keeps the id of the object it was copied from: Argo CD
/// does not track it, and neither does rewind.
#[test]
fn a_tracking_id_of_another_object_is_no_claim() {
    for id in ["shop-app:apps/Deployment:shop/api", "shop-app:apps/StatefulSet:shop/web", "garbage"] {
        assert_eq!(claim(&deployment(json!({}), json!({ARGOCD_TRACKING_ID: id})), &argocd()), None, "{id}");
    }
}

#[test]
fn the_instance_label_counts_only_where_argocd_tracks_by_label() {
    let workload = deployment(json!({ARGOCD_INSTANCE_LABEL: "shop-app"}), json!({}));
    assert_eq!(claim(&workload, &argocd()), None);
    let by_label = ArgoCdTracking { by_label: true, ..argocd() };
    let claim = claim(&workload, &by_label).unwrap();
    assert_eq!((claim.name.as_str(), claim.marked_by.as_str()), ("shop-app", ARGOCD_INSTANCE_LABEL));
}

#[test]
fn a_kustomization_confirms_what_its_inventory_lists() {
    let workload = deployment(json!({}), json!({}));
    let kustomization = json!({"spec": {"suspend": true}, "status": {"lastAppliedRevision": "v2@sha256:ab",
        "inventory": {"entries": [{"id": "shop_web_apps_Deployment", "v": "v1"}]}}});
    let status = owner_status(Tool::FluxKustomization, &kustomization, &workload);
    assert_eq!(
        status,
        OwnerStatus {
            confirmed: true,
            suspended: true,
            automated: None,
            self_heal: None,
            revision: Some("v2@sha256:ab".into()),
            paused_for: None,
        }
    );
    let elsewhere = json!({"status": {"inventory": {"entries": [{"id": "shop_api_apps_Deployment"}]}}});
    assert!(!owner_status(Tool::FluxKustomization, &elsewhere, &workload).confirmed);
}

/// A HelmRelease lists no objects, so its marks stay a claim.
#[test]
fn a_helm_release_is_never_confirmed() {
    let release = json!({"status": {"lastAppliedRevision": "1.2.0"}});
    let status = owner_status(Tool::FluxHelmRelease, &release, &deployment(json!({}), json!({})));
    assert!(!status.confirmed && status.revision.as_deref() == Some("1.2.0"));
}

#[test]
fn an_application_says_how_it_syncs() {
    let workload = deployment(json!({}), json!({}));
    let application = json!({
        "metadata": {"annotations": {"argocd.argoproj.io/skip-reconcile": "true", PAUSED_FOR: "shop/web"}},
        "spec": {"syncPolicy": {"automated": {"selfHeal": true, "prune": true}}},
        "status": {"sync": {"revision": "4f2c9e1"},
                   "resources": [{"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web"}]}});
    let status = owner_status(Tool::ArgoCdApplication, &application, &workload);
    assert_eq!(
        status,
        OwnerStatus {
            confirmed: true,
            suspended: true,
            automated: Some(true),
            self_heal: Some(true),
            revision: Some("4f2c9e1".into()),
            paused_for: Some("shop/web".into()),
        }
    );
    let manual = json!({"spec": {"syncPolicy": {}}});
    let status = owner_status(Tool::ArgoCdApplication, &manual, &workload);
    assert_eq!((status.confirmed, status.automated, status.self_heal), (false, Some(false), Some(false)));
    let disabled = json!({"spec": {"syncPolicy": {"automated": {"enabled": false, "selfHeal": true}}}});
    assert_eq!(owner_status(Tool::ArgoCdApplication, &disabled, &workload).self_heal, Some(false));
}

/// Where an installation tracks by label, the evaluation's snapshot names
/// the Application its label names, found in the set in Argo CD's namespace.
#[test]
fn the_snapshot_names_the_application_of_an_installation_that_tracks_by_label() {
    let mut set = ObjectSet::new();
    let origin = || crate::objects::Origin("test".into());
    set.insert(deployment(json!({ARGOCD_INSTANCE_LABEL: "shop-app"}), json!({})), origin()).unwrap();
    let application = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "shop-app", "namespace": "gitops-control"},
        "status": {"sync": {"revision": "9a8b7c6"},
                   "resources": [{"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web"}]}});
    set.insert(application, origin()).unwrap();
    let workload = set.get(set.find_by_kind_name("Deployment", "shop", "web")[0]).unwrap().clone();
    assert_eq!(section(&set, &workload, &argocd()), None, "by annotation, the label names nothing");
    let by_label = ArgoCdTracking { namespace: "gitops-control".into(), by_label: true };
    let gitops = section(&set, &workload, &by_label).expect("a section");
    let GitOpsOwner::Found(state) = &gitops.owner else { panic!("{gitops:?}") };
    assert!(state.confirmed && state.revision.as_deref() == Some("9a8b7c6"), "{state:?}");
    assert!(confirmed_owner(&set, &workload, &by_label).is_some());
    assert!(confirmed_owner(&set, &workload, &argocd()).is_none());
}

/// A mark naming another namespace's Kustomization that does not list the
/// workload reads nothing of it.
#[test]
fn an_owner_elsewhere_that_does_not_list_the_workload_is_not_shown() {
    let mut set = ObjectSet::new();
    let origin = || crate::objects::Origin("test".into());
    let labels =
        json!({"kustomize.toolkit.fluxcd.io/name": "payments", "kustomize.toolkit.fluxcd.io/namespace": "team-b"});
    set.insert(deployment(labels, json!({})), origin()).unwrap();
    let theirs = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "payments", "namespace": "team-b"},
        "spec": {"suspend": true}, "status": {"lastAppliedRevision": "main@sha1:secret",
        "inventory": {"entries": [{"id": "team-b_payments_apps_Deployment", "v": "v1"}]}}});
    set.insert(theirs, origin()).unwrap();
    let workload = set.get(set.find_by_kind_name("Deployment", "shop", "web")[0]).unwrap().clone();
    let gitops = section(&set, &workload, &argocd()).expect("a section");
    let GitOpsOwner::Unreadable(why) = &gitops.owner else { panic!("{gitops:?}") };
    assert!(why.contains("does not list this workload") && !why.contains("secret"), "{why}");
}

/// A mark's names reach requests only as Kubernetes names.
#[test]
fn marks_that_are_not_kubernetes_names_name_nothing() {
    for (name, namespace) in [("apps/../x", "flux-system"), ("apps", "flux system"), ("apps?watch=1", "f"), ("", "f")] {
        let labels =
            json!({"kustomize.toolkit.fluxcd.io/name": name, "kustomize.toolkit.fluxcd.io/namespace": namespace});
        assert_eq!(claim(&deployment(labels, json!({})), &argocd()), None, "{name} {namespace}");
    }
    let id = "team/a_shop:apps/Deployment:shop/web";
    assert_eq!(claim(&deployment(json!({}), json!({ARGOCD_TRACKING_ID: id})), &argocd()), None);
}

/// The revision a Flux object last attempted: the one that is failing, not
/// the last healthy one a waiting Kustomization still reports as applied.
#[test]
fn flux_owners_report_the_revision_they_attempted() {
    let kustomization =
        json!({"status": {"lastAppliedRevision": "main@sha1:good", "lastAttemptedRevision": "main@sha1:bad"}});
    let status = owner_status(Tool::FluxKustomization, &kustomization, &deployment(json!({}), json!({})));
    assert_eq!(status.revision.as_deref(), Some("main@sha1:bad"));
    // A HelmRelease undoes changes only with drift detection enabled.
    let release = json!({"spec": {"driftDetection": {"mode": "warn"}}, "status": {"lastAttemptedRevision": "1.4.0"}});
    let status = owner_status(Tool::FluxHelmRelease, &release, &deployment(json!({}), json!({})));
    assert_eq!((status.self_heal, status.revision.as_deref()), (Some(false), Some("1.4.0")));
}

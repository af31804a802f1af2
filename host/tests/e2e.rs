//! The controller against a real cluster of the current Kubernetes release
//! (`scripts/e2e.sh` starts it, sets REWIND_E2E_KUBECONFIG and runs these
//! ignored tests). kwok plays the nodes' kubelets (scripts/kwok-stages.yaml):
//! pods become Running and Ready, except that a container whose image is
//! tagged `unpullable` stays in ImagePullBackOff and one tagged `crashing`
//! crash-loops, so the tests only choose images.

mod common;
use common::cluster::*;
use common::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use rewind::controller::crd::RolloutPolicy;
use rewind::controller::metrics::Metrics;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn ago(seconds: i64) -> String {
    rewind::time::format(jiff::Timestamp::now().as_second() - seconds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn the_controller_rolls_back_a_failing_deployment_once_and_dry_run_changes_nothing() {
    let client = client().await;
    install_crd(&client).await;
    let metrics = Metrics::default();
    let _controller = start_controller_with(&client, metrics.clone());

    // Enforce: rolled back to revision 1, exactly once, with an Event.
    let (deployments, _pods) = failing_rollout(&client, "e2e-enforce").await;
    rollout_policy(&client, "e2e-enforce", "Enforce", 1).await;
    eventually("the rollback", async || {
        let d = deployments.get("web").await.ok()?;
        (template_image(&d) == "shop/web:1").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(events(&client, "e2e-enforce", "RollingBack").await, 1, "one rollback, one event");
    assert_eq!(events(&client, "e2e-enforce", "RewindAction").await, 1, "the executed rollback is recorded");
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "e2e-enforce");
    assert_eq!(replica_sets.list(&ListParams::default()).await.unwrap().items.len(), 2, "no third revision");
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), "e2e-enforce");
    let status = policies.get("web").await.unwrap().status.unwrap();
    let ready = status.conditions.iter().find(|c| c.kind == "PolicyReady").unwrap();
    assert_eq!(ready.status, "True", "{:?}", status.conditions);
    let recorded = decision(&client, "e2e-enforce", "deployment-web").await.expect("a decision about web");
    assert_eq!(recorded.rollbacks.len(), 1, "{recorded:?}");

    // DryRun: the decision is reported, nothing changes.
    let (deployments, _pods) = failing_rollout(&client, "e2e-dry-run").await;
    rollout_policy(&client, "e2e-dry-run", "DryRun", 3).await;
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), "e2e-dry-run");
    let planned: Value = eventually("the planned rollback", async || {
        let workload = decision(&client, "e2e-dry-run", "deployment-web").await?;
        (workload.release.as_deref() == Some("1")).then(|| workload.actions[0].clone())
    })
    .await;
    assert_eq!(planned["type"], "rollback");
    let deployment_sha = policies.get("web").await.unwrap().status.unwrap().policy_sha256.unwrap();
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:unpullable");
    assert!(events(&client, "e2e-dry-run", "WouldRollback").await >= 1);
    assert_eq!(events(&client, "e2e-dry-run", "RollingBack").await, 0);

    // Swapping the module changes the behaviour without a restart, whether
    // the file the RolloutPolicy names changes on disk or it names another
    // module: the hostile test policy (behaving) announces itself.
    let hostile = component("tests/components/hostile").display().to_string();
    // Below custom/ of the controller's policies directory: no other path
    // is loaded.
    let custom = component("plugins/deployment").parent().unwrap().join("custom");
    std::fs::create_dir_all(&custom).unwrap();
    let live_dir = tempfile::tempdir_in(&custom).unwrap();
    let live = live_dir.path().join("policy.wasm");
    std::fs::copy(component("plugins/deployment"), &live).unwrap();
    let moved = json!({"spec": {"policy": {"module": live.display().to_string()}}});
    policies.patch("web", &PatchParams::default(), &Patch::Merge(&moved)).await.unwrap();
    eventually("the module at its new path", async || {
        let status = policies.get("web").await.ok()?.status?;
        let ready = status.conditions.iter().find(|c| c.kind == "PolicyReady")?;
        (ready.reason == "Loaded" && ready.message.contains(live.to_str()?)).then_some(())
    })
    .await;
    std::fs::copy(&hostile, &live).unwrap();
    eventually("the changed file to decide", async || {
        let status = policies.get("web").await.ok()?.status?;
        let planned = decision(&client, "e2e-dry-run", "deployment-web").await?.actions;
        let hostile_decided = planned.iter().any(|a| a["reason"] == "HostileSelected");
        (hostile_decided && status.policy_sha256.as_deref() != Some(deployment_sha.as_str())).then_some(())
    })
    .await;
    // A module that fails to load leaves the previous one serving.
    let missing = custom.join("nonexistent/policy.wasm").display().to_string();
    let broken = json!({"spec": {"policy": {"module": missing}}});
    policies.patch("web", &PatchParams::default(), &Patch::Merge(&broken)).await.unwrap();
    let condition = eventually("the load failure to be reported", async || {
        let status = policies.get("web").await.ok()?.status?;
        status.conditions.into_iter().find(|c| c.kind == "PolicyReady" && c.status == "False")
    })
    .await;
    assert!(condition.message.contains(&missing), "{condition:?}");
    assert!(condition.message.contains("previous module keeps serving"), "{condition:?}");
    let status = policies.get("web").await.unwrap().status.unwrap();
    assert_ne!(status.policy_sha256.as_deref(), Some(deployment_sha.as_str()), "the hostile module still serves");

    // A policy that loops: the error is in the status, a Warning event and
    // the policy-error metric, and nothing is done.
    let looping = json!({"spec": {"policy": {"module": hostile}, "settings": {"attack": "loop"}}});
    policies.patch("web", &PatchParams::default(), &Patch::Merge(&looping)).await.unwrap();
    let error = eventually("the policy error in the status", async || {
        let errors = decision(&client, "e2e-dry-run", "deployment-web").await?.errors;
        errors.into_iter().find(|e| e.contains("exceeded its time limit"))
    })
    .await;
    assert!(error.contains("hostile.wasm"), "{error}");
    assert!(events(&client, "e2e-dry-run", "PolicyError").await >= 1);
    assert!(metrics.render().contains("rewind_policy_errors_total{policy="), "{}", metrics.render());
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:unpullable");

    // Flap guard (1 automatic rollback per hour in e2e-enforce): a second
    // failing rollout is left alone and reported.
    let enforce: Api<Deployment> = Api::namespaced(client.clone(), "e2e-enforce");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "e2e-enforce");
    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:crashing"}]}}}});
    enforce.patch("web", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    pod_in_state(&pods, "shop/web:crashing", Some("CrashLoopBackOff")).await;
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), "e2e-enforce");
    eventually("the flap guard", async || {
        decision(&client, "e2e-enforce", "deployment-web").await?.flap_guard_tripped.then_some(())
    })
    .await;
    assert_eq!(template_image(&enforce.get("web").await.unwrap()), "shop/web:crashing", "not rolled back again");
    assert_eq!(events(&client, "e2e-enforce", "RollingBack").await, 1);
    assert!(events(&client, "e2e-enforce", "FlapGuard").await >= 1);
    // The policy's status follows its decisions' counts within a second or so.
    let guard = eventually("the FlapGuard condition", async || {
        let status = policies.get("web").await.ok()?.status?;
        let guard = status.conditions.into_iter().find(|c| c.kind == "FlapGuard")?;
        (guard.status == "True").then_some(guard)
    })
    .await;
    assert_eq!(guard.reason, "TooManyRollbacks");
    let counts = policies.get("web").await.unwrap().status.unwrap().counts;
    assert_eq!((counts.workloads, counts.flap_guard_tripped), (1, 1), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn only_one_replica_holds_the_lease() {
    use k8s_openapi::api::coordination::v1::Lease;
    use rewind::controller::leader::try_hold;
    let client = client().await;
    // The Helm release's namespace and Lease (scripts/e2e.sh), whose Role
    // lets the controller's account hold that Lease and no other.
    let namespace = std::env::var("REWIND_E2E_CONTROLLER_NAMESPACE").unwrap_or_else(|_| "default".into());
    let name = std::env::var("REWIND_E2E_LEASE").unwrap_or_else(|_| "e2e-lease".into());
    let leases: Api<Lease> = Api::namespaced(controller_client(&client).await, &namespace);
    assert!(try_hold(&leases, &name, "replica-a").await.unwrap(), "the first candidate takes it");
    assert!(!try_hold(&leases, &name, "replica-b").await.unwrap(), "a second one does not");
    assert!(try_hold(&leases, &name, "replica-a").await.unwrap(), "the holder renews");
    if std::env::var_os("REWIND_E2E_CONTROLLER_KUBECONFIG").is_some() {
        let admin: Api<Lease> = Api::namespaced(client, &namespace);
        let other: Lease = serde_json::from_value(json!({"metadata": {"name": "another-controller"}})).unwrap();
        admin.create(&PostParams::default(), &other).await.unwrap();
        let refused = try_hold(&leases, "another-controller", "replica-a").await.unwrap_err();
        assert!(matches!(&refused, kube::Error::Api(status) if status.code == 403), "{refused}");
    }
}

/// A Deployment owned by the MetadataServices resource, as the operator
/// would create it.
fn strategy_deployment(namespace: &str, owner_uid: &str, component: &str, strategy: &str, tag: &str) -> Deployment {
    let name = format!("sample1-{component}-{strategy}");
    let labels = json!({"app": format!("sample1-{component}"), "strategy": strategy});
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                     "ownerReferences": [{"apiVersion": "e6data.io/v1alpha1", "kind": "MetadataServices", "name": "sample1",
                                          "uid": owner_uid, "controller": true}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": format!("e6/{component}:{tag}")}]}}}
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn the_blue_green_policy_rolls_back_a_failing_green_strategy() {
    use kube::api::{ApiResource, DynamicObject};
    use kube::core::GroupVersionKind;
    let client = client().await;
    install_crd(&client).await;
    start_controller(&client);
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd_text = std::fs::read_to_string(workspace().join("examples/bluegreen/crd.yaml")).unwrap();
    let crd: CustomResourceDefinition = serde_yaml::from_str(&crd_text).unwrap();
    if crds.get_opt("metadataservices.e6data.io").await.unwrap().is_none() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let gvk = GroupVersionKind::gvk("e6data.io", "v1alpha1", "MetadataServices");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "metadataservices");
    let namespace = "e2e-bluegreen";
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap())
        .await
        .unwrap();
    let resources: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let created = eventually("the MetadataServices kind to be served", async || {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "e6data.io/v1alpha1", "kind": "MetadataServices",
            "metadata": {"name": "sample1", "namespace": namespace},
            "spec": {"storage": {"imageTag": "v2"}, "schema": {"imageTag": "v2"}}
        }))
        .unwrap();
        match resources.create(&PostParams::default(), &object).await {
            Ok(created) => Some(created),
            Err(error) => {
                eprintln!("not yet: {error}");
                None
            }
        }
    })
    .await;
    // The operator's bookkeeping while green deploys, as its guide shows it:
    // the new release already reads Active and is activeReleaseVersion.
    let history = json!([
        {"version": "r1", "strategy": "blue", "storageTag": "v1", "schemaTag": "v1", "timestamp": ago(7200), "status": "Superseded"},
        {"version": "r2", "strategy": "green", "storageTag": "unpullable", "schemaTag": "unpullable", "timestamp": ago(60), "status": "Active"}
    ]);
    let status = json!({"status": {"activeStrategy": "blue", "activeReleaseVersion": "r2", "deploymentPhase": "Deploying",
                                   "releaseHistory": history}});
    resources.patch_status("sample1", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    let uid = created.metadata.uid.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for (strategy, tag) in [("blue", "v1"), ("green", "unpullable")] {
        for component in ["storage", "schema"] {
            let deployment = strategy_deployment(namespace, &uid, component, strategy, tag);
            deployments.create(&PostParams::default(), &deployment).await.unwrap();
            let image = format!("e6/{component}:{tag}");
            pod_in_state(&pods, &image, (strategy == "green").then_some("ImagePullBackOff")).await;
        }
    }
    let policies: Api<RolloutPolicy> = Api::namespaced(client.clone(), namespace);
    // The operator gives what the policy declares: the image tags, the
    // status the operator reads, deleting the failed strategy's Deployment.
    let module = component("plugins/bluegreen");
    let declared = rewind_core::actions::needs::declared_grants(&std::fs::read(&module).unwrap()).unwrap();
    let grants: Vec<String> = declared.iter().map(ToString::to_string).collect();
    let policy: RolloutPolicy = serde_json::from_value(json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "metadataservices", "namespace": namespace},
        "spec": {"target": {"apiVersion": "e6data.io/v1alpha1", "kind": "MetadataServices"},
                 "policy": {"module": module.display().to_string()},
                 "settings": {"readyTimeoutSeconds": GRACE_SECONDS},
                 "mode": "Enforce", "resyncSeconds": 1, "grants": grants}
    }))
    .unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();

    let status = eventually("the automatic rollback", async || {
        let object = resources.get("sample1").await.ok()?;
        let status = object.data.get("status")?.clone();
        (status["deploymentPhase"] == "Stable").then_some(status)
    })
    .await;
    assert_eq!(status["activeStrategy"], "blue");
    assert_eq!(status["activeReleaseVersion"], "r1");
    assert_eq!(status["releaseHistory"][0]["status"], "Superseded");
    assert_eq!(status["releaseHistory"][1]["status"], "Failed");
    eventually("the green Deployments to go", async || {
        let names: Vec<String> = deployments
            .list(&ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .filter_map(|d| d.metadata.name)
            .collect();
        (names.len() == 2 && names.iter().all(|n| n.ends_with("-blue"))).then_some(())
    })
    .await;
    assert!(events(&client, namespace, "AutomaticRollback").await >= 1);

    // With resync out of the way, a change to the custom resource alone
    // (a manual rollback request) is seen through the dynamic watch.
    let slow = json!({"spec": {"resyncSeconds": 3600}});
    policies.patch("metadataservices", &PatchParams::default(), &Patch::Merge(&slow)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let request = json!({"metadata": {"annotations": {"e6data.io/rollback-to": "r1"}}});
    resources.patch("sample1", &PatchParams::default(), &Patch::Merge(&request)).await.unwrap();
    // r1 serves, but the spec still names r2's failed tags, which the
    // operator would deploy again on its next change: the request brings
    // the spec back to r1's tags and clears itself, as the guide's
    // walkthrough after an automatic rollback does.
    eventually("the request to restore r1's tags in the spec and clear itself", async || {
        let object = resources.get("sample1").await.ok()?;
        let pending = object.metadata.annotations.unwrap_or_default().contains_key("e6data.io/rollback-to");
        let tags = ["storage", "schema"].map(|component| object.data["spec"][component]["imageTag"].clone());
        (!pending && tags == [json!("v1"), json!("v1")]).then_some(())
    })
    .await;
    // The event follows the write that cleared the annotation.
    eventually("the ManualRollback event", async || {
        (events(&client, namespace, "ManualRollback").await >= 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_controller_killed_after_acting_and_restarted_does_not_act_twice() {
    let client = client().await;
    install_crd(&client).await;
    let (deployments, _pods) = failing_rollout(&client, "e2e-restart").await;
    rollout_policy(&client, "e2e-restart", "Enforce", 3).await;
    let first = start_controller(&client);
    eventually("the rollback", async || {
        (template_image(&deployments.get("web").await.ok()?) == "shop/web:1").then_some(())
    })
    .await;
    // Killed right after its write, whatever it had recorded by then.
    first.abort();
    let _second = start_controller(&client);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(template_image(&deployments.get("web").await.unwrap()), "shop/web:1");
    assert_eq!(events(&client, "e2e-restart", "RollingBack").await, 1, "one rollback across the restart");
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "e2e-restart");
    assert_eq!(replica_sets.list(&ListParams::default()).await.unwrap().items.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_concurrent_writer_is_never_overwritten() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let client = client().await;
    install_crd(&client).await;
    let (deployments, _pods) = failing_rollout(&client, "e2e-conflict").await;
    // Another writer keeps changing the Deployment while the controller
    // decides and acts: every write of the controller's that was decided on
    // an older version must fail (409) and be decided again, never
    // overwrite the other writer's change.
    let stop = Arc::new(AtomicBool::new(false));
    let last = Arc::new(AtomicU64::new(0));
    let writer = {
        let (deployments, stop, last) = (deployments.clone(), stop.clone(), last.clone());
        tokio::spawn(async move {
            for n in 1.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                // A label: a rollback, like `kubectl rollout undo`, replaces
                // the Deployment's annotations with its ReplicaSet's.
                let patch = json!({"metadata": {"labels": {"e2e-writer": n.to_string()}}});
                if deployments.patch("web", &PatchParams::default(), &Patch::Merge(&patch)).await.is_ok() {
                    last.store(n, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    rollout_policy(&client, "e2e-conflict", "Enforce", 3).await;
    let _controller = start_controller(&client);
    eventually("the rollback", async || {
        (template_image(&deployments.get("web").await.ok()?) == "shop/web:1").then_some(())
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let labels = deployments.get("web").await.unwrap().metadata.labels.unwrap();
    assert_eq!(
        labels["e2e-writer"],
        last.load(Ordering::SeqCst).to_string(),
        "the other writer's last change survived"
    );
    assert_eq!(events(&client, "e2e-conflict", "RollingBack").await, 1);
}

#[tokio::test]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn capture_writes_the_ownership_tree_without_secrets_and_eval_reads_it() {
    let client = client().await;
    let namespace = "capture";
    failing_rollout(&client, namespace).await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), namespace);
    let secret = json!({"metadata": {"name": "db-password"}, "stringData": {"password": "hunter2"}});
    secrets.create(&PostParams::default(), &serde_json::from_value(secret).unwrap()).await.unwrap();

    let kubeconfig = std::env::var("REWIND_E2E_KUBECONFIG").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("web.yaml");
    let workload = ["--target", "Deployment/web", "-n", namespace];
    let target = [&workload[..], &["--kubeconfig", &kubeconfig]].concat();
    let (code, stdout, stderr) = run_rewind(&[&["capture", "-o", dump.to_str().unwrap()], &target[..]].concat(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("Secret") && !text.contains("managedFields"), "{text}");
    let list: Value = serde_yaml::from_str(&text).unwrap();
    let kinds: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "ReplicaSet").count(), 2, "{kinds:?}");
    assert!(kinds[0] == "Deployment" && kinds.contains(&"Pod"), "{kinds:?}");

    let policy = component("plugins/deployment");
    // The pods have failed for seconds only; judged past the policy's
    // grace period, as of ten minutes later.
    let later = rewind::time::format(jiff::Timestamp::now().as_second() + 600);
    let eval = ["eval", "--policy", policy.to_str().unwrap(), "--cluster", dump.to_str().unwrap(), "--output", "json"];
    let eval = [&eval[..], &["--now", later.as_str()]].concat();
    let (code, stdout, stderr) = run_rewind(&[&eval[..], &workload[..]].concat(), &[]);
    assert_eq!(code, 1, "the rollout failed: {stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["failure"]["state"], "failed", "{stdout}");
    assert_eq!(report["selection"]["release"], "1", "{stdout}");

    let timeline = dir.path().join("timeline");
    let watch = ["capture", "--watch", timeline.to_str().unwrap(), "--interval", "1", "--count", "2"];
    let (code, stdout, stderr) = run_rewind(&[&watch[..], &target[..]].concat(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(std::fs::read_dir(&timeline).unwrap().count(), 2);
    // Moments seconds apart, so without a grace period the failure shows.
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, "graceSeconds: 0\n").unwrap();
    let backtest = ["backtest", "--policy", policy.to_str().unwrap(), "--timeline", timeline.to_str().unwrap()];
    let backtest = [&backtest[..], &["--settings", settings.to_str().unwrap()]].concat();
    let (code, stdout, stderr) = run_rewind(&[&backtest[..], &workload[..]].concat(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("A: first failure 20"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real API server: scripts/e2e.sh"]
async fn a_native_sidecar_crash_looping_after_an_update_is_rolled_back() {
    let client = client().await;
    install_crd(&client).await;
    let namespace = "e2e-sidecar";
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let created = json!({"metadata": {"name": namespace}});
    namespaces.create(&PostParams::default(), &serde_json::from_value(created).unwrap()).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut web = deployment(namespace, "shop/web:1");
    let sidecar = json!({"name": "proxy", "image": "shop/proxy:1", "restartPolicy": "Always"});
    web.spec.as_mut().unwrap().template.spec.as_mut().unwrap().init_containers =
        Some(vec![serde_json::from_value(sidecar).unwrap()]);
    deployments.create(&PostParams::default(), &web).await.unwrap();
    pod_in_state(&pods, "shop/proxy:1", None).await;
    let created = deployments.get("web").await.unwrap();
    let sidecars = created.spec.unwrap().template.spec.unwrap().init_containers.unwrap();
    assert_eq!(sidecars[0].restart_policy.as_deref(), Some("Always"), "the API server keeps native sidecars");

    let patch = json!({"spec": {"template": {"spec": {"initContainers": [
        {"name": "proxy", "image": "shop/proxy:crashing", "restartPolicy": "Always"}]}}}});
    deployments.patch("web", &PatchParams::default(), &Patch::Strategic(&patch)).await.unwrap();
    pod_in_state(&pods, "shop/proxy:crashing", Some("CrashLoopBackOff")).await;
    rollout_policy(&client, namespace, "Enforce", 3).await;
    let _controller = start_controller(&client);
    eventually("the sidecar's rollback", async || {
        let d = deployments.get("web").await.ok()?;
        let sidecars = d.spec?.template.spec?.init_containers?;
        (sidecars[0].image.as_deref() == Some("shop/proxy:1")).then_some(())
    })
    .await;
    // The event follows the rollback's write; then no second rollback.
    eventually("the RollingBack event", async || (events(&client, namespace, "RollingBack").await >= 1).then_some(()))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(events(&client, namespace, "RollingBack").await, 1);
}

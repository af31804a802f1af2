//! The controller at scale, measured on a real API server with the real
//! controller process (`scripts/controller-scale.sh` starts the cluster,
//! builds `rewind` in release and runs this). For each size: Deployments and
//! StatefulSets of one pod each, two RolloutPolicies selecting them by label,
//! then `rewind controller` started as its own process; it prints one table.
//!
//! Environment: REWIND_SCALE_KUBECONFIG, REWIND_SCALE_BINARY (the rewind
//! binary), REWIND_SCALE_MODULE (deployment.wasm), REWIND_SCALE_SIZES
//! (default `100,1000,3000`), REWIND_SCALE_APISERVER (https://127.0.0.1:6443).

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const GRACE_SECONDS: i64 = 20;
const RESYNC_SECONDS: u64 = 30;
/// Workloads whose pods are made to fail, per size.
const PROBED: usize = 20;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/controller-scale.sh"))
}

async fn client() -> Client {
    let file = kube::config::Kubeconfig::read_from(env("REWIND_SCALE_KUBECONFIG")).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await.expect("config");
    Client::try_from(config).expect("client")
}

fn decisions_api(client: &Client, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("rewind.dev", "v1alpha1", "RolloutDecision"));
    Api::namespaced_with(client.clone(), namespace, &resource)
}

fn workload(kind: &str, name: &str) -> Value {
    let mut spec = json!({
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "app", "image": "shop/web:1"}]}}
    });
    if kind == "StatefulSet" {
        spec["serviceName"] = json!(name);
    }
    json!({"apiVersion": "apps/v1", "kind": kind,
           "metadata": {"name": name, "labels": {"rewind-scale": "yes"}}, "spec": spec})
}

/// Creates `count` workloads, `in_flight` requests at a time.
async fn create_all(client: &Client, namespace: &str, count: usize) {
    let names: Vec<(String, &str)> = (0..count)
        .map(|i| if i % 5 == 4 { (format!("sts-{i}"), "StatefulSet") } else { (format!("web-{i}"), "Deployment") })
        .collect();
    futures::stream::iter(names)
        .for_each_concurrent(16, |(name, kind)| {
            let client = client.clone();
            async move {
                let object: DynamicObject = serde_json::from_value(workload(kind, &name)).unwrap();
                let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", kind));
                let api = Api::<DynamicObject>::namespaced_with(client, namespace, &resource);
                api.create(&PostParams::default(), &object).await.unwrap();
            }
        })
        .await;
}

async fn wait_ready(client: &Client, namespace: &str, count: usize) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    loop {
        let list = pods.list(&ListParams::default()).await.unwrap();
        let ready = list
            .items
            .iter()
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        if ready >= count {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn rollout_policies(client: &Client, namespace: &str) {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("rewind.dev", "v1alpha1", "RolloutPolicy"));
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource);
    for kind in ["Deployment", "StatefulSet"] {
        let policy = json!({
            "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
            "metadata": {"name": kind.to_lowercase()},
            "spec": {"target": {"apiVersion": "apps/v1", "kind": kind, "matchLabels": {"rewind-scale": "yes"}},
                     "policy": {"module": env("REWIND_SCALE_MODULE")},
                     "settings": {"graceSeconds": GRACE_SECONDS}, "mode": "Enforce",
                     "resyncSeconds": RESYNC_SECONDS}
        });
        api.create(&PostParams::default(), &serde_json::from_value(policy).unwrap()).await.unwrap();
    }
}

/// `apiserver_request_total` summed over LIST requests of the resources
/// the controller reads.
async fn list_requests(client: &Client) -> f64 {
    let text = client
        .request_text(http::Request::get("/metrics").body(Vec::new()).unwrap())
        .await
        .expect("the API server's metrics");
    text.lines()
        .filter(|l| l.starts_with("apiserver_request_total{") && l.contains("verb=\"LIST\""))
        .filter(|l| {
            [
                "pods",
                "replicasets",
                "controllerrevisions",
                "deployments",
                "statefulsets",
                "daemonsets",
                "rolloutdecisions",
            ]
            .iter()
            .any(|r| l.contains(&format!("resource=\"{r}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status.lines().find_map(|l| l.strip_prefix("VmHWM:")?.split_whitespace().next()?.parse::<f64>().ok());
    kib.unwrap_or(0.0) / 1024.0
}

/// A controller of its own for each size: its leader lease lives in the
/// size's namespace, so a killed predecessor's lease never delays it.
fn start_controller(namespace: &str) -> Child {
    // The module's directory is the controller's policies directory: no
    // other path is loaded.
    let module = std::path::PathBuf::from(env("REWIND_SCALE_MODULE"));
    let policies_dir = module.parent().expect("the module is a file").to_str().expect("a UTF-8 path").to_string();
    Command::new(env("REWIND_SCALE_BINARY"))
        .args(["controller", "--kubeconfig", &env("REWIND_SCALE_KUBECONFIG"), "--metrics-address", "127.0.0.1:0"])
        .args(["--policies-dir", &policies_dir])
        .env("RUST_LOG", "warn")
        .env("POD_NAMESPACE", namespace)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the controller starts")
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// When one probed workload's pod showed the failure, when its decision
/// did, when its rollback was written, and when its failing pod was made.
#[derive(Default)]
struct Probe {
    failed: Option<Instant>,
    decided: Option<Instant>,
    rolled_back: Option<Instant>,
    created: Option<i64>,
}

struct Row {
    workloads: usize,
    decided: f64,
    lists_at_rest: f64,
    cpu_at_rest: f64,
    change_to_decision: (f64, f64),
    grace_to_rollback: (f64, f64),
    rss: f64,
    largest: usize,
}

async fn measure(client: &Client, count: usize) -> Row {
    let namespace = format!("scale-{count}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap())
        .await
        .unwrap();
    create_all(client, &namespace, count).await;
    wait_ready(client, &namespace, count).await;
    rollout_policies(client, &namespace).await;

    let started = Instant::now();
    let mut controller = start_controller(&namespace);
    let pid = controller.id();
    let decisions = decisions_api(client, &namespace);
    let decided = loop {
        let listed = decisions.list(&ListParams::default()).await.map(|l| l.items.len()).unwrap_or(0);
        if listed >= count {
            break started.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // At rest: one resync interval with nothing changing.
    let (lists_before, cpu_before) = (list_requests(client).await, cpu_seconds(pid));
    tokio::time::sleep(Duration::from_secs(RESYNC_SECONDS)).await;
    let lists_at_rest = list_requests(client).await - lists_before;
    let cpu_at_rest = cpu_seconds(pid) - cpu_before;

    // Pod change → decision, and grace end → rollback: some Deployments
    // get an image kwok never pulls. Watches record when each pod shows the
    // failure, when its decision changes, and when the rollback is written.
    let seen: Arc<Mutex<HashMap<String, Probe>>> = Arc::default();
    let watch_pods = {
        let (seen, pods) = (seen.clone(), Api::<Pod>::namespaced(client.clone(), &namespace));
        tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher::watcher(pods, watcher::Config::default()));
            while let Some(Ok(event)) = events.next().await {
                let (watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) = event else { continue };
                let Some(app) = pod.labels().get("app").cloned() else { continue };
                let failing = pod.status.iter().flat_map(|s| s.container_statuses.iter().flatten()).any(|c| {
                    c.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref())
                        == Some("ImagePullBackOff")
                });
                let mut seen = seen.lock().unwrap();
                if let Some(entry) = seen.get_mut(&app)
                    && failing
                    && entry.failed.is_none()
                {
                    entry.failed = Some(Instant::now());
                    entry.created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second());
                }
            }
        })
    };
    let watch_decisions = {
        let (seen, decisions) = (seen.clone(), decisions.clone());
        tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher::watcher(decisions, watcher::Config::default()));
            while let Some(Ok(event)) = events.next().await {
                let watcher::Event::Apply(decision) = event else { continue };
                let Some(name) = decision.data.pointer("/spec/workload/name").and_then(Value::as_str) else { continue };
                let failing =
                    decision.data.pointer("/spec/findings").is_some_and(|f| f.to_string().contains("ImagePullBackOff"));
                let mut seen = seen.lock().unwrap();
                if let Some(entry) = seen.get_mut(name)
                    && failing
                    && entry.decided.is_none()
                {
                    entry.decided = Some(Instant::now());
                }
            }
        })
    };
    let watch_rollbacks = {
        let (seen, deployments) = (seen.clone(), Api::<Deployment>::namespaced(client.clone(), &namespace));
        tokio::spawn(async move {
            let mut events = std::pin::pin!(watcher::watcher(deployments, watcher::Config::default()));
            while let Some(Ok(event)) = events.next().await {
                let watcher::Event::Apply(deployment) = event else { continue };
                let image = deployment
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.spec.as_ref())
                    .and_then(|s| s.containers[0].image.clone());
                let mut seen = seen.lock().unwrap();
                if let Some(entry) = seen.get_mut(&deployment.name_any())
                    && image.as_deref() == Some("shop/web:1")
                    && entry.failed.is_some()
                    && entry.rolled_back.is_none()
                {
                    entry.rolled_back = Some(Instant::now());
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let probed: Vec<String> = (0..count).filter(|i| i % 5 != 4).take(PROBED).map(|i| format!("web-{i}")).collect();
    let broken =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:unpullable"}]}}}});
    for name in &probed {
        seen.lock().unwrap().insert(name.clone(), Probe::default());
        deployments.patch(name, &PatchParams::default(), &Patch::Strategic(&broken)).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(GRACE_SECONDS as u64 + 90);
    while Instant::now() < deadline && seen.lock().unwrap().values().any(|e| e.rolled_back.is_none()) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (mut to_decision, mut to_rollback) = (Vec::new(), Vec::new());
    let epoch_now = jiff::Timestamp::now().as_second() as f64;
    let instant_now = Instant::now();
    for probe in seen.lock().unwrap().values() {
        if let (Some(failed), Some(decided)) = (probe.failed, probe.decided) {
            to_decision.push(decided.saturating_duration_since(failed).as_secs_f64());
        }
        if let (Some(rolled_back), Some(created)) = (&probe.rolled_back, probe.created) {
            let written = epoch_now - instant_now.duration_since(*rolled_back).as_secs_f64();
            to_rollback.push(written - (created + GRACE_SECONDS) as f64);
        }
    }
    for task in [watch_pods, watch_decisions, watch_rollbacks] {
        task.abort();
    }
    let rss = peak_rss_mib(pid);
    let mut largest = 0;
    for decision in decisions.list(&ListParams::default()).await.unwrap().items {
        largest = largest.max(serde_json::to_vec(&decision).unwrap().len());
    }
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("rewind.dev", "v1alpha1", "RolloutPolicy"));
    let policies = Api::<DynamicObject>::namespaced_with(client.clone(), &namespace, &resource);
    for policy in policies.list(&ListParams::default()).await.unwrap().items {
        largest = largest.max(serde_json::to_vec(&policy).unwrap().len());
    }
    let _ = controller.kill();
    let _ = controller.wait();
    let _ = namespaces.delete(&namespace, &Default::default()).await;
    Row {
        workloads: count,
        decided,
        lists_at_rest,
        cpu_at_rest,
        change_to_decision: (percentile(&mut to_decision.clone(), 0.5), percentile(&mut to_decision, 0.99)),
        grace_to_rollback: (percentile(&mut to_rollback.clone(), 0.5), percentile(&mut to_rollback, 0.99)),
        rss,
        largest,
    }
}

#[tokio::main]
async fn main() {
    let client = client().await;
    let sizes: Vec<usize> = std::env::var("REWIND_SCALE_SIZES")
        .unwrap_or_else(|_| "100,1000,3000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("a size"))
        .collect();
    println!("# The controller at scale (real API server, real `rewind controller` process, release build)\n");
    println!(
        "Deployments and StatefulSets (4:1) of one pod each; resync {RESYNC_SECONDS} s; grace {GRACE_SECONDS} s; \
         {PROBED} Deployments per size are updated to an image that cannot be pulled.\n"
    );
    println!(
        "| workloads | start → all decided | LISTs at rest per resync | CPU at rest per resync | pod change → decision p50 / p99 | grace end → rollback written p50 / p99 | peak RSS | largest object written |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in sizes {
        let row = measure(&client, size).await;
        println!(
            "| {} | {:.1} s | {} | {:.2} s | {:.2} / {:.2} s | {:.1} / {:.1} s | {:.0} MiB | {:.1} KiB |",
            row.workloads,
            row.decided,
            row.lists_at_rest,
            row.cpu_at_rest,
            row.change_to_decision.0,
            row.change_to_decision.1,
            row.grace_to_rollback.0,
            row.grace_to_rollback.1,
            row.rss,
            row.largest as f64 / 1024.0
        );
    }
}

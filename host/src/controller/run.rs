//! The reconcile loop: for each RolloutPolicy, load its module, evaluate
//! every covered workload on fresh cluster state, and act on the plan.

use super::cluster::{Cluster, ClusterError, KubeExecutor, emit};
use super::crd::{RolloutPolicy, RolloutPolicyStatus, StatusCondition, WorkloadStatus};
use super::metrics::Metrics;
use super::modules::{LOADING, Modules, TAG_RECHECK};
use super::plan::plan;
use crate::actions::{ActionLimits, EventType};
use crate::change::event_object;
use crate::evaluate::{EvalOptions, TargetSpec, evaluate};
use crate::executor::{Executed, ExecutionContext, Executor};
use crate::objects::{self, ObjectKey};
use crate::runtime::{LoadedPolicy, PolicyRuntime};
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("RolloutPolicy without a namespace")]
    NoNamespace,
}

pub struct Context {
    pub cluster: Cluster,
    pub modules: Arc<Modules>,
    pub metrics: Metrics,
}

impl Context {
    /// Modules downloaded for RolloutPolicies are cached below `cache_root`.
    pub fn new(client: Client, runtime: Arc<PolicyRuntime>, metrics: Metrics, cache_root: Option<PathBuf>) -> Self {
        Context {
            cluster: Cluster { client },
            modules: Arc::new(Modules::new(runtime, cache_root, TAG_RECHECK)),
            metrics,
        }
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

pub(super) fn condition(kind: &str, ok: bool, reason: &str, message: String) -> StatusCondition {
    StatusCondition {
        kind: kind.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        last_transition_time: crate::time::format(now()),
    }
}

/// What reconciling one workload gave: its status, and when the policy
/// said its answer could change on its own.
struct Reconciled {
    status: WorkloadStatus,
    recheck_after: Option<u32>,
}

/// One covered workload: evaluate on fresh state, plan, act, report.
async fn reconcile_workload(
    rp: &RolloutPolicy,
    ctx: &Context,
    policy: &LoadedPolicy,
    workload: serde_json::Value,
    previous: Option<&WorkloadStatus>,
) -> Result<Reconciled, Error> {
    let key = ObjectKey::of(&workload).ok_or(Error::NoNamespace)?;
    let namespace = key.namespace.clone().ok_or(Error::NoNamespace)?;
    let mut objects = ctx.cluster.objects_for(workload.clone()).await?;
    let target = TargetSpec { kind: format!("{}.{}", key.kind, key.group()), name: key.name.clone(), namespace };
    let now = now();
    let options = EvalOptions { now, apply: false, action_limits: ActionLimits::default() };
    let policy_for_eval = policy.clone();
    let started = std::time::Instant::now();
    let (evaluation, objects) = tokio::task::spawn_blocking(move || {
        let evaluation = evaluate(&policy_for_eval, &mut objects, &target, &options);
        (evaluation, objects)
    })
    .await
    .expect("evaluation task");
    let evaluation = evaluation.map_err(|e| ClusterError::Invalid(e.to_string()))?;
    let plan = plan(&key.name, &evaluation, rp.spec.mode, &rp.spec.flap_guard, previous, now);
    let metrics = &ctx.metrics;
    let outcome = match (&evaluation.decision, evaluation.fatal) {
        (_, true) => "error",
        (Some(decision), false) => decision.failure.state.as_str(),
        (None, false) => "unknown",
    };
    metrics.evaluation(&policy.name, outcome, started.elapsed().as_secs_f64());
    if evaluation.fatal {
        metrics.policy_error(&policy.name);
    }
    if plan.status.flap_guard_tripped {
        metrics.flap_guard_trip(&policy.name);
    }
    let recheck_after = evaluation.decision.as_ref().and_then(|d| d.failure.recheck_after);
    let rolled_back = plan.status.rollbacks.len() > previous.map_or(0, |p| p.rollbacks.len());
    let mut status = plan.status;
    if let Some(event) = &plan.event {
        let object = event_object(&workload, event.event_type, &event.reason, &event.message, now, 0);
        if let Err(e) = emit(&ctx.cluster, object).await {
            status.errors.push(format!("recording event {}: {e}", event.reason));
        }
    }
    if !plan.execute.is_empty() {
        let mut executor = KubeExecutor::new(&ctx.cluster, &objects);
        let context = ExecutionContext { target: key.clone(), now };
        let Executed { outcomes, failure } = executor.execute(&context, &plan.execute).await;
        for (action, outcome) in plan.execute.iter().zip(&outcomes) {
            metrics.action(action.type_name());
            // Every change the controller makes is visible on the workload;
            // the policy's own events already are.
            if !matches!(action, crate::actions::Action::EmitEvent { .. }) {
                let (crate::executor::Outcome::Applied(detail) | crate::executor::Outcome::Skipped(detail)) = outcome;
                let message = format!("{}: {detail}", policy.name);
                let event = event_object(&workload, EventType::Normal, "RewindAction", &message, now, 0);
                if let Err(e) = emit(&ctx.cluster, event).await {
                    status.errors.push(format!("recording event RewindAction: {e}"));
                }
            }
        }
        if rolled_back && failure.is_none() {
            metrics.rollback(&policy.name);
        }
        if let Some(failure) = failure {
            if failure.conflict {
                return Err(ClusterError::Conflict { what: failure.message }.into());
            }
            let message = failure.to_string();
            let event = event_object(&workload, EventType::Warning, "RewindActionFailed", &message, now, 0);
            if let Err(e) = emit(&ctx.cluster, event).await {
                status.errors.push(format!("recording event RewindActionFailed: {e}"));
            }
            status.errors.push(message);
        }
    }
    Ok(Reconciled { status, recheck_after })
}

/// Reconciles one RolloutPolicy. Free function over the shared context, as
/// kube-runtime calls it.
pub async fn reconcile(rp: Arc<RolloutPolicy>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let namespace = rp.namespace().ok_or(Error::NoNamespace)?;
    let (policy, ready) = ctx.modules.policy_for(&rp).await;
    // While a new module loads in the background the serving one decides;
    // looking again every second swaps the new one in soon after it is
    // ready rather than at the next resync.
    let mut resync_seconds = if ready.reason == LOADING { 1 } else { rp.spec.resync_seconds.max(1) };
    // The status as last written, read fresh: the cached object can lag
    // behind our own previous write, and the rollback history (flap guard,
    // restarts) must not be lost.
    let api: Api<RolloutPolicy> = Api::namespaced(ctx.cluster.client.clone(), &namespace);
    let previous = api.get_status(&rp.name_any()).await?.status.unwrap_or_default();
    // A condition keeps its transition time while its status holds.
    let mut ready = ready;
    if let Some(before) = previous.conditions.iter().find(|c| c.kind == ready.kind && c.status == ready.status) {
        ready.last_transition_time = before.last_transition_time.clone();
    }
    let mut status = RolloutPolicyStatus {
        conditions: vec![ready],
        policy_sha256: policy.as_ref().map(|p| p.sha256.clone()),
        workloads: Vec::new(),
    };
    if let Some(policy) = &policy {
        let selector = &rp.spec.target;
        let resource = ctx.cluster.resource(&selector.api_version, &selector.kind).await?;
        let workloads = ctx
            .cluster
            .workloads(&resource, &namespace, selector.name.as_deref(), selector.match_labels.as_ref())
            .await?;
        for workload in workloads {
            let name = objects::name(&workload).unwrap_or_default().to_string();
            let before = previous.workloads.iter().find(|w| w.name == name);
            match reconcile_workload(&rp, &ctx, policy, workload, before).await {
                Ok(Reconciled { status: workload_status, recheck_after }) => {
                    status.workloads.push(workload_status);
                    // The policy said when its answer could change (a grace
                    // period ending): look again then, not a resync later.
                    if let Some(seconds) = recheck_after {
                        resync_seconds = resync_seconds.min(u64::from(seconds).max(1));
                    }
                }
                // A conflict: someone changed the workload; decide again on
                // what it is now, shortly. The workloads not reached keep
                // their last status (and flap-guard history).
                Err(Error::Cluster(ClusterError::Conflict { what })) => {
                    tracing::info!(%what, "conflict while acting; re-evaluating");
                    let reached: Vec<String> = status.workloads.iter().map(|w| w.name.clone()).collect();
                    let kept = previous.workloads.iter().filter(|w| !reached.contains(&w.name)).cloned();
                    status.workloads.extend(kept);
                    write_status(&rp, &ctx, &status).await?;
                    return Ok(Requeue::requeue(Duration::from_secs(1)));
                }
                Err(e) => status.workloads.push(WorkloadStatus {
                    name,
                    time: crate::time::format(now()),
                    errors: vec![e.to_string()],
                    ..Default::default()
                }),
            }
        }
    }
    let tripped: Vec<&str> =
        status.workloads.iter().filter(|w| w.flap_guard_tripped).map(|w| w.name.as_str()).collect();
    let mut guard = condition(
        "FlapGuard",
        !tripped.is_empty(),
        if tripped.is_empty() { "WithinLimit" } else { "TooManyRollbacks" },
        if tripped.is_empty() {
            String::new()
        } else {
            format!("not acting on {}: rollback limit reached for the window", tripped.join(", "))
        },
    );
    if let Some(before) = previous.conditions.iter().find(|c| c.kind == guard.kind && c.status == guard.status) {
        guard.last_transition_time = before.last_transition_time.clone();
    }
    status.conditions.push(guard);
    write_status(&rp, &ctx, &status).await?;
    Ok(Requeue::requeue(Duration::from_secs(resync_seconds)))
}

async fn write_status(rp: &RolloutPolicy, ctx: &Context, status: &RolloutPolicyStatus) -> Result<(), Error> {
    let api: Api<RolloutPolicy> = Api::namespaced(ctx.cluster.client.clone(), &rp.namespace().unwrap_or_default());
    let patch = json!({"status": status});
    api.patch_status(&rp.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

pub fn error_policy(rp: Arc<RolloutPolicy>, error: &Error, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(policy = %rp.name_any(), %error, "reconcile failed");
    Requeue::requeue(Duration::from_secs(5))
}

/// RolloutPolicies of the object's namespace: a change to any workload of a
/// kind rewind knows, or to any Pod, there re-evaluates them.
fn policies_in_namespace<K: kube::Resource>(
    store: kube::runtime::reflector::Store<RolloutPolicy>,
) -> impl Fn(K) -> Vec<kube::runtime::reflector::ObjectRef<RolloutPolicy>> {
    move |object: K| {
        let namespace = object.meta().namespace.clone();
        store
            .state()
            .iter()
            .filter(|rp| rp.namespace() == namespace)
            .map(|rp| kube::runtime::reflector::ObjectRef::from_obj(rp.as_ref()))
            .collect()
    }
}

/// Watches the custom-resource kinds RolloutPolicies target (found through
/// discovery as policies appear) and signals a re-evaluation whenever an
/// object of one changes. Built-in kinds have typed watches instead.
async fn watch_custom_kinds(client: Client, trigger: futures::channel::mpsc::UnboundedSender<()>) {
    use kube::api::DynamicObject;
    let mut watched = std::collections::HashSet::new();
    let policies: Api<RolloutPolicy> = Api::all(client.clone());
    let cluster = Cluster { client: client.clone() };
    loop {
        if let Ok(list) = policies.list(&Default::default()).await {
            for rp in list.items {
                let target = &rp.spec.target;
                let group = objects::group_of(&target.api_version);
                let kind = (target.api_version.clone(), target.kind.clone());
                if matches!(group, "" | "apps") || watched.contains(&kind) {
                    continue;
                }
                let Ok(resource) = cluster.resource(&kind.0, &kind.1).await else { continue };
                watched.insert(kind);
                let (api, trigger) = (Api::<DynamicObject>::all_with(client.clone(), &resource), trigger.clone());
                tokio::spawn(async move {
                    let mut changes = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
                    while let Some(change) = changes.next().await {
                        if change.is_ok() && trigger.unbounded_send(()).is_err() {
                            return;
                        }
                    }
                });
            }
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// Runs the controller until the process is stopped.
pub async fn run(client: Client, runtime: Arc<PolicyRuntime>, metrics: Metrics, cache_root: Option<PathBuf>) {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{ApiResource, DynamicObject};
    use kube::core::GroupVersionKind;
    let policies: Api<RolloutPolicy> = Api::all(client.clone());
    let context = Arc::new(Context::new(client.clone(), runtime, metrics, cache_root));
    let (trigger, custom_changes) = futures::channel::mpsc::unbounded();
    tokio::spawn(watch_custom_kinds(client.clone(), trigger));
    // No debounce: under a steady stream of changes it would postpone
    // reconciles indefinitely; queued reconciles of one policy coalesce anyway.
    let controller = Controller::new(policies, watcher::Config::default()).reconcile_all_on(custom_changes);
    let store = controller.store();
    let config = || watcher::Config::default();
    let mut controller =
        controller.watches(Api::<Pod>::all(client.clone()), config(), policies_in_namespace::<Pod>(store.clone()));
    for workload in crate::workloads::all() {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", workload.kind()));
        let api = Api::<DynamicObject>::all_with(client.clone(), &resource);
        controller = controller.watches_with(api, resource, config(), policies_in_namespace(store.clone()));
    }
    controller
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile error");
            }
        })
        .await;
}

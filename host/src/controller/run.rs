//! Starting the controller: the watches that fill the caches and queue the
//! workloads their changes touch, and the workers that run the queue.

use super::bound::{self, Bounds, RolloutPolicyBound};
use super::cache::{Cache, Touched};
use super::cluster::{tree_kinds, tree_resources};
use super::crd::{RolloutDecision, RolloutPolicy};
use super::metrics::Metrics;
use super::queue::{Job, Queue};
use super::reconcile::{Context, Stores, covering, error_policy, policy_job, reconcile_policy, reconcile_workload};
use super::{configuration, decisions};
use crate::objects::{self, ObjectKey};
use crate::runtime::PolicyRuntime;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, ResourceExt};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Evaluations running at once: the runtime's instance pool holds 64, and
/// on a small node more than a few at once only queue for the cores.
const WORKERS: usize = 8;

pub use super::options::Options;

/// Runs the controller until the process is stopped.
pub async fn run(client: Client, runtime: Arc<PolicyRuntime>, metrics: Metrics, options: Options) {
    let cache = Cache::default();
    let queue = Arc::new(Queue::default());
    let (policies, writer) = reflector::store();
    let (bounds, bounds_writer) = reflector::store();
    let (namespaces, namespaces_writer) = reflector::store();
    let policies_dir = options.policies_dir.clone().unwrap_or_else(bound::default_policies_dir);
    let bounds = Bounds { bounds, namespaces, policies_dir };
    let stores = Stores { cache: cache.clone(), policies, bounds };
    let ctx = Arc::new(Context::new(client.clone(), runtime, metrics, options, stores, queue.clone()));
    watch_bounds(&ctx, client.clone(), bounds_writer, namespaces_writer);

    let watched = Arc::new(Mutex::new(Watched::default()));
    for (group, version, kind) in tree_resources() {
        watch_kind(&ctx, ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind)), &watched);
    }
    watch_kind(&ctx, ApiResource::erase::<RolloutDecision>(&()), &watched);
    watch_kind(&ctx, ApiResource::erase::<configuration::ReleaseConfiguration>(&()), &watched);
    watch_kind(&ctx, ApiResource::erase::<ConfigMap>(&()), &watched);
    watch_gitops_owners(&ctx, &watched).await;

    // RolloutPolicies: a change queues the policy (which queues its
    // workloads when its spec or module changed; its own status writes do
    // not), and starts a watch for a custom kind it targets.
    let rp_ctx = ctx.clone();
    let rp_watched = watched.clone();
    let rp_stream = watcher(Api::<RolloutPolicy>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(rp_stream);
        while let Some(event) = stream.next().await {
            let Ok(event) = event else { continue };
            // A deleted or retargeted policy may have been the last to need
            // a custom kind. The store holds the event already, except while
            // a (re)list runs: it is swapped in whole at InitDone, so only
            // then is it complete enough to tell what is unneeded.
            let settled = !matches!(event, watcher::Event::Init | watcher::Event::InitApply(_));
            if let watcher::Event::Apply(rp) | watcher::Event::InitApply(rp) = event {
                ensure_watched(&rp_ctx, &rp, &rp_watched).await;
                rp_ctx.queue.schedule(policy_job(&rp), Duration::ZERO);
            }
            if settled {
                stop_unneeded_watches(&rp_ctx, &rp_watched);
            }
        }
    });

    // Nothing is decided before the policies and every cached kind were
    // listed once: a reconcile on half a cache would find no policy and
    // delete its decision, or no decision and forget the flap guard's
    // history.
    let listed = futures::future::join3(
        ctx.policies.wait_until_ready(),
        ctx.bounds.bounds.wait_until_ready(),
        ctx.bounds.namespaces.wait_until_ready(),
    )
    .await;
    if !matches!(listed, (Ok(()), Ok(()), Ok(()))) {
        tracing::error!("the RolloutPolicy, RolloutPolicyBound or Namespace watch ended before it listed");
        return;
    }
    while !all_synced(&ctx) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let workers = Arc::new(tokio::sync::Semaphore::new(WORKERS));
    loop {
        let permit = workers.clone().acquire_owned().await.expect("the semaphore is never closed");
        let job = queue.next().await;
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let reconcile = async {
                match &job {
                    Job::Workload(key) => reconcile_workload(key, &ctx).await,
                    Job::Policy { namespace, name } => reconcile_policy(namespace, name, &ctx).await,
                }
            };
            // A panicking reconcile still finishes its job, so the job is
            // not left marked running (and never run again).
            let outcome = std::panic::AssertUnwindSafe(reconcile).catch_unwind().await;
            let again = match outcome {
                Ok(Ok(again)) => {
                    ctx.queue.succeeded(&job);
                    again
                }
                Ok(Err(error)) => Some(error_policy(&job, &error, ctx.queue.failed(&job))),
                Err(_) => {
                    tracing::error!(?job, "reconcile panicked; trying again later");
                    Some(Duration::from_secs(30))
                }
            };
            ctx.queue.done(&job);
            if let Some(after) = again {
                ctx.queue.schedule(job, after);
            }
            drop(permit);
        });
    }
}

/// Keeps the bounds and the namespaces' labels current. A change to a
/// bound may put any RolloutPolicy in or out of its bound: every policy is
/// looked at again; a namespace's new labels, its own policies.
fn watch_bounds(
    ctx: &Arc<Context>,
    client: Client,
    bounds: reflector::store::Writer<RolloutPolicyBound>,
    namespaces: reflector::store::Writer<Namespace>,
) {
    let bound_stream = watcher(Api::<RolloutPolicyBound>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(bounds);
    let bound_ctx = ctx.clone();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(bound_stream);
        while let Some(event) = stream.next().await {
            if event.is_ok() {
                for rp in bound_ctx.policies.state() {
                    bound_ctx.queue.schedule(policy_job(&rp), Duration::ZERO);
                }
            }
        }
    });
    let namespace_stream = watcher(Api::<Namespace>::all(client), watcher::Config::default())
        .default_backoff()
        .reflect(namespaces)
        .applied_objects();
    let namespace_ctx = ctx.clone();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(namespace_stream);
        while let Some(namespace) = stream.next().await {
            let Ok(namespace) = namespace else { continue };
            let name = namespace.name_any();
            for rp in namespace_ctx.policies.state().iter().filter(|rp| rp.namespace().as_deref() == Some(&name)) {
                namespace_ctx.queue.schedule(policy_job(rp), Duration::ZERO);
            }
        }
    });
}

/// The tree kinds and RolloutDecisions have been listed once.
fn all_synced(ctx: &Context) -> bool {
    tree_kinds().iter().all(|(g, k)| ctx.cache.is_synced(g, k))
        && ctx.cache.is_synced(decisions::GROUP, decisions::KIND)
}

/// The watches running, by `(group, kind)`: the built-in ones for as long
/// as the controller runs, a custom kind's while a RolloutPolicy targets it.
#[derive(Default)]
struct Watched {
    built_in: HashSet<(String, String)>,
    custom: HashMap<(String, String), tokio::task::AbortHandle>,
}

impl Watched {
    fn contains(&self, kind: &(String, String)) -> bool {
        self.built_in.contains(kind) || self.custom.contains_key(kind)
    }
}

/// Starts the cache's watch of `resource` (once): every object a change
/// touches that a RolloutPolicy of its namespace targets is queued. A
/// custom kind's watch can be stopped.
fn watch_kind(ctx: &Arc<Context>, resource: ApiResource, watched: &Mutex<Watched>) {
    let kind = (resource.group.clone(), resource.kind.clone());
    let mut watched = watched.lock().expect("watched lock");
    if watched.contains(&kind) {
        return;
    }
    let gitops_owner =
        crate::gitops::Tool::ALL.iter().any(|tool| (tool.group(), tool.kind()) == (&kind.0[..], &kind.1[..]));
    let built_in = kind.0 == decisions::GROUP
        || gitops_owner
        || (kind.0.is_empty() && kind.1 == "ConfigMap")
        || tree_kinds().iter().any(|(g, k)| (*g, *k) == (&kind.0[..], &kind.1[..]));
    let api = Api::<DynamicObject>::all_with(ctx.cluster.client.clone(), &resource);
    let queue_ctx = ctx.clone();
    let changed = move |touched: Touched| queue_touched(&queue_ctx, &touched);
    let task = tokio::spawn(ctx.cache.clone().watch(api, resource, changed));
    if built_in {
        watched.built_in.insert(kind);
    } else {
        watched.custom.insert(kind, task.abort_handle());
    }
}

/// Stops the watch of every custom kind no RolloutPolicy targets any more,
/// and forgets its objects: a watch (of a kind the controller may not even
/// list, retrying) does not outlive the last policy that needs it.
fn stop_unneeded_watches(ctx: &Context, watched: &Mutex<Watched>) {
    let needed: HashSet<(String, String)> = ctx
        .policies
        .state()
        .iter()
        .flat_map(|rp| rp.spec.kinds())
        .map(|(api_version, kind)| (objects::group_of(&api_version).to_string(), kind))
        .collect();
    let mut watched = watched.lock().expect("watched lock");
    let unneeded: Vec<(String, String)> = watched.custom.keys().filter(|k| !needed.contains(*k)).cloned().collect();
    for kind in unneeded {
        if let Some(task) = watched.custom.remove(&kind) {
            task.abort();
            ctx.cache.forget_kind(&kind.0, &kind.1);
            tracing::info!(group = %kind.0, kind = %kind.1, "no RolloutPolicy targets the kind any more; its watch stops");
        }
    }
}

/// Watches each GitOps owner kind the cluster serves, for the snapshots'
/// GitOps section. A kind it does not serve is not watched: owners of that
/// kind are reported unreadable (`super::gitops`).
async fn watch_gitops_owners(ctx: &Arc<Context>, watched: &Arc<Mutex<Watched>>) {
    for tool in crate::gitops::Tool::ALL {
        match ctx.cluster.resource(tool.api_version(), tool.kind()).await {
            Ok(resource) => watch_kind(ctx, resource, watched),
            Err(error) => tracing::info!(
                kind = tool.kind(),
                api_version = tool.api_version(),
                %error,
                "not served by the cluster; workloads it would apply are evaluated with their GitOps owner unreadable"
            ),
        }
    }
}

/// Queues the touched objects that some RolloutPolicy targets.
fn queue_touched(ctx: &Context, touched: &Touched) {
    for object in touched {
        if !covering(&ctx.policies, object).is_empty()
            && let Some(key) = ObjectKey::of(object)
        {
            ctx.queue.schedule(Job::Workload(key), Duration::ZERO);
        }
    }
}

/// A RolloutPolicy targeting a kind outside the built-in workload kinds (a
/// custom resource): its objects are cached and watched too, found through
/// discovery.
async fn ensure_watched(ctx: &Arc<Context>, rp: &RolloutPolicy, watched: &Arc<Mutex<Watched>>) {
    for (api_version, kind) in rp.spec.kinds() {
        // Its PolicyReady says why; rewind's own kinds are not watched for it.
        if crate::workloads::targetable(&api_version, &kind).is_err() {
            continue;
        }
        let group = objects::group_of(&api_version).to_string();
        if watched.lock().expect("watched lock").contains(&(group.clone(), kind.clone())) {
            continue;
        }
        match ctx.cluster.resource(&api_version, &kind).await {
            Ok(resource) => watch_kind(ctx, resource, watched),
            Err(error) => tracing::warn!(policy = %rp.name_any(), %kind, %error, "cannot watch the target kind"),
        }
    }
}

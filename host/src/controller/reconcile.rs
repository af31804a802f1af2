//! The two reconciles, free functions over the shared [`Context`]: one
//! workload (evaluate it on the watch caches, plan, act, record the
//! decision) and one RolloutPolicy (load its module, write its conditions
//! and counts). Each says when it wants to run again.

mod application;

use super::bound::Bounds;
use super::cache::{Cache, TreeViews};
use super::cluster::{Cluster, ClusterError, KubeExecutor, emit, tree_kinds};
use super::crd::{RolloutPolicy, RolloutPolicyStatus, StatusCondition, WorkloadStatus};
use super::decisions::Decisions;
use super::metrics::Metrics;
use super::modules::{Modules, Served, TAG_RECHECK};
use super::plan::{plan, rollback_carried_out};
use super::queries::Providers;
use super::queue::{Job, Queue};
use crate::actions::{Action, ActionLimits, EventType, Grant, controller_events};
use crate::change::event_object;
use crate::evaluate::{EvalOptions, Subject, TargetSpec, evaluate_subject};
use crate::executor::{Executed, ExecutionContext, Executor, Outcome};
use crate::objects::{self, ObjectKey, ObjectSet};
use crate::runtime::PolicyRuntime;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("the evaluation task failed: {0}")]
    Task(String),
}

pub struct Context {
    pub cluster: Cluster,
    pub modules: Arc<Modules>,
    pub metrics: Metrics,
    pub cache: Cache,
    pub policies: Store<RolloutPolicy>,
    pub decisions: Decisions,
    pub queue: Arc<Queue>,
    /// Prometheus clients and query results for RolloutPolicies' metrics.
    pub queries: Providers,
    /// What each namespace's RolloutPolicies may make the controller do.
    pub bounds: Bounds,
    /// How the cluster's Argo CD tracks what it applies.
    pub argocd: crate::gitops::ArgoCdTracking,
    /// Per RolloutPolicy (namespace, name): what its last reconcile saw.
    seen: Mutex<HashMap<(String, String), PolicySeen>>,
}

/// What the controller's watches keep current for the reconciles.
pub struct Stores {
    pub cache: Cache,
    pub policies: Store<RolloutPolicy>,
    pub bounds: Bounds,
}

/// The module and spec generation a RolloutPolicy's workloads were last
/// scheduled for, and the status last written.
#[derive(Clone)]
struct PolicySeen {
    module: Option<String>,
    generation: Option<i64>,
    status: RolloutPolicyStatus,
}

impl Context {
    pub fn new(
        client: Client,
        runtime: Arc<PolicyRuntime>,
        metrics: Metrics,
        options: super::options::Options,
        stores: Stores,
        queue: Arc<Queue>,
    ) -> Self {
        let Stores { cache, policies, bounds } = stores;
        Context {
            cluster: Cluster::new(client.clone()),
            modules: Arc::new(
                Modules::new(runtime, options.cache_root, TAG_RECHECK)
                    .with_registry_access(client.clone(), options.registry_credentials),
            ),
            metrics,
            cache,
            policies,
            decisions: Decisions::default(),
            queue,
            queries: Providers::allowing(options.prometheus_addresses),
            bounds,
            argocd: options.argocd,
            seen: Mutex::new(HashMap::new()),
        }
    }
}

/// A resync longer than a day is taken as a day: the safety net stays one.
const MAX_RESYNC_SECONDS: u64 = 86_400;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Whether `rp` selects `workload` (a cached object).
fn selects(rp: &RolloutPolicy, workload: &Value) -> bool {
    let Some(key) = ObjectKey::of(workload) else { return false };
    let target = match (&rp.spec.target, &rp.spec.application) {
        (Some(target), None) => target,
        (None, Some(application)) => return application::selects(rp, application, &key, workload),
        _ => return false,
    };
    if key.kind != target.kind
        || key.group() != objects::group_of(&target.api_version)
        || key.namespace != rp.namespace()
    {
        return false;
    }
    if let Some(name) = &target.name {
        return *name == key.name;
    }
    let labels = workload.pointer("/metadata/labels").and_then(Value::as_object);
    let wanted = target.match_labels.iter().flatten();
    wanted.into_iter().all(|(k, v)| labels.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v))
}

/// The RolloutPolicies that select `workload`, the deciding one first: two
/// selecting the same workload is resolved by age (the older decides), then
/// by name, so every replica and every restart picks the same one.
pub fn covering(policies: &Store<RolloutPolicy>, workload: &Value) -> Vec<Arc<RolloutPolicy>> {
    let mut covering: Vec<Arc<RolloutPolicy>> =
        policies.state().into_iter().filter(|rp| selects(rp, workload)).collect();
    covering.sort_by(|a, b| {
        let created = |rp: &RolloutPolicy| rp.metadata.creation_timestamp.as_ref().map(|t| t.0);
        created(a).cmp(&created(b)).then_with(|| a.name_any().cmp(&b.name_any()))
    });
    covering
}

/// The RolloutPolicy that decides `workload`: the first covering it within
/// its namespace's bound. A policy outside its bound serves nothing, so it
/// never holds a workload back from the (newer) one that may decide it.
pub fn deciding(ctx: &Context, workload: &Value) -> Option<Arc<RolloutPolicy>> {
    covering(&ctx.policies, workload).into_iter().find(|rp| ctx.bounds.check(rp).is_ok())
}

/// The cached workloads `rp` covers.
pub fn covered(ctx: &Context, rp: &RolloutPolicy) -> Vec<Arc<Value>> {
    let namespace = rp.namespace().unwrap_or_default();
    rp.spec
        .kinds()
        .into_iter()
        .flat_map(|(api_version, kind)| ctx.cache.list(objects::group_of(&api_version), &kind, &namespace))
        .filter(|w| selects(rp, w))
        .collect()
}

/// Evaluates one workload on the watch caches, acts on the plan and
/// records the decision. Returns when to look again. A workload of an
/// application is decided with it: its job becomes the application's.
pub async fn reconcile_workload(key: &ObjectKey, ctx: &Arc<Context>) -> Result<Option<Duration>, Error> {
    if application::is_application_key(key) {
        return application::reconcile(key, ctx).await;
    }
    let group = key.group().to_string();
    if !synced(ctx, &[(group.as_str(), key.kind.as_str())]) {
        return Ok(RETRY_SOON);
    }
    let namespace = key.namespace.clone().unwrap_or_default();
    let Some(workload) = ctx.cache.get(&group, &key.kind, &namespace, &key.name) else {
        ctx.decisions.forget(&ctx.cluster.client, key, &ctx.cache).await?;
        return Ok(None);
    };
    let Some(rp) = deciding(ctx, &workload) else {
        ctx.decisions.forget(&ctx.cluster.client, key, &ctx.cache).await?;
        return Ok(None);
    };
    if let Some(application) = application::key_of(&rp) {
        ctx.decisions.forget(&ctx.cluster.client, key, &ctx.cache).await?;
        ctx.queue.schedule(Job::Workload(application), Duration::ZERO);
        return Ok(None);
    }
    let (objects, views) = ctx.cache.tree_of(&workload);
    let target = TargetSpec { kind: format!("{}.{}", key.kind, group), name: key.name.clone(), namespace };
    let evaluand = Evaluand {
        decision: key.clone(),
        subject: Subject::Workload(target),
        workloads: vec![workload],
        objects,
        views,
    };
    evaluate_and_act(ctx, &rp, evaluand).await
}

pub(super) const RETRY_SOON: Option<Duration> = Some(Duration::from_secs(1));

/// Whether the watch caches a decision reads have listed what they hold:
/// the tree kinds, the decisions and `kinds`.
pub(super) fn synced(ctx: &Context, kinds: &[(&str, &str)]) -> bool {
    tree_kinds().iter().chain(kinds).all(|(g, k)| ctx.cache.is_synced(g, k))
        && ctx.cache.is_synced(super::decisions::GROUP, super::decisions::KIND)
}

/// What one decision is about, read from the watch caches.
pub(super) struct Evaluand {
    /// Whose decision it is: the workload's key, or the application's.
    pub decision: ObjectKey,
    pub subject: Subject,
    /// The workloads evaluated: the one, or the members (member 0 first).
    pub workloads: Vec<Arc<Value>>,
    /// Their trees.
    pub objects: ObjectSet,
    pub views: TreeViews,
}

/// Evaluates with `rp`'s module, acts on the plan and records the
/// decision. Returns when to look again.
pub(super) async fn evaluate_and_act(
    ctx: &Arc<Context>,
    rp: &RolloutPolicy,
    evaluand: Evaluand,
) -> Result<Option<Duration>, Error> {
    let Evaluand { decision: key, subject, workloads, mut objects, views } = evaluand;
    // Found within its bound by the caller: its module, without a second check.
    let served = ctx.modules.policy_for(rp).await;
    let Some(policy) = served.policy else {
        // The policy reconcile loads the module and reports why it cannot.
        ctx.queue.schedule(policy_job(rp), Duration::ZERO);
        return Ok(Some(Duration::from_secs(if served.loading { 1 } else { 5 })));
    };
    for workload in &workloads {
        super::gitops::add_owner(&ctx.cache, workload, &mut objects, &ctx.argocd);
    }
    let configured = super::configuration::add_config_maps(&ctx.cache, &mut objects);
    let now = now();
    if rp.spec.metrics.is_some() {
        for workload in &workloads {
            let id = ObjectKey::of(workload).and_then(|k| objects.find_key(&k));
            let id = id.ok_or_else(|| ClusterError::Invalid(format!("{key}: a workload left its own tree")))?;
            ctx.queries.add_results(&ctx.cluster.client, rp, &mut objects, id, now).await;
        }
    }
    // Checked by `policy_for`, which serves no module while they are invalid.
    let grants = Grant::parse_all(&rp.spec.grants).map_err(ClusterError::Invalid)?;
    let argocd = ctx.argocd.clone();
    let options = EvalOptions { now, apply: false, action_limits: ActionLimits::default(), grants, argocd };
    let started = std::time::Instant::now();
    let policy_for_eval = policy.clone();
    let (evaluation, objects) = tokio::task::spawn_blocking(move || {
        let evaluation = evaluate_subject(&policy_for_eval, &mut objects, &subject, &options, &views);
        (evaluation, objects)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?;
    let evaluation = evaluation.map_err(|e| ClusterError::Invalid(e.to_string()))?;
    let previous = ctx.decisions.previous(&key, &ctx.cache);
    let plan = plan(&key.name, &evaluation, rp.spec.mode, &rp.spec.flap_guard, previous.as_ref(), now);
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
    let mut status = plan.status;
    if let Some(application) = &evaluation.report.application {
        status.members = application.members.iter().map(|m| format!("{}/{}", m.kind, m.name)).collect();
    }
    let decided = previous.as_ref().map(|p| (&p.state, &p.release, &p.actions, p.flap_guard_tripped))
        != Some((&status.state, &status.release, &status.actions, status.flap_guard_tripped));
    // A controller event repeats only when the decision changed: a held
    // decision re-evaluated every resync says nothing new. An
    // application's is recorded on its member 0.
    if let Some(event) = plan.event.as_ref().filter(|_| decided || !plan.execute.is_empty()) {
        let object = event_object(&workloads[0], event.event_type, &event.reason, &event.message, now, 0);
        if let Err(e) = emit(&ctx.cluster, object).await {
            status.errors.push(format!("recording event {}: {e}", event.reason));
        }
    }
    let mut conflict = false;
    if !plan.execute.is_empty() {
        let first = ObjectKey::of(&workloads[0]).unwrap_or_else(|| key.clone());
        let executed = KubeExecutor::new(&ctx.cluster, &objects)
            .with_history_from(&ctx.cache)
            .execute(&ExecutionContext { target: first, now }, &plan.execute)
            .await;
        conflict = record_execution(ctx, &workloads, &policy.name, &plan.execute, &executed, &mut status, now).await;
        if plan.counts_rollback {
            if rollback_carried_out(&plan.execute, &executed.outcomes) {
                metrics.rollback(&policy.name);
            } else {
                status.rollbacks.pop();
            }
        }
        if conflict && executed.outcomes.is_empty() {
            // Someone changed the workload before anything was done: decide
            // again on what it is now.
            return Ok(RETRY_SOON);
        }
    }
    // The running release's configuration is rewind's own record, kept in
    // either mode, so a rollback enforced later finds it.
    let healthy = evaluation.decision.as_ref().is_some_and(|d| d.failure.state == crate::answers::Health::Healthy);
    for workload in workloads.iter().filter(|_| configured && !conflict) {
        if let Some(write) = super::configuration::needed(&objects, workload, healthy, now)
            && let Err(e) = super::configuration::write_record(&ctx.cluster, write).await
        {
            status.errors.push(format!("recording the running release's configuration: {e}"));
        }
    }
    if ctx.decisions.record(&ctx.cluster.client, rp, &key, status, &ctx.cache).await? {
        ctx.queue.schedule(policy_job(rp), Duration::from_secs(1));
    }
    if conflict {
        return Ok(RETRY_SOON);
    }
    let resync = Duration::from_secs(rp.spec.resync_seconds.clamp(1, MAX_RESYNC_SECONDS));
    // The policy said when its answer could change (a grace period ending):
    // look again then, not a resync later.
    let recheck = recheck_after.map(|s| Duration::from_secs(u64::from(s.max(1))));
    Ok(Some(recheck.map_or(resync, |r| r.min(resync))))
}

/// Records what executing the plan did on the workloads (events, each on
/// the workload an action concerns) and in the status; returns whether it
/// stopped on a conflict. When a write fails after others succeeded, the
/// status says which workloads were rolled back: the API server has no
/// transactions to undo them.
async fn record_execution(
    ctx: &Context,
    workloads: &[Arc<Value>],
    policy: &str,
    actions: &[Action],
    executed: &Executed,
    status: &mut WorkloadStatus,
    now: i64,
) -> bool {
    let concerned = |action: &Action| -> &Value {
        let member = action.on_member().0;
        let found = member.and_then(|m| workloads.iter().find(|w| ObjectKey::of(w).is_some_and(|k| k.same_object(m))));
        found.unwrap_or(&workloads[0])
    };
    for (action, outcome) in actions.iter().zip(&executed.outcomes) {
        ctx.metrics.action(action.type_name());
        // Every change the controller makes is visible on the workload; the
        // policy's own events already are.
        if !matches!(action.on_member().1, Action::EmitEvent { .. }) {
            let (Outcome::Applied(detail) | Outcome::Skipped(detail)) = outcome;
            let event = event_object(
                concerned(action),
                EventType::Normal,
                controller_events::ACTION,
                &format!("{policy}: {detail}"),
                now,
                0,
            );
            if let Err(e) = emit(&ctx.cluster, event).await {
                status.errors.push(format!("recording event {}: {e}", controller_events::ACTION));
            }
        }
    }
    let Some(failure) = &executed.failure else { return false };
    if failure.conflict {
        tracing::info!(message = %failure.message, "conflict while acting; re-evaluating");
        return true;
    }
    let message = failure.to_string();
    let failed_on = concerned(&actions[failure.index - 1]);
    let event = event_object(failed_on, EventType::Warning, controller_events::ACTION_FAILED, &message, now, 0);
    if let Err(e) = emit(&ctx.cluster, event).await {
        status.errors.push(format!("recording event {}: {e}", controller_events::ACTION_FAILED));
    }
    status.errors.push(message);
    if workloads.len() > 1 {
        status.errors.push(super::plan::rolled_back_before_failure(actions, &executed.outcomes, workloads));
    }
    false
}

/// The module serving `rp` and its PolicyReady condition, once `rp` is
/// within its namespace's bound: for one outside it nothing is fetched,
/// loaded or read.
async fn serving(ctx: &Arc<Context>, rp: &RolloutPolicy) -> Served {
    if let Err(outside) = ctx.bounds.check(rp) {
        let ready = StatusCondition::new("PolicyReady", false, "OutsideBound", outside);
        return Served { policy: None, ready, loading: false };
    }
    ctx.modules.policy_for(rp).await
}

pub fn policy_job(rp: &RolloutPolicy) -> Job {
    Job::Policy { namespace: rp.namespace().unwrap_or_default(), name: rp.name_any() }
}

/// Loads a RolloutPolicy's module, schedules its workloads when the module
/// or the spec changed, and writes its conditions and counts when they
/// changed. Returns when to look again.
pub async fn reconcile_policy(namespace: &str, name: &str, ctx: &Arc<Context>) -> Result<Option<Duration>, Error> {
    let Some(rp) = ctx
        .policies
        .state()
        .into_iter()
        .find(|rp| rp.namespace().as_deref() == Some(namespace) && rp.name_any() == name)
    else {
        ctx.seen.lock().expect("seen lock").remove(&(namespace.to_string(), name.to_string()));
        return Ok(None);
    };
    let Served { policy, mut ready, loading } = serving(ctx, &rp).await;
    let sha = policy.as_ref().map(|p| p.sha256.clone());
    let id = (namespace.to_string(), name.to_string());
    let last = ctx.seen.lock().expect("seen lock").get(&id).cloned();
    let covered = covered(ctx, &rp);
    let changed = last.as_ref().is_none_or(|seen| seen.module != sha || seen.generation != rp.metadata.generation);
    if changed {
        for workload in &covered {
            if let Some(key) = ObjectKey::of(workload) {
                ctx.queue.schedule(Job::Workload(key), Duration::ZERO);
            }
        }
    }
    let previous = rp.status.clone().unwrap_or_default();
    let keep_time = |condition: &mut StatusCondition| {
        if let Some(before) =
            previous.conditions.iter().find(|c| c.kind == condition.kind && c.status == condition.status)
        {
            condition.last_transition_time = before.last_transition_time.clone();
        }
    };
    keep_time(&mut ready);
    let counts = ctx.decisions.counts(namespace, name, &ctx.cache);
    let tripped = counts.flap_guard_tripped > 0;
    let mut guard = StatusCondition::new(
        "FlapGuard",
        tripped,
        if tripped { "TooManyRollbacks" } else { "WithinLimit" },
        if tripped {
            format!("not acting on {} workloads: rollback limit reached for the window", counts.flap_guard_tripped)
        } else {
            String::new()
        },
    );
    keep_time(&mut guard);
    let mut overlap = overlap_condition(ctx, &rp, &covered);
    keep_time(&mut overlap);
    let status = RolloutPolicyStatus { conditions: vec![ready, guard, overlap], policy_sha256: sha.clone(), counts };
    let written = last.map(|seen| seen.status);
    if written.as_ref() != Some(&status) && Some(&status) != rp.status.as_ref() {
        let api: Api<RolloutPolicy> = Api::namespaced(ctx.cluster.client.clone(), namespace);
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": status}))).await?;
    }
    ctx.seen
        .lock()
        .expect("seen lock")
        .insert(id, PolicySeen { module: sha, generation: rp.metadata.generation, status });
    Ok(Some(Duration::from_secs(if loading { 1 } else { rp.spec.resync_seconds.clamp(1, MAX_RESYNC_SECONDS) })))
}

/// `Overlap`: True when another RolloutPolicy also selects some of this
/// one's workloads, naming who decides them. The message names the
/// deciding policy, never every policy selecting a workload: what a
/// policy's status says does not change when yet another policy selects
/// the same workload, so n overlapping policies cost n status writes, not
/// n², and no message grows with them.
fn overlap_condition(ctx: &Context, rp: &RolloutPolicy, covered: &[Arc<Value>]) -> StatusCondition {
    let selections = covered.iter().map(|workload| {
        let policies: Vec<String> = covering(&ctx.policies, workload).iter().map(|p| p.name_any()).collect();
        (objects::name(workload).unwrap_or_default().to_string(), policies)
    });
    overlap(&rp.name_any(), selections)
}

/// [`overlap_condition`] of policy `me`, from each covered workload's name
/// and the policies selecting it, the deciding one first.
fn overlap(me: &str, selections: impl Iterator<Item = (String, Vec<String>)>) -> StatusCondition {
    const NAMED: usize = 5;
    let (mut decided, mut deferred, mut overlapping) = (Vec::new(), Vec::new(), 0usize);
    for (workload_name, policies) in selections {
        if policies.len() < 2 {
            continue;
        }
        overlapping += 1;
        if decided.len() + deferred.len() >= NAMED {
            continue;
        }
        match &policies[0] {
            decider if decider == me => decided.push(workload_name),
            decider => deferred.push(format!("{workload_name} ({decider} decides)")),
        }
    }
    if overlapping == 0 {
        return StatusCondition::new("Overlap", false, "NoOverlap", String::new());
    }
    let mut parts = Vec::new();
    if !decided.is_empty() {
        parts.push(format!("decides {}", decided.join(", ")));
    }
    if !deferred.is_empty() {
        parts.push(format!("defers on {}", deferred.join(", ")));
    }
    let more = overlapping.saturating_sub(NAMED);
    let more = if more > 0 { format!(", and {more} more") } else { String::new() };
    let message = format!(
        "other RolloutPolicies select {overlapping} of its workloads too; the oldest decides: {me} {}{more}",
        parts.join("; ")
    );
    StatusCondition::new("Overlap", true, "SelectedTwice", message)
}

/// The longest a failing job waits before it runs again.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// When a job that failed for the `failures`-th time in a row runs again:
/// a second after the first failure, twice as long after each next one,
/// at most five minutes. One workload that keeps failing (an API server
/// refusing its writes) is tried less often; the others are not held up.
pub fn error_policy(job: &Job, error: &Error, failures: u32) -> Duration {
    tracing::warn!(?job, %error, failures, "reconcile failed");
    let doubled = Duration::from_secs(1).saturating_mul(1u32 << failures.clamp(1, 20).saturating_sub(1));
    doubled.min(MAX_BACKOFF)
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn a_job_failing_again_and_again_waits_longer_each_time_up_to_five_minutes() {
        let job = Job::Policy { namespace: "shop".into(), name: "web".into() };
        let error = Error::Task("refused".into());
        let waits: Vec<u64> = [1, 2, 3, 4, 9, 10, 40].map(|n| error_policy(&job, &error, n).as_secs()).to_vec();
        assert_eq!(waits, [1, 2, 4, 8, 256, 300, 300]);
        let queue = super::super::queue::Queue::default();
        assert_eq!((queue.failed(&job), queue.failed(&job)), (1, 2));
        queue.succeeded(&job);
        assert_eq!(queue.failed(&job), 1, "a success starts the count again");
    }
}

#[cfg(test)]
mod overlap_tests {
    use super::overlap;

    fn selected_by(policies: usize) -> Vec<(String, Vec<String>)> {
        (0..8).map(|w| (format!("web-{w}"), (0..policies).map(|p| format!("policy-{p}")).collect())).collect()
    }

    #[test]
    fn what_a_policy_is_told_of_an_overlap_does_not_grow_with_the_policies() {
        let few = overlap("policy-1", selected_by(2).into_iter());
        let many = overlap("policy-1", selected_by(150).into_iter());
        assert_eq!(few.message, many.message, "one more policy rewrites no other's status");
        assert!(many.message.len() < 400, "{}", many.message);
        assert!(many.message.contains("policy-1 defers on web-0 (policy-0 decides)"), "{}", many.message);
        assert!(many.message.contains("and 3 more"), "{}", many.message);
        let decider = overlap("policy-0", selected_by(150).into_iter());
        assert!(decider.message.contains("policy-0 decides web-0, web-1"), "{}", decider.message);
        let alone = overlap("policy-0", selected_by(1).into_iter());
        assert_eq!((alone.status.as_str(), alone.reason.as_str()), ("False", "NoOverlap"));
    }
}

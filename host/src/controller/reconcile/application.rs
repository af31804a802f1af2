//! RolloutPolicies that target an application (`spec.application`): its
//! members' watch events become one job, keyed by the application, so one
//! evaluation at a time decides all members and one RolloutDecision
//! records it.

use super::super::crd::{APPLICATION_KINDS, ApplicationSelector, RolloutPolicy};
use super::{Context, Error, Evaluand, RETRY_SOON, evaluate_and_act, synced};
use crate::evaluate::{ApplicationSpec, Members, Subject, TargetSpec};
use crate::objects::{self, ObjectKey};
use kube::ResourceExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The key an application's job and decision go by. No workload has this
/// kind in rewind's group, so it cannot name one.
pub const KIND: &str = "Application";
const API_VERSION: &str = "rewind.dev/v1alpha1";

pub fn is_application_key(key: &ObjectKey) -> bool {
    key.kind == KIND && key.api_version == API_VERSION
}

/// The application `rp` targets, as a job key; none for a policy of
/// workloads.
pub fn key_of(rp: &RolloutPolicy) -> Option<ObjectKey> {
    let application = rp.spec.application.as_ref().filter(|_| rp.spec.target.is_none())?;
    Some(ObjectKey {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        namespace: rp.namespace(),
        name: application.name.clone(),
    })
}

/// Whether `workload` (of `rp`'s namespace) is a member of `application`.
pub fn selects(rp: &RolloutPolicy, application: &ApplicationSelector, key: &ObjectKey, workload: &Value) -> bool {
    if key.group() != "apps" || !APPLICATION_KINDS.contains(&key.kind.as_str()) || key.namespace != rp.namespace() {
        return false;
    }
    match application.members.as_slice() {
        [] => objects::label(workload, rewind_core::application::PART_OF) == Some(application.name.as_str()),
        listed => listed.iter().any(|m| m.kind == key.kind && m.name == key.name),
    }
}

/// Decides the application `key` names with the oldest RolloutPolicy in
/// its namespace that targets it (within the namespace's bound).
pub async fn reconcile(key: &ObjectKey, ctx: &Arc<Context>) -> Result<Option<Duration>, Error> {
    let kinds: Vec<(&str, &str)> = APPLICATION_KINDS.iter().map(|k| ("apps", *k)).collect();
    if !synced(ctx, &kinds) {
        return Ok(RETRY_SOON);
    }
    let namespace = key.namespace.clone().unwrap_or_default();
    let mut targeting: Vec<Arc<RolloutPolicy>> = ctx
        .policies
        .state()
        .into_iter()
        .filter(|rp| key_of(rp).is_some_and(|k| k == *key) && ctx.bounds.check(rp).is_ok())
        .collect();
    targeting.sort_by_key(|rp| (rp.metadata.creation_timestamp.as_ref().map(|t| t.0), rp.name_any()));
    let Some(rp) = targeting.into_iter().next() else {
        ctx.decisions.forget(&ctx.cluster.client, key, &ctx.cache).await?;
        return Ok(None);
    };
    // A member an older RolloutPolicy also covers is that policy's to
    // decide (its Overlap condition says so): never decided twice.
    let members: Vec<Arc<Value>> = super::covered(ctx, &rp)
        .into_iter()
        .filter(|member| super::deciding(ctx, member).is_some_and(|decider| decider.metadata.uid == rp.metadata.uid))
        .collect();
    if members.is_empty() {
        // Until a member exists there is nothing to decide; its creation
        // schedules this job again.
        ctx.decisions.forget(&ctx.cluster.client, key, &ctx.cache).await?;
        return Ok(None);
    }
    let (objects, views) = ctx.cache.trees_of(&members);
    let application = rp.spec.application.as_ref().expect("key_of found it");
    let listed = application.members.iter().map(|m| TargetSpec {
        kind: format!("{}.apps", m.kind),
        name: m.name.clone(),
        namespace: namespace.clone(),
    });
    let spec = ApplicationSpec {
        namespace: namespace.clone(),
        name: application.name.clone(),
        members: match application.members.is_empty() {
            true => Members::PartOf,
            false => Members::Listed(listed.collect()),
        },
    };
    // Member order is the core's (kind then name, or as listed).
    let order = spec.find_members(&objects).map_err(|e| super::ClusterError::Invalid(e.to_string()))?;
    let found: Vec<(String, Option<Arc<Value>>)> = order
        .iter()
        .map(|t| {
            let kind = t.kind.trim_end_matches(".apps");
            let member = members.iter().find(|m| objects::kind(m) == Some(kind) && objects::name(m) == Some(&t.name));
            (format!("{kind}/{}", t.name), member.cloned())
        })
        .collect();
    let missing: Vec<&str> = found.iter().filter(|(_, w)| w.is_none()).map(|(name, _)| name.as_str()).collect();
    if !missing.is_empty() {
        // A listed member that does not exist (or another policy decides):
        // nothing is decided for a part of the application, and the
        // decision says which is missing.
        let status = super::WorkloadStatus {
            name: key.name.clone(),
            members: found.iter().map(|(name, _)| name.clone()).collect(),
            time: crate::time::format(jiff::Timestamp::now().as_second()),
            errors: vec![format!(
                "application {}: listed member {} does not exist in namespace {namespace}, or an older RolloutPolicy \
                 decides it; nothing is decided until the application has all its members",
                key.name,
                missing.join(", ")
            )],
            ..Default::default()
        };
        ctx.decisions.record(&ctx.cluster.client, &rp, key, status, &ctx.cache).await?;
        return Ok(Some(Duration::from_secs(rp.spec.resync_seconds.clamp(1, super::MAX_RESYNC_SECONDS))));
    }
    let workloads: Vec<Arc<Value>> = found.into_iter().filter_map(|(_, w)| w).collect();
    let evaluand = Evaluand { decision: key.clone(), subject: Subject::Application(spec), workloads, objects, views };
    evaluate_and_act(ctx, &rp, evaluand).await
}

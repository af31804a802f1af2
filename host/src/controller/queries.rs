//! The metric queries of a RolloutPolicy, run for a workload before its
//! evaluation: one Prometheus client per declared provider (its bearer
//! token read from the Secret it names, again after a minute), one result
//! cache shared by every workload.

use super::crd::RolloutPolicy;
use crate::objects::{ObjectSet, Origin};
use crate::queries::{MetricSource, MetricsSpec, Prometheus, QueryCache, run_for};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A provider's client (or why there is none) is made again after this.
const PROVIDER_LIFETIME: Duration = Duration::from_secs(60);

/// A provider's client, or why it cannot be made; and when that was found.
type MadeClient = (Instant, Result<Arc<Prometheus>, String>);

#[derive(Default)]
pub struct Providers {
    results: Arc<QueryCache>,
    /// By namespace and provider spec.
    clients: Mutex<HashMap<String, MadeClient>>,
    /// The base URLs RolloutPolicies may name (empty: any): whoever writes a
    /// RolloutPolicy chooses where the controller sends requests and a token.
    allowed: Vec<String>,
}

fn normalized(address: &str) -> &str {
    address.trim_end_matches('/')
}

impl Providers {
    pub fn allowing(addresses: Vec<String>) -> Self {
        let allowed = addresses.iter().map(|a| normalized(a).to_string()).collect();
        Providers { allowed, ..Default::default() }
    }

    /// Runs `rp`'s queries for the workload `target` of `objects` and puts
    /// the results beside it; a query that could not run is a result with
    /// its error. Only `metrics` of the RolloutPolicy's spec is read.
    pub async fn add_results(
        &self,
        client: &Client,
        rp: &RolloutPolicy,
        objects: &mut ObjectSet,
        target: usize,
        now: i64,
    ) {
        let Some(spec) = &rp.spec.metrics else { return };
        let prometheus = match spec.validate() {
            Ok(()) => self.client_for(client, rp, spec).await,
            Err(problem) => Err(format!("RolloutPolicy {}: {problem}", rp.name_any())),
        };
        let source = prometheus.as_deref().map(|p| p as &dyn MetricSource).map_err(Clone::clone);
        let recorded = run_for(spec, source, objects, target, now).await;
        let origin = Origin(format!("the queries of RolloutPolicy {}", rp.name_any()));
        if let Err(problem) = crate::queries::add_results(objects, target, recorded, origin) {
            tracing::warn!(policy = rp.name_any(), problem, "metric results not added");
        }
    }

    async fn client_for(
        &self,
        client: &Client,
        rp: &RolloutPolicy,
        spec: &MetricsSpec,
    ) -> Result<Arc<Prometheus>, String> {
        let namespace = rp.namespace().unwrap_or_default();
        let Some(source) = &spec.prometheus else {
            return Err(format!("RolloutPolicy {}: metrics.prometheus is not set", rp.name_any()));
        };
        if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == normalized(&source.address)) {
            return Err(format!(
                "RolloutPolicy {}: metrics.prometheus.address {} is not one this controller may query (--prometheus-address: {})",
                rp.name_any(),
                source.address,
                self.allowed.join(", ")
            ));
        }
        let key = format!("{namespace}/{}", serde_json::to_string(source).expect("a provider serializes"));
        if let Some((made, client)) = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key)
            && made.elapsed() < PROVIDER_LIFETIME
        {
            return client.clone();
        }
        let token = match &source.bearer_token_secret {
            None => Ok(None),
            Some(secret) => read_token(client, &namespace, &secret.name, &secret.key).await.map(Some),
        };
        let made = token.and_then(|token| {
            Prometheus::new(&source.address, token, source.timeout(), source.max_response_bytes())
                .map(|p| Arc::new(p.with_cache(self.results.clone())))
        });
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        clients.retain(|_, (at, _)| at.elapsed() < PROVIDER_LIFETIME);
        clients.insert(key, (Instant::now(), made.clone()));
        made
    }
}

async fn read_token(client: &Client, namespace: &str, name: &str, key: &str) -> Result<String, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets
        .get(name)
        .await
        .map_err(|e| format!("cannot read the bearer token from Secret {namespace}/{name}: {e}"))?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .ok_or_else(|| format!("Secret {namespace}/{name} has no key {key:?}"))?;
    let token =
        String::from_utf8(bytes.0.clone()).map_err(|_| format!("Secret {namespace}/{name} key {key:?} is not text"))?;
    Ok(token.trim().to_string())
}

//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several
//! controller replicas only one acts. Writes carry the Lease's
//! resourceVersion: two candidates can never both take it.

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use std::time::Duration;

const LEASE_SECONDS: i64 = 15;
const RENEW_EVERY: Duration = Duration::from_secs(5);

fn micro_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Takes or renews the lease once. Ok(true) when `identity` holds it.
pub async fn try_hold(leases: &Api<Lease>, name: &str, identity: &str) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let spec = json!({
        "holderIdentity": identity, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": micro_time(now),
    });
    let Some(mut lease) = leases.get_opt(name).await? else {
        let lease: Lease = serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).expect("a lease");
        return match leases.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(e),
        };
    };
    let current = lease.spec.clone().unwrap_or_default();
    let holder = current.holder_identity.as_deref();
    let expired = current.renew_time.as_ref().is_none_or(|renewed| {
        let duration = current.lease_duration_seconds.unwrap_or(LEASE_SECONDS as i32) as i64;
        renewed.0.as_second() + duration < now.as_second()
    });
    if holder.is_some_and(|h| h != identity) && !expired {
        return Ok(false);
    }
    lease.spec = Some(serde_json::from_value(spec).expect("a lease spec"));
    // `replace` carries the resourceVersion just read: if another candidate
    // wrote in between, this fails with 409 and it keeps the lease.
    match leases.replace(name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Waits until `identity` holds the lease, then keeps renewing it in the
/// background. Losing it ends the process: a replica that may no longer be
/// leader must stop acting at once, and its restart rejoins as a candidate.
pub async fn lead(client: Client, namespace: &str, name: &str, identity: String) {
    let leases: Api<Lease> = Api::namespaced(client, namespace);
    loop {
        match try_hold(&leases, name, &identity).await {
            Ok(true) => break,
            Ok(false) => tracing::info!(lease = name, "another replica leads; waiting"),
            Err(error) => tracing::warn!(%error, "cannot read the lease; retrying"),
        }
        tokio::time::sleep(RENEW_EVERY).await;
    }
    tracing::info!(lease = name, %identity, "leading");
    let name = name.to_string();
    tokio::spawn(async move {
        let mut failures = 0;
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            match try_hold(&leases, &name, &identity).await {
                Ok(true) => failures = 0,
                Ok(false) => {
                    tracing::error!(lease = %name, "lost the lease to another replica; stopping");
                    std::process::exit(1);
                }
                // Renewals fail while the API server is unreachable; give up
                // before the lease can expire under us.
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, failures, "cannot renew the lease");
                    if failures as u64 * RENEW_EVERY.as_secs() >= (LEASE_SECONDS as u64) - RENEW_EVERY.as_secs() {
                        tracing::error!("could not renew the lease in time; stopping");
                        std::process::exit(1);
                    }
                }
            }
        }
    });
}

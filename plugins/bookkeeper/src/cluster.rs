//! What a BookkeeperCluster and its bookies say about the upgrade state.

use crate::Settings;
use rewind_sdk::view::condition;
use rewind_sdk::{ConditionStatus, ContainerRole, ContainerState, Finding, Pod, Snapshot, WaitingReason};

/// A bookie that will not come up by waiting: the operator fails fast on
/// these.
pub struct PodFailure {
    pub pod: String,
    pub container: String,
    pub reason: String,
    pub message: String,
}

impl PodFailure {
    pub fn finding(&self) -> Finding {
        Finding {
            reason: self.reason.clone(),
            message: format!("pod {} update failed because of {}: {}", self.pod, self.reason, self.message),
            pod: Some(self.pod.clone()),
            container: Some(self.container.clone()),
            since: None,
        }
    }
}

struct Bookie {
    version: Option<String>,
    ready: bool,
}

pub struct Cluster {
    pub spec_version: String,
    pub current_version: String,
    pub history: Vec<String>,
    /// `status.currentVersion`, else the newest of `status.versionHistory`.
    pub last_stable: String,
    /// `Error=True`: (reason, message).
    pub error: Option<(String, String)>,
    pub upgrading: bool,
    pub rollback_in_progress: bool,
    pub rollback_message: Option<String>,
    /// The version the StatefulSet's pod template asks for.
    pub deployed_version: Option<String>,
    pub failing_pods: Vec<PodFailure>,
    /// How the component is named in `RollbackInProgress`'s reason.
    pub component: String,
    desired_replicas: usize,
    bookies: Vec<Bookie>,
}

/// The tag of an image reference (`pravega/bookkeeper:0.6.0` → `0.6.0`),
/// ignoring a registry port.
fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next()?;
    let (_, tag) = name.rsplit_once(':')?;
    (!tag.contains('/')).then_some(tag)
}

impl Cluster {
    pub fn read(s: &Snapshot, settings: &Settings) -> Result<Cluster, String> {
        let raw = rewind_sdk::view::target_raw(s)?;
        let spec_version = raw.non_empty_str("/spec/version")?.ok_or("the cluster has no spec.version")?.to_string();
        let current_version = raw.non_empty_str("/status/currentVersion")?.unwrap_or_default().to_string();
        let mut history = Vec::new();
        for (i, entry) in raw.array("/status/versionHistory")?.iter().enumerate() {
            let version = entry.as_str().ok_or_else(|| format!("/status/versionHistory/{i} is not a string"))?;
            history.push(version.to_string());
        }
        let last_stable = match (current_version.as_str(), history.last()) {
            ("", Some(newest)) => newest.clone(),
            ("", None) => return Err("the cluster has neither status.currentVersion nor status.versionHistory".into()),
            (current, _) => current.to_string(),
        };
        let is_true = |kind: &str| condition(&s.target.conditions, kind).filter(|c| c.status == ConditionStatus::True);
        let error =
            is_true("Error").map(|c| (c.reason.clone().unwrap_or_default(), c.message.clone().unwrap_or_default()));

        let statefulset = s.children_of_kind(0, "StatefulSet").next().map(|(i, _)| i);
        let statefulset_raw = statefulset.and_then(rewind_sdk::view::raw_object).map(rewind_sdk::raw::RawObject::new);
        let deployed_version = match &statefulset_raw {
            Some(raw) => raw
                .array("/spec/template/spec/containers")?
                .iter()
                .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(settings.container.as_str()))
                .and_then(|c| c.get("image")?.as_str())
                .and_then(image_tag)
                .map(str::to_string),
            None => None,
        };
        let desired_replicas = match &statefulset_raw {
            Some(raw) => raw.i64("/spec/replicas")?.unwrap_or(1).max(0) as usize,
            None => 0,
        };

        let mut bookies = Vec::new();
        let mut failing_pods = Vec::new();
        for pod in &s.pods {
            if pod.deleting {
                continue;
            }
            bookies.push(Bookie { version: pod_version(pod, settings), ready: pod_ready(pod) });
            failing_pods.extend(pod_failure(s, pod));
        }
        Ok(Cluster {
            spec_version,
            current_version,
            history,
            last_stable,
            error: error.map(|(reason, message)| (reason.to_string(), message.to_string())),
            upgrading: is_true("Upgrading").is_some(),
            rollback_in_progress: is_true("RollbackInProgress").is_some(),
            rollback_message: condition(&s.target.conditions, "RollbackInProgress")
                .and_then(|c| c.message.as_deref().map(str::to_string)),
            deployed_version,
            failing_pods,
            component: settings.component.clone(),
            desired_replicas,
            bookies,
        })
    }

    /// Ready bookies running `version`.
    pub fn updated_replicas(&self, version: &str) -> usize {
        self.bookies.iter().filter(|b| b.ready && b.version.as_deref() == Some(version)).count()
    }

    /// Every desired bookie exists, is Ready and runs `version`.
    pub fn all_ready_on(&self, version: &str) -> bool {
        self.bookies.len() >= self.desired_replicas.max(1) && self.updated_replicas(version) == self.bookies.len()
    }
}

fn bookie_container<'s, 'a>(pod: &'s Pod<'a>, settings: &Settings) -> Option<&'s rewind_sdk::Container<'a>> {
    pod.containers
        .iter()
        .find(|c| c.name == settings.container)
        .or_else(|| pod.containers.iter().find(|c| c.role == ContainerRole::App))
}

fn pod_version(pod: &Pod, settings: &Settings) -> Option<String> {
    bookie_container(pod, settings).and_then(|c| image_tag(&c.image)).map(str::to_string)
}

fn pod_ready(pod: &Pod) -> bool {
    condition(&pod.conditions, "Ready").is_some_and(|c| c.status == ConditionStatus::True)
}

/// Image pull errors and crash loops, in any container of the pod.
fn pod_failure(s: &Snapshot, pod: &Pod) -> Option<PodFailure> {
    pod.containers.iter().find_map(|c| {
        let ContainerState::Waiting(waiting) = &c.state else { return None };
        let fails_fast = matches!(
            waiting.reason,
            WaitingReason::ImagePullBackOff | WaitingReason::ErrImagePull | WaitingReason::CrashLoopBackOff
        );
        fails_fast.then(|| PodFailure {
            pod: s.pod_name(pod).to_string(),
            container: c.name.to_string(),
            reason: waiting.reason.as_str().to_string(),
            message: waiting.message.as_deref().unwrap_or_default().to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_tags_ignore_registry_ports_and_digests() {
        assert_eq!(super::image_tag("pravega/bookkeeper:0.6.0-2239.6e24df7"), Some("0.6.0-2239.6e24df7"));
        assert_eq!(super::image_tag("registry:5000/pravega/bookkeeper"), None);
        assert_eq!(super::image_tag("registry:5000/bk:1.2@sha256:abc"), Some("1.2"));
    }
}

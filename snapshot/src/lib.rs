//! The snapshot of one workload that rewind hands a policy, and its binary
//! encoding.
//!
//! The host builds a [`Snapshot`], encodes it with [`encode`] and passes the
//! bytes to the policy's `detect-failure` export once per evaluation. The
//! guest SDK decodes them with [`decode`]: strings are borrowed from the
//! bytes, so decoding allocates only one vector per list, never per string.
//! Passing one byte list instead of typed WIT records matters because the
//! component model lowers every string and list of a record with a call
//! into the guest's allocator (docs/src/development/snapshot-encoding.md measures it).
//!
//! The encoding is [postcard](https://docs.rs/postcard) of these types, field
//! by field in declaration order. It is part of the WIT package's version:
//! any change to a type here bumps `rewind:policy`, and the host refuses
//! components built against another version, so host and guest always
//! agree on the layout.

mod application;
mod configuration;
mod gitops;
pub mod read;
mod text;
mod wire;

pub use application::Application;
pub use configuration::{ConfigKind, ConfigSource, Live, Recorded, ReleaseConfiguration};
pub use gitops::{GitOps, GitOpsOwner, GitOpsTool, OwnerState};

pub use read::{condition, condition_is, lookup};
pub use text::Text;
pub use wire::DecodeError;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (UTC). Kubernetes timestamps have second
/// resolution.
pub type Timestamp = i64;

/// Index into [`Snapshot::objects`]. Index 0 is always the target.
pub type ObjectIndex = u32;

/// Labels or annotations as key/value pairs, sorted by key (the host reads
/// them from a JSON map that keeps no other order).
pub type Pairs<'a> = Vec<(Text<'a>, Text<'a>)>;

/// `Default` is an empty snapshot at the epoch, for tests and tools that
/// fill in what they need.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Snapshot<'a> {
    /// The evaluation time. Policies have no clock: every time-based rule
    /// compares against this, so an evaluation can be replayed.
    pub now: Timestamp,
    /// The workload being evaluated (the same object as `objects[0]`).
    #[serde(borrow)]
    pub target: Target<'a>,
    /// The versions the workload may return to, oldest first; empty for a
    /// kind other than Deployment, StatefulSet or DaemonSet.
    #[serde(borrow)]
    pub releases: Vec<Release<'a>>,
    /// The ownership tree: the target (index 0) and every object reachable
    /// from it through `ownerReferences` uids, breadth-first.
    #[serde(borrow)]
    pub objects: Vec<ObjectInfo<'a>>,
    /// The pods of the tree, in tree order.
    #[serde(borrow)]
    pub pods: Vec<Pod<'a>>,
    /// The policy's settings as a JSON document (`{}` when none).
    #[serde(borrow)]
    pub settings: Text<'a>,
    /// Results of the metric queries the policy's configuration declares,
    /// by name. Encoded from contract 0.4.0 on; a 0.3.0 snapshot has none.
    #[serde(borrow, default)]
    pub metrics: Vec<Metric<'a>>,
    /// The GitOps object that applies the workload, when its marks name
    /// one. Encoded from contract 0.5.0 on.
    #[serde(borrow, default)]
    pub gitops: Option<GitOps<'a>>,
    /// Each release's recorded configuration, in the order of `releases`
    /// (only releases that have an `object`). Encoded from contract 0.5.0 on.
    #[serde(borrow, default)]
    pub configuration: Vec<ReleaseConfiguration<'a>>,
    /// When the RolloutPolicy targets an application, all its members; the
    /// sections above then describe member 0. Encoded from contract 0.5.0 on.
    #[serde(borrow, default)]
    pub application: Option<Application<'a>>,
}

/// One named query and what it returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Metric<'a> {
    /// The query's `name` as the policy's configuration declares it (or a
    /// RecordedMetrics result records it); unique within the snapshot.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// The query as it was sent, placeholders filled in (as written when
    /// they could not be filled, and the result is the error saying why).
    #[serde(borrow)]
    pub query: Text<'a>,
    /// What the query returned, or why it returned nothing.
    #[serde(borrow)]
    pub result: MetricResult<'a>,
}

/// A query's samples, or why there are none: a failed query is reported,
/// never left out, so the policy decides what missing data means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum MetricResult<'a> {
    /// The one series' samples, oldest first: one for an instant query (or a
    /// scalar), a point per step for a range query; empty when no series matched.
    Samples(Vec<Sample>),
    /// Why the query could not be filled in or run, or why its answer was
    /// refused (Prometheus unreachable, an error answer, several series, ...).
    #[serde(borrow)]
    Error(Text<'a>),
}

/// One point of a query's result.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Sample {
    /// The sample's time as Prometheus gives it, in whole seconds (rounded
    /// down); an instant query's sample is at the evaluation time.
    pub time: Timestamp,
    /// In JSON, a value that is not a finite number is written as
    /// Prometheus writes it: `"NaN"`, `"+Inf"`, `"-Inf"`.
    #[serde(with = "sample_value")]
    #[cfg_attr(feature = "schema", schemars(with = "sample_value::Written<'static>"))]
    pub value: f64,
}

mod sample_value {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        match (serializer.is_human_readable(), value) {
            (true, v) if v.is_nan() => serializer.serialize_str("NaN"),
            (true, v) if *v == f64::INFINITY => serializer.serialize_str("+Inf"),
            (true, v) if *v == f64::NEG_INFINITY => serializer.serialize_str("-Inf"),
            (_, v) => serializer.serialize_f64(*v),
        }
    }

    /// A sample value in JSON: a number, or `"NaN"`, `"+Inf"`, `"-Inf"`.
    #[derive(Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    #[serde(untagged)]
    pub(crate) enum Written<'a> {
        /// A finite value.
        Number(f64),
        /// `"NaN"`, `"+Inf"` or `"-Inf"`.
        Text(&'a str),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        if !deserializer.is_human_readable() {
            return f64::deserialize(deserializer);
        }
        match Written::deserialize(deserializer)? {
            Written::Number(n) => Ok(n),
            Written::Text("NaN") => Ok(f64::NAN),
            Written::Text("+Inf") => Ok(f64::INFINITY),
            Written::Text("-Inf") => Ok(f64::NEG_INFINITY),
            Written::Text(other) => Err(D::Error::custom(format!("{other:?} is not a sample value"))),
        }
    }
}

/// A snapshot as a policy of one contract version reads it in JSON
/// (`host.snapshot-json`): the fields that version has, in their declared
/// order, borrowed from the snapshot.
#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct JsonView<'s, 'a> {
    /// The evaluation time, in seconds since the Unix epoch. Policies have
    /// no clock: every time-based rule compares against this.
    now: Timestamp,
    /// The workload being evaluated.
    target: &'s Target<'a>,
    /// The versions the workload may return to, oldest first; empty for a
    /// kind other than Deployment, StatefulSet or DaemonSet.
    releases: &'s [Release<'a>],
    /// The ownership tree: the target (index 0) and every object reachable
    /// from it through owner references, breadth-first. Other sections
    /// point into it by index.
    objects: &'s [ObjectInfo<'a>],
    /// The pods of the tree, in tree order.
    pods: &'s [Pod<'a>],
    /// The policy's settings as a JSON document in a string (`{}` when none).
    settings: &'s Text<'a>,
    /// Results of the metric queries the RolloutPolicy declares, by name
    /// (contract 0.4.0 on; absent for 0.3.0 policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<&'s [Metric<'a>]>,
    /// The GitOps object that applies the workload, `null` when its marks
    /// name none (contract 0.5.0 on; absent for older policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    gitops: Option<Option<&'s GitOps<'a>>>,
    /// Each release's recorded configuration and whether the cluster still
    /// matches it (contract 0.5.0 on; absent for older policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<&'s [ReleaseConfiguration<'a>]>,
    /// The application evaluated together, each member as this document
    /// describes one workload; `null` for a workload evaluated alone
    /// (contract 0.5.0 on; absent for older policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    application: Option<Option<ApplicationView<'s>>>,
}

/// An application as a policy reads it in JSON.
#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct ApplicationView<'s> {
    /// The application's name.
    name: &'s str,
    /// Each member as a workload evaluated alone; member actions name them
    /// by index, and member 0 is the top-level target.
    members: Vec<JsonView<'s, 's>>,
}

impl<'a> Snapshot<'a> {
    pub fn json_view(&self, encoding: Encoding) -> JsonView<'_, 'a> {
        JsonView {
            now: self.now,
            target: &self.target,
            releases: &self.releases,
            objects: &self.objects,
            pods: &self.pods,
            settings: &self.settings,
            metrics: encoding.has_metrics().then_some(&self.metrics[..]),
            gitops: encoding.has_gitops().then_some(self.gitops.as_ref()),
            configuration: encoding.has_configuration().then_some(&self.configuration[..]),
            application: encoding.has_application().then(|| {
                self.application.as_ref().map(|app| ApplicationView {
                    name: &app.name,
                    members: app.members.iter().map(|m| m.json_view(encoding)).collect(),
                })
            }),
        }
    }
}

/// A condition's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ConditionStatus {
    /// `status` is `"True"` (or an unquoted YAML `true`).
    True,
    /// `status` is `"False"` (or an unquoted YAML `false`).
    False,
    /// `status` is `"Unknown"`, missing, or anything else.
    Unknown,
}

/// One entry of an object's `status.conditions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Condition<'a> {
    /// The condition's `type` field; entries without one are left out.
    #[serde(borrow)]
    pub kind: Text<'a>,
    /// The condition's `status` field.
    pub status: ConditionStatus,
    /// The condition's `reason`; absent when missing.
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    /// The condition's `message`; absent when missing.
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
    /// The condition's `lastTransitionTime`; absent when missing or not a
    /// valid RFC 3339 time.
    pub last_transition: Option<Timestamp>,
}

/// Why a container is waiting. Known reasons are cases of their own, so
/// matching on them needs no string comparison; anything else is `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum WaitingReason<'a> {
    /// `ContainerCreating`: the kubelet is still setting the container up.
    ContainerCreating,
    /// `PodInitializing`: the pod's init containers have not finished.
    PodInitializing,
    /// `ImagePullBackOff`: pulling the image failed; the kubelet waits before retrying.
    ImagePullBackOff,
    /// `ErrImagePull`: pulling the image failed.
    ErrImagePull,
    /// `CrashLoopBackOff`: the container keeps exiting; the kubelet waits before restarting it.
    CrashLoopBackOff,
    /// `CreateContainerError`: the runtime could not create the container.
    CreateContainerError,
    /// `CreateContainerConfigError`: the container's configuration could not
    /// be made (a missing ConfigMap or Secret, say).
    CreateContainerConfigError,
    /// `RunContainerError`: the runtime could not start the container.
    RunContainerError,
    /// `InvalidImageName`: the image reference cannot be parsed.
    InvalidImageName,
    /// Any other reason, as written; empty when `waiting.reason` is missing.
    Other(#[serde(borrow)] Text<'a>),
}

/// Every known waiting reason with its Kubernetes text: the one list the
/// conversions below read.
static KNOWN_WAITING_REASONS: [(WaitingReason<'static>, &str); 9] = [
    (WaitingReason::ContainerCreating, "ContainerCreating"),
    (WaitingReason::PodInitializing, "PodInitializing"),
    (WaitingReason::ImagePullBackOff, "ImagePullBackOff"),
    (WaitingReason::ErrImagePull, "ErrImagePull"),
    (WaitingReason::CrashLoopBackOff, "CrashLoopBackOff"),
    (WaitingReason::CreateContainerError, "CreateContainerError"),
    (WaitingReason::CreateContainerConfigError, "CreateContainerConfigError"),
    (WaitingReason::RunContainerError, "RunContainerError"),
    (WaitingReason::InvalidImageName, "InvalidImageName"),
];

impl<'a> WaitingReason<'a> {
    /// The reason as Kubernetes writes it (`ImagePullBackOff`).
    pub fn as_str(&self) -> &str {
        match self {
            WaitingReason::Other(text) => text,
            known => Self::known_entry(known).1,
        }
    }

    /// The case for a reason as Kubernetes writes it; unknown reasons (and
    /// none) become `Other`.
    pub fn parse(reason: &'a str) -> Self {
        KNOWN_WAITING_REASONS
            .iter()
            .find(|(_, text)| *text == reason)
            .map_or(WaitingReason::Other(Text::borrowed(reason)), |(known, _)| known.clone())
    }

    pub fn into_owned(self) -> WaitingReason<'static> {
        match self {
            WaitingReason::Other(text) => WaitingReason::Other(text.into_owned()),
            known => Self::known_entry(&known).0.clone(),
        }
    }

    /// The case's place in the enum (and in `KNOWN_WAITING_REASONS`); not
    /// for `Other`.
    fn known_position(known: &WaitingReason<'_>) -> usize {
        KNOWN_WAITING_REASONS
            .iter()
            .position(|(reason, _)| reason == known)
            .expect("every case but Other is in the table")
    }

    fn known_entry(known: &WaitingReason<'_>) -> &'static (WaitingReason<'static>, &'static str) {
        &KNOWN_WAITING_REASONS[Self::known_position(known)]
    }
}

/// A container status's `state.waiting`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct WaitingState<'a> {
    /// `waiting.reason`.
    #[serde(borrow)]
    pub reason: WaitingReason<'a>,
    /// `waiting.message`; absent when missing.
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
}

/// A container status's `state.running`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct RunningState {
    /// `running.startedAt`; absent when missing.
    pub started_at: Option<Timestamp>,
}

/// A container status's `state.terminated` or `lastState.terminated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct TerminatedState<'a> {
    /// `terminated.reason` (`Error`, `OOMKilled`, `Completed`, ...); absent when missing.
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    /// `terminated.message`; absent when missing.
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
    /// `terminated.exitCode`; 0 when missing (Kubernetes always sets it).
    pub exit_code: i32,
    /// `terminated.startedAt`; absent when missing.
    pub started_at: Option<Timestamp>,
    /// `terminated.finishedAt`; absent when missing.
    pub finished_at: Option<Timestamp>,
}

/// A container status's `state`: the first of `waiting`, `terminated` and
/// `running` it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ContainerState<'a> {
    /// `state.waiting`: the container is not running yet, or again.
    Waiting(#[serde(borrow)] WaitingState<'a>),
    /// `state.running`.
    Running(RunningState),
    /// `state.terminated`: the container has exited.
    Terminated(#[serde(borrow)] TerminatedState<'a>),
    /// The kubelet has not reported a state yet: the pod's status lists no
    /// such container, or its `state` is empty.
    Unknown,
}

/// Where a container is declared in the pod's spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ContainerRole {
    /// A regular container (`spec.containers`).
    App,
    /// An init container that runs to completion before the app starts.
    Init,
    /// An init container with `restartPolicy: Always` (a native sidecar).
    Sidecar,
}

/// One container of a pod's spec, with its status matched by name from
/// `status.initContainerStatuses` or `status.containerStatuses`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Container<'a> {
    /// The spec's `name`; empty when missing.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// The spec's `image` (not the status's); empty when missing.
    #[serde(borrow)]
    pub image: Text<'a>,
    /// Whether it is an app container, an init container or a sidecar.
    pub role: ContainerRole,
    /// The status's `ready`; false when missing or when there is no status.
    pub ready: bool,
    /// The status's `started`; absent when missing or when there is no status.
    pub started: Option<bool>,
    /// The status's `restartCount`; 0 when missing or when there is no status.
    pub restart_count: u32,
    /// The status's `state`; `unknown` when there is no status.
    #[serde(borrow)]
    pub state: ContainerState<'a>,
    /// The status's `lastState.terminated`: how the previous run ended;
    /// absent when missing or when there is no status.
    #[serde(borrow)]
    pub last_terminated: Option<TerminatedState<'a>>,
}

/// A pod's `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PodPhase {
    /// `Pending`: accepted, but not every container is running yet.
    Pending,
    /// `Running`: bound to a node, with at least one container running or starting.
    Running,
    /// `Succeeded`: every container exited successfully.
    Succeeded,
    /// `Failed`: every container exited, at least one with a failure.
    Failed,
    /// `Unknown`, or `status.phase` is missing or not one of the above.
    Unknown,
}

/// A pod of the target's ownership tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Pod<'a> {
    /// This pod in [`Snapshot::objects`] (name, labels and owner live there).
    pub object: ObjectIndex,
    /// `status.phase`.
    pub phase: PodPhase,
    /// `status.reason`, e.g. `Evicted`; absent when missing.
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    /// `status.message`; absent when missing.
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
    /// `status.conditions` (`PodScheduled`, `Initialized`, `ContainersReady`,
    /// `Ready`, ...); empty when missing.
    #[serde(borrow)]
    pub conditions: Vec<Condition<'a>>,
    /// `metadata.creationTimestamp`; absent when missing.
    pub created: Option<Timestamp>,
    /// `status.startTime` (when the kubelet accepted the pod); absent when missing.
    pub started: Option<Timestamp>,
    /// Whether `metadata.deletionTimestamp` is set: the pod is being deleted.
    pub deleting: bool,
    /// Init containers (and sidecars) first, in spec order, then app
    /// containers. Ephemeral containers are left out.
    #[serde(borrow)]
    pub containers: Vec<Container<'a>>,
}

/// One object of the target's ownership tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct ObjectInfo<'a> {
    /// `apiVersion`; empty when missing.
    #[serde(borrow)]
    pub api_version: Text<'a>,
    /// `kind`; empty when missing.
    #[serde(borrow)]
    pub kind: Text<'a>,
    /// `metadata.name`; empty when missing.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// `metadata.uid`; empty when missing.
    #[serde(borrow)]
    pub uid: Text<'a>,
    /// `metadata.labels`, sorted by key; a value that is not a string is
    /// given as its JSON text.
    #[serde(borrow)]
    pub labels: Pairs<'a>,
    /// `metadata.annotations`, sorted by key; a value that is not a string
    /// is given as its JSON text.
    #[serde(borrow)]
    pub annotations: Pairs<'a>,
    /// Its owner in `objects`: the `controller: true` owner reference when that is
    /// in the tree, else the owner it was found through (the Deployment, for a pod
    /// whose ReplicaSet a dump lacks); absent for the target.
    pub owner: Option<ObjectIndex>,
}

/// A version of the workload the policy may return to. For a Deployment
/// these are its ReplicaSets, for a StatefulSet or DaemonSet its
/// ControllerRevisions: those the target directly owns and its controller
/// counts, ordered by revision (oldest first, unnumbered ones before all).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Release<'a> {
    /// How the release is named in decisions: its revision number as text,
    /// or the history object's `metadata.name` when it has no revision.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// The ReplicaSet's `deployment.kubernetes.io/revision` annotation, or the
    /// ControllerRevision's `revision`; absent when missing.
    pub revision: Option<u64>,
    /// The ReplicaSet or ControllerRevision in [`Snapshot::objects`]; the
    /// host always sets it.
    pub object: Option<ObjectIndex>,
    /// The `pod-template-hash` label of the ReplicaSet's `spec.template` (absent when
    /// missing); for a ControllerRevision, the `controller-revision-hash` its pods carry.
    #[serde(borrow)]
    pub pod_template_hash: Option<Text<'a>>,
    /// The `image` of each app container of the release's pod template
    /// (`spec.containers`, init containers left out), in order.
    #[serde(borrow)]
    pub images: Vec<Text<'a>>,
    /// The history object's `metadata.creationTimestamp`; absent when missing.
    pub created: Option<Timestamp>,
    /// The ReplicaSet's `status.replicas` (0 when missing); for a
    /// ControllerRevision, how many of the target's pods carry its hash.
    pub replicas: u32,
    /// The ReplicaSet's `status.readyReplicas` (0 when missing); for a
    /// ControllerRevision, how many of those pods have `Ready` `True`.
    pub ready_replicas: u32,
    /// The release the workload runs now: the one a StatefulSet's `status.updateRevision`
    /// names, else the one whose pod template is the target's; failing both, once the
    /// spec is observed, the revision a Deployment's annotation names or the highest.
    pub current: bool,
}

/// The workload being evaluated. Counts of a kind rewind does not know are
/// read where a Deployment keeps them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Target<'a> {
    /// `apiVersion`; empty when missing.
    #[serde(borrow)]
    pub api_version: Text<'a>,
    /// `kind`; empty when missing.
    #[serde(borrow)]
    pub kind: Text<'a>,
    /// `metadata.namespace`; empty when missing.
    #[serde(borrow)]
    pub namespace: Text<'a>,
    /// `metadata.name`; empty when missing.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// `metadata.uid`; empty when missing.
    #[serde(borrow)]
    pub uid: Text<'a>,
    /// `metadata.generation`; 0 when missing.
    pub generation: i64,
    /// `status.observedGeneration`: the generation its controller last acted
    /// on; absent when missing.
    pub observed_generation: Option<i64>,
    /// `metadata.labels`, sorted by key; a value that is not a string is
    /// given as its JSON text.
    #[serde(borrow)]
    pub labels: Pairs<'a>,
    /// `metadata.annotations`, sorted by key; a value that is not a string
    /// is given as its JSON text.
    #[serde(borrow)]
    pub annotations: Pairs<'a>,
    /// `status.conditions`; empty when missing.
    #[serde(borrow)]
    pub conditions: Vec<Condition<'a>>,
    /// `spec.paused` (false when missing); always false for a StatefulSet or
    /// DaemonSet.
    pub paused: bool,
    /// `spec.replicas`; a DaemonSet's `status.desiredNumberScheduled`.
    /// Absent when missing (no default of 1 is assumed).
    pub desired_replicas: Option<u32>,
    /// `status.readyReplicas`; a DaemonSet's `status.numberReady`. Absent
    /// when missing (Kubernetes leaves a Deployment's zero counts out).
    pub ready_replicas: Option<u32>,
    /// `status.updatedReplicas`; a DaemonSet's `status.updatedNumberScheduled`.
    /// Absent when missing (see `ready-replicas`).
    pub updated_replicas: Option<u32>,
    /// `status.availableReplicas`; a DaemonSet's `status.numberAvailable`.
    /// Absent when missing (see `ready-replicas`).
    pub available_replicas: Option<u32>,
}

/// The encoding of each contract version that changed it, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Encoding {
    /// `rewind:policy@0.3.0`: no metrics section.
    V0_3,
    /// `rewind:policy@0.4.0`: the metrics section follows the settings.
    V0_4,
    /// `rewind:policy@0.5.0`: the GitOps, configuration and application
    /// sections follow the metrics.
    V0_5,
}

impl Encoding {
    pub const LATEST: Encoding = Encoding::V0_5;

    pub fn has_metrics(self) -> bool {
        self >= Encoding::V0_4
    }

    pub fn has_gitops(self) -> bool {
        self >= Encoding::V0_5
    }

    pub fn has_configuration(self) -> bool {
        self >= Encoding::V0_5
    }

    pub fn has_application(self) -> bool {
        self >= Encoding::V0_5
    }
}

/// The snapshot's bytes in the latest encoding.
pub fn encode(snapshot: &Snapshot<'_>) -> Vec<u8> {
    encode_as(snapshot, Encoding::LATEST)
}

/// The snapshot's bytes as a policy of `encoding`'s contract reads them.
pub fn encode_as(snapshot: &Snapshot<'_>, encoding: Encoding) -> Vec<u8> {
    // A rough size (about what a pod or an object takes) so the buffer
    // seldom grows; an exact size measured no faster.
    let mut out = Vec::with_capacity(512 + 160 * (snapshot.pods.len() + snapshot.objects.len()));
    wire::write_snapshot(snapshot, encoding, &mut out);
    out
}

/// Reads a snapshot from its bytes in the latest encoding, borrowing its
/// strings from them.
pub fn decode(bytes: &[u8]) -> Result<Snapshot<'_>, DecodeError> {
    decode_as(bytes, Encoding::LATEST)
}

pub fn decode_as(bytes: &[u8], encoding: Encoding) -> Result<Snapshot<'_>, DecodeError> {
    let mut reader = wire::Reader::new(bytes);
    match wire::read_snapshot(&mut reader, encoding).and_then(|snapshot| reader.finish().map(|()| snapshot)) {
        Ok(snapshot) => Ok(snapshot),
        Err(wire::Stop) => Err(reader.error()),
    }
}

#[cfg(test)]
mod tests;

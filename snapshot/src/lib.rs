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

pub mod read;
mod text;
mod wire;

pub use read::{condition, condition_is, lookup};
pub use text::Text;
pub use wire::DecodeError;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (UTC). Kubernetes timestamps have second
/// resolution.
pub type Timestamp = i64;

/// Index into [`Snapshot::objects`]. Index 0 is always the target.
pub type ObjectIndex = u32;

/// Labels or annotations as key/value pairs, in the object's key order.
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
    #[serde(borrow)]
    pub target: Target<'a>,
    /// The versions the workload may return to, oldest first.
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
}

/// One named query and what it returned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Metric<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    /// The query as it was sent, placeholders filled in.
    #[serde(borrow)]
    pub query: Text<'a>,
    #[serde(borrow)]
    pub result: MetricResult<'a>,
}

/// A query's samples, or why there are none: a failed query is reported,
/// never left out, so the policy decides what missing data means.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum MetricResult<'a> {
    Samples(Vec<Sample>),
    #[serde(borrow)]
    Error(Text<'a>),
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Sample {
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
        Number(f64),
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
    /// The versions the workload may return to, oldest first.
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
            metrics: (encoding != Encoding::V0_3).then_some(&self.metrics[..]),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Condition<'a> {
    /// The condition's `type` field.
    #[serde(borrow)]
    pub kind: Text<'a>,
    pub status: ConditionStatus,
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
    pub last_transition: Option<Timestamp>,
}

/// Why a container is waiting. Known reasons are cases of their own, so
/// matching on them needs no string comparison; anything else is `Other`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum WaitingReason<'a> {
    ContainerCreating,
    PodInitializing,
    ImagePullBackOff,
    ErrImagePull,
    CrashLoopBackOff,
    CreateContainerError,
    CreateContainerConfigError,
    RunContainerError,
    InvalidImageName,
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct WaitingState<'a> {
    #[serde(borrow)]
    pub reason: WaitingReason<'a>,
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct RunningState {
    pub started_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct TerminatedState<'a> {
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
    pub exit_code: i32,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ContainerState<'a> {
    Waiting(#[serde(borrow)] WaitingState<'a>),
    Running(RunningState),
    Terminated(#[serde(borrow)] TerminatedState<'a>),
    /// The kubelet has not reported a state yet.
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ContainerRole {
    /// A regular container.
    App,
    /// An init container that runs to completion before the app starts.
    Init,
    /// An init container with `restartPolicy: Always` (a native sidecar).
    Sidecar,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Container<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub image: Text<'a>,
    pub role: ContainerRole,
    pub ready: bool,
    pub started: Option<bool>,
    pub restart_count: u32,
    #[serde(borrow)]
    pub state: ContainerState<'a>,
    #[serde(borrow)]
    pub last_terminated: Option<TerminatedState<'a>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Pod<'a> {
    /// This pod in [`Snapshot::objects`] (name, labels and owner live there).
    pub object: ObjectIndex,
    pub phase: PodPhase,
    /// `status.reason`, e.g. `Evicted`.
    #[serde(borrow)]
    pub reason: Option<Text<'a>>,
    #[serde(borrow)]
    pub message: Option<Text<'a>>,
    #[serde(borrow)]
    pub conditions: Vec<Condition<'a>>,
    pub created: Option<Timestamp>,
    pub started: Option<Timestamp>,
    /// Set when the pod is being deleted.
    pub deleting: bool,
    /// Init containers (and sidecars) first, in spec order, then app
    /// containers.
    #[serde(borrow)]
    pub containers: Vec<Container<'a>>,
}

/// One object of the target's ownership tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct ObjectInfo<'a> {
    #[serde(borrow)]
    pub api_version: Text<'a>,
    #[serde(borrow)]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub uid: Text<'a>,
    #[serde(borrow)]
    pub labels: Pairs<'a>,
    #[serde(borrow)]
    pub annotations: Pairs<'a>,
    /// The controlling owner inside the tree (none for the target).
    pub owner: Option<ObjectIndex>,
}

/// A version of the workload the policy may return to. For a Deployment
/// these are its ReplicaSets, ordered by revision (oldest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Release<'a> {
    /// How the release is named in decisions: the revision number for a
    /// Deployment.
    #[serde(borrow)]
    pub id: Text<'a>,
    pub revision: Option<u64>,
    pub object: Option<ObjectIndex>,
    #[serde(borrow)]
    pub pod_template_hash: Option<Text<'a>>,
    #[serde(borrow)]
    pub images: Vec<Text<'a>>,
    pub created: Option<Timestamp>,
    pub replicas: u32,
    pub ready_replicas: u32,
    /// The release the workload runs now.
    pub current: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Target<'a> {
    #[serde(borrow)]
    pub api_version: Text<'a>,
    #[serde(borrow)]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub namespace: Text<'a>,
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub uid: Text<'a>,
    pub generation: i64,
    pub observed_generation: Option<i64>,
    #[serde(borrow)]
    pub labels: Pairs<'a>,
    #[serde(borrow)]
    pub annotations: Pairs<'a>,
    #[serde(borrow)]
    pub conditions: Vec<Condition<'a>>,
    pub paused: bool,
    pub desired_replicas: Option<u32>,
    pub ready_replicas: Option<u32>,
    pub updated_replicas: Option<u32>,
    pub available_replicas: Option<u32>,
}

/// The encoding of each contract version that changed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `rewind:policy@0.3.0`: no metrics section.
    V0_3,
    /// `rewind:policy@0.4.0`: the metrics section follows the settings.
    V0_4,
}

impl Encoding {
    pub const LATEST: Encoding = Encoding::V0_4;
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

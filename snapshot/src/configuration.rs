//! The snapshot's configuration section (contract 0.5.0 on): for each
//! release, the ConfigMaps and Secrets its pod template references, what
//! the host recorded of them while the release was current, and whether
//! the objects in the cluster still match that record.

use crate::{Text, Timestamp};
use serde::{Deserialize, Serialize};

/// The configuration of one release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct ReleaseConfiguration<'a> {
    /// The release, by its `id`.
    #[serde(borrow)]
    pub release: Text<'a>,
    /// When the host recorded the release's configuration; absent when it
    /// has no record (it was never current while a controller recorded, or
    /// the record is gone).
    pub recorded: Option<Timestamp>,
    /// What the release's pod template references, by kind then name.
    #[serde(borrow)]
    pub sources: Vec<ConfigSource<'a>>,
}

/// Whether a source is a ConfigMap or a Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ConfigKind {
    ConfigMap,
    Secret,
}

/// One ConfigMap or Secret a release's pod template references (a volume,
/// a projected volume, `envFrom` or `env[].valueFrom`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct ConfigSource<'a> {
    /// A ConfigMap or a Secret.
    pub kind: ConfigKind,
    /// The object's name, in the target's namespace.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// Every reference to it is `optional: true`, so pods start without it.
    pub optional: bool,
    /// What the record holds of it.
    #[serde(borrow)]
    pub recorded: Recorded<'a>,
    /// The object as it is now, against the record.
    #[serde(borrow)]
    pub live: Live<'a>,
}

/// What the release's record holds of one source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Recorded<'a> {
    /// Its data: `restore-configuration` writes it back.
    Data,
    /// Only which version it was (a Secret, whose data is never copied, or
    /// a ConfigMap over the size cap): why.
    VersionOnly(#[serde(borrow)] Text<'a>),
    /// It did not exist while the release was current.
    Absent,
    /// The release has no record.
    NotRecorded,
}

/// The object in the cluster now, against the record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Live<'a> {
    /// It holds what was recorded (for a Secret: the same object at the
    /// same resourceVersion).
    Matches,
    /// It changed since it was recorded (for a Secret: it was written
    /// since, its data or its metadata).
    Changed,
    /// It does not exist now.
    Missing,
    /// It exists; there is no record to compare it with.
    Present,
    /// It could not be read: why.
    Unknown(#[serde(borrow)] Text<'a>),
}

//! The snapshot's application section (contract 0.5.0 on): when a
//! RolloutPolicy targets an application (workloads grouped by
//! `app.kubernetes.io/part-of`, or listed), every member's own snapshot, so
//! one evaluation sees them all and may act on several.

use crate::{Snapshot, Text};
use serde::{Deserialize, Serialize};

/// The workloads evaluated together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub struct Application<'a> {
    /// The application's name: the `app.kubernetes.io/part-of` value its
    /// members carry, or the name the RolloutPolicy gives its list.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// Each member's snapshot, as a workload evaluated alone would get it
    /// (its own `application` is absent). A member action names a member
    /// by its index here; member 0 is also the top-level target, so the
    /// snapshot's own sections describe it.
    #[serde(borrow)]
    pub members: Vec<Snapshot<'a>>,
}

impl<'a> Application<'a> {
    /// The member whose target is `kind`/`name`, with its index.
    pub fn member(&self, kind: &str, name: &str) -> Option<(u32, &Snapshot<'a>)> {
        self.members
            .iter()
            .enumerate()
            .find(|(_, m)| m.target.kind == kind && m.target.name == name)
            .map(|(i, m)| (i as u32, m))
    }
}

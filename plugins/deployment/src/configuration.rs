//! What a rollback does about the configuration the release ran with (the
//! `configuration` setting).
//!
//! The host records, for each release, the ConfigMaps and Secrets its pod
//! template references. When the release a rollback returns to had other
//! ConfigMap data than the cluster holds now (the failed release changed
//! it, or a name-hashed one was pruned), `restore` (the default) writes it
//! back just before the rollback, so the restored pods start with it;
//! `report` says which ConfigMaps differ and leaves them; `ignore` says
//! nothing. A Secret written since the release was recorded is reported in
//! every mode but `ignore`: rewind never writes Secrets.

use rewind_sdk::{Action, ConfigKind, Live, Recorded, Release, Snapshot, act};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Write back the ConfigMaps the release had, before rolling back.
    #[default]
    Restore,
    /// Say which ConfigMaps differ; write nothing.
    Report,
    /// Say nothing about configuration.
    Ignore,
}

/// What the configuration means for a rollback to `release`: actions to
/// run just before the rollback, and what to say beside the reason.
pub struct BeforeRollback {
    pub actions: Vec<Action>,
    pub notes: Vec<String>,
}

pub fn before_rollback(snapshot: &Snapshot, release: &Release, mode: Mode) -> BeforeRollback {
    let mut out = BeforeRollback { actions: Vec::new(), notes: Vec::new() };
    let Some(configuration) = snapshot.configuration_of(release) else { return out };
    if mode == Mode::Ignore {
        return out;
    }
    let names = |kind: ConfigKind, pick: &dyn Fn(&Recorded, &Live) -> bool| -> Vec<String> {
        configuration
            .sources
            .iter()
            .filter(|s| s.kind == kind && pick(&s.recorded, &s.live))
            .map(|s| s.name.to_string())
            .collect()
    };
    let differs = |live: &Live| matches!(live, Live::Changed | Live::Missing);
    let restorable = names(ConfigKind::ConfigMap, &|recorded, live| *recorded == Recorded::Data && differs(live));
    let unrestorable =
        names(ConfigKind::ConfigMap, &|recorded, live| matches!(recorded, Recorded::VersionOnly(_)) && differs(live));
    let secrets = names(ConfigKind::Secret, &|_, live| differs(live));
    let revision = release.revision.map_or_else(|| release.id.to_string(), |r| r.to_string());
    if !restorable.is_empty() {
        match (mode, release.revision) {
            (Mode::Restore, Some(number)) => {
                out.actions.push(act::restore_configuration(number));
                out.notes.push(format!("ConfigMap {} restored as revision {revision} had it", restorable.join(", ")));
            }
            _ => out.notes.push(format!(
                "ConfigMap {} differs from what revision {revision} ran with and is left as it is",
                restorable.join(", ")
            )),
        }
    }
    if !unrestorable.is_empty() {
        out.notes.push(format!(
            "ConfigMap {} differs from revision {revision}'s, whose data was not recorded (over the size cap): restore \
             it by hand",
            unrestorable.join(", ")
        ));
    }
    if !secrets.is_empty() {
        let note = format!(
            "Secret {} was written since revision {revision} was recorded; rewind does not restore Secrets: check it",
            secrets.join(", ")
        );
        out.actions.push(act::warning("SecretChanged", note.clone()));
        out.notes.push(note);
    }
    out
}

/// ConfigMaps the release the workload runs references, whose data now
/// differs from what was recorded for that release: the template did not
/// change, so the configuration is what changed since. Only ConfigMaps
/// whose data the record holds; none when the release has no record.
pub struct ChangedAlone {
    pub revision: u64,
    pub config_maps: Vec<String>,
}

pub fn changed_alone(snapshot: &Snapshot) -> Option<ChangedAlone> {
    let current = snapshot.current_release()?;
    let revision = current.revision?;
    let configuration = snapshot.configuration_of(current).filter(|c| c.recorded.is_some())?;
    let config_maps: Vec<String> = configuration
        .sources
        .iter()
        .filter(|s| s.kind == ConfigKind::ConfigMap && s.recorded == Recorded::Data)
        .filter(|s| matches!(s.live, Live::Changed | Live::Missing))
        .map(|s| s.name.to_string())
        .collect();
    (!config_maps.is_empty()).then_some(ChangedAlone { revision, config_maps })
}

impl ChangedAlone {
    pub fn describe(&self) -> String {
        format!(
            "ConfigMap {} changed since revision {} (the one running) was recorded, its template unchanged",
            self.config_maps.join(", "),
            self.revision
        )
    }
}

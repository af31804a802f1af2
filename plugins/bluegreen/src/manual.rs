//! A manual rollback, requested with `e6data.io/rollback-to=<version>`. The
//! guide's rollback flow: the operator finds the version in the history,
//! puts its image tags into the spec and removes the annotation; the
//! blue-green deployment that the spec change triggers does the rest.
//!
//! Asking for the release that is already active is a no-op when the spec
//! already names its tags ("no deployment triggered"). After an automatic
//! rollback, though, the spec still names the failed release's tags, which
//! the operator would deploy again on its next change; the guide's
//! walkthrough asks for the serving release to bring the spec back, so the
//! tags that differ are restored.
//!
//! No path writes the release history. The FAQ's "each rollback creates a
//! new release in the history" is the release the operator records when it
//! deploys the changed spec (rollback flow steps 5-6: "Blue-green
//! deployment triggers automatically", "New deployment created with
//! rolled-back version"), as it records every deployment; a release names
//! the strategy that deployed it, and the request itself deploys nothing.

use crate::ROLLBACK_ANNOTATION;
use crate::state::BlueGreen;
use rewind_sdk::view::shorten;
use rewind_sdk::{Eligibility, Selection, Snapshot, act};
use serde_json::{Map, Value, json};

/// The image tags of a release as its history entry records them.
struct Tags {
    storage: String,
    schema: String,
}

/// The image tags the spec names (`spec.<component>.imageTag`), if any.
struct SpecTags {
    storage: Option<String>,
    schema: Option<String>,
}

/// The release a manual request names and its image tags, or why it
/// cannot be rolled back to: not in the history, or without a tag to set.
fn requested_release(state: &BlueGreen, requested: &str) -> Result<Tags, String> {
    let shown = shorten(requested, 128);
    let Some(release) = state.release(requested) else {
        let available = state.versions();
        let available = if available.is_empty() { "none".to_string() } else { available.join(", ") };
        return Err(format!("Release version {shown} not found in release history (available: {available})"));
    };
    let tag = |field: &str| match release.get(field).and_then(Value::as_str).map(str::trim) {
        Some(tag) if !tag.is_empty() => Ok(tag.to_string()),
        _ => Err(format!("Release {shown} in the release history has no {field} to roll back to")),
    };
    Ok(Tags { storage: tag("storageTag")?, schema: tag("schemaTag")? })
}

/// A manual request may go ahead only for a release it can restore;
/// otherwise it is answered, and its annotation removed so it is not
/// retried.
pub fn manual_eligibility(state: &BlueGreen, requested: &str) -> Eligibility {
    match requested_release(state, requested) {
        Ok(_) => {
            let reason =
                format!("Manual rollback to release {requested} requested by annotation {ROLLBACK_ANNOTATION}");
            Eligibility { eligible: true, reason, actions: Vec::new() }
        }
        Err(problem) => {
            let reason = format!("{problem}; annotation removed");
            Eligibility {
                eligible: false,
                reason: reason.clone(),
                actions: vec![act::remove_annotation(ROLLBACK_ANNOTATION), act::warning("RollbackFailed", reason)],
            }
        }
    }
}

pub fn manual_rollback(s: &Snapshot, state: &BlueGreen, requested: &str) -> Result<Selection, String> {
    // check-eligibility refuses such a request; answering it here too keeps
    // a direct caller from a selection without a release.
    let release = match requested_release(state, requested) {
        Ok(tags) => tags,
        Err(problem) => {
            let actions = vec![act::remove_annotation(ROLLBACK_ANNOTATION)];
            return Ok(Selection { release: None, reason: problem.clone(), error: Some(problem), actions });
        }
    };
    if !is_active(state, requested) {
        let reason =
            format!("Rolling back to release {requested} (storage {}, schema {})", release.storage, release.schema);
        let patch = json!({"spec": {"storage": {"imageTag": release.storage}, "schema": {"imageTag": release.schema}}});
        return Ok(spec_rollback(s, requested, &patch, reason));
    }
    let spec = spec_tags(s)?;
    let Some(patch) = restoring_patch(&spec, &release) else {
        let reason = format!("Release {requested} is already active; nothing to do");
        let actions = vec![act::remove_annotation(ROLLBACK_ANNOTATION), act::normal("RollbackSkipped", reason.clone())];
        return Ok(Selection { release: Some(requested.into()), reason, error: None, actions });
    };
    let reason = format!(
        "Release {requested} is active, but the spec names other image tags; restoring them ({})",
        changed_tags(&spec, &release).join(", ")
    );
    Ok(spec_rollback(s, requested, &patch, reason))
}

/// Whether the requested release is the active one. The guide's "rollback
/// to active version" reads activeReleaseVersion; after an automatic
/// rollback the release served is the active one too.
fn is_active(state: &BlueGreen, requested: &str) -> bool {
    state.served_version() == Some(requested) || state.active_version.as_deref() == Some(requested)
}

fn spec_tags(s: &Snapshot) -> Result<SpecTags, String> {
    let raw = rewind_sdk::view::target_raw(s)?;
    let tag = |pointer: &str| raw.str(pointer).map(|t| t.map(str::to_string));
    Ok(SpecTags { storage: tag("/spec/storage/imageTag")?, schema: tag("/spec/schema/imageTag")? })
}

/// Each component whose spec tag is not the release's, with both tags.
fn differing<'t>(spec: &'t SpecTags, release: &'t Tags) -> Vec<(&'static str, Option<&'t str>, &'t str)> {
    [
        ("storage", spec.storage.as_deref(), release.storage.as_str()),
        ("schema", spec.schema.as_deref(), release.schema.as_str()),
    ]
    .into_iter()
    .filter(|(_, named, wanted)| *named != Some(*wanted))
    .collect()
}

/// The merge patch setting only the tags that differ (a merge patch leaves
/// the fields it does not name alone); none when the spec names them all.
fn restoring_patch(spec: &SpecTags, release: &Tags) -> Option<Value> {
    let components: Map<String, Value> = differing(spec, release)
        .into_iter()
        .map(|(component, _, wanted)| (component.to_string(), json!({"imageTag": wanted})))
        .collect();
    (!components.is_empty()).then(|| json!({"spec": components}))
}

/// `storage 1.0.450-new to 1.0.437-173b0ad`, for each tag restored.
fn changed_tags(spec: &SpecTags, release: &Tags) -> Vec<String> {
    differing(spec, release)
        .into_iter()
        .map(|(component, named, wanted)| {
            format!("{component} {} to {wanted}", named.map_or("(none)".into(), |n| shorten(n, 128)))
        })
        .collect()
}

/// What every manual rollback that changes the spec does, in the guide's
/// order: the spec takes the tags, the annotation goes ("to prevent retry
/// loops"), and an event says so.
fn spec_rollback(s: &Snapshot, requested: &str, patch: &Value, reason: String) -> Selection {
    let actions = vec![
        act::merge_patch(act::target_key(s), patch),
        act::remove_annotation(ROLLBACK_ANNOTATION),
        act::normal("ManualRollback", reason.clone()),
    ];
    Selection { release: Some(requested.into()), reason, error: None, actions }
}

//! The placeholders of a declared query, filled in for one workload.

use crate::objects::ObjectSet;
use rewind_snapshot::Release;

/// `releaseStart` is the current release's creation as Unix seconds, for
/// PromQL's `@` modifier: the previous release's rate over the window before
/// the current one replaced it.
pub const PLACEHOLDERS: [&str; 8] = [
    "namespace",
    "workload",
    "kind",
    "release",
    "podTemplateHash",
    "releaseStart",
    "previousRelease",
    "previousPodTemplateHash",
];

/// What a workload's placeholders stand for; `None` where the workload has
/// no such thing (no previous release, a release without a hash).
#[derive(Clone, Debug, PartialEq)]
pub struct Placeholders {
    values: [Option<String>; 8],
}

/// Every `{{name}}` in `query`, or the first malformed one.
fn names(query: &str) -> Result<Vec<(std::ops::Range<usize>, &str)>, String> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(start) = query[rest..].find("{{").map(|i| rest + i) {
        let Some(end) = query[start..].find("}}").map(|i| start + i + 2) else {
            return Err(format!("`{{{{` at byte {start} is not closed by `}}}}`"));
        };
        let name = query[start + 2..end - 2].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("unknown placeholder {{{{{name}}}}} (known: {})", PLACEHOLDERS.join(", ")));
        }
        found.push((start..end, name));
        rest = end;
    }
    Ok(found)
}

/// Checks a query's placeholders without filling them.
pub fn check(query: &str) -> Result<(), String> {
    names(query).map(|_| ())
}

/// The content of a double-quoted PromQL string: backslashes and double
/// quotes escaped (PromQL refuses an escaped single quote there).
fn escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Placeholders {
    /// The target's names and its current and previous releases, as its
    /// snapshot sees them (the same rules that decide the rollback).
    pub fn of(set: &ObjectSet, target: usize, now: i64) -> Result<Placeholders, String> {
        let built = rewind_core::snapshot::build(set, target, now, "{}").map_err(|e| e.to_string())?;
        let snapshot = &built.snapshot;
        // The release a rollback would return to, by the SDK's rule.
        let current = snapshot.current_release();
        let previous = snapshot.previous_release();
        let hash = |r: Option<&Release>| r.and_then(|r| r.pod_template_hash.as_ref()).map(|h| h.as_str().to_string());
        Ok(Placeholders {
            values: [
                Some(snapshot.target.namespace.as_str().to_string()),
                Some(snapshot.target.name.as_str().to_string()),
                Some(snapshot.target.kind.as_str().to_string()),
                current.map(|r| r.id.as_str().to_string()),
                hash(current),
                current.and_then(|r| r.created).map(|t| t.to_string()),
                previous.map(|r| r.id.as_str().to_string()),
                hash(previous),
            ],
        })
    }

    /// `query` with its placeholders filled (escaped for a PromQL string),
    /// or which one this workload has no value for.
    pub fn fill(&self, query: &str) -> Result<String, String> {
        let mut filled = String::with_capacity(query.len());
        let mut copied = 0;
        for (range, name) in names(query)? {
            let index = PLACEHOLDERS.iter().position(|p| *p == name).expect("names() checked it");
            let Some(value) = &self.values[index] else {
                return Err(format!("{{{{{name}}}}} has no value for this workload (it has no such release)"));
            };
            filled.push_str(&query[copied..range.start]);
            filled.push_str(&escaped(value));
            copied = range.end;
        }
        filled.push_str(&query[copied..]);
        Ok(filled)
    }
}

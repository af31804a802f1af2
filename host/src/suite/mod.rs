//! `rewind test`: suite files of cases, each a cluster dump, a target, a
//! time and what the policy is expected to decide and do.
//!
//! A suite file is any file below the given path whose name ends in
//! `suite.yaml` or `suite.yml`. Paths in it are relative to the file.

mod build;
mod expect;
mod run;

pub use build::{GUEST_PROFILE, GUEST_TARGET, build_policy, resolve_policy};
pub use expect::Expectations;
pub use run::{CaseResult, SuiteResult, run_suite_file};

use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// A `.wasm` component, or a policy crate directory (built on demand).
    pub policy: PathBuf,
    #[serde(default)]
    pub settings: Option<Value>,
    /// What the policy is given beyond a rollback, as a RolloutPolicy's
    /// `spec.grants`.
    #[serde(default)]
    pub grants: Vec<String>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub cluster: OneOrMany,
    /// `Kind/name`; or else `application`.
    #[serde(default)]
    pub target: Option<String>,
    /// An application's name: its members are the workloads labelled
    /// `app.kubernetes.io/part-of` with it, or those `members` lists.
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub now: String,
    /// Replaces the suite's settings for this case.
    #[serde(default)]
    pub settings: Option<Value>,
    /// Replaces the suite's grants for this case.
    #[serde(default)]
    pub grants: Option<Vec<String>>,
    /// Metric query results for the target, as a RecordedMetrics object's
    /// `results` (each `name`, `query`, and `samples` or `error`); they
    /// replace results the dump records.
    #[serde(default)]
    pub metrics: Option<Vec<Value>>,
    pub expect: Expectations,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl OneOrMany {
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            OneOrMany::One(p) => vec![p.clone()],
            OneOrMany::Many(ps) => ps.clone(),
        }
    }
}

fn default_namespace() -> String {
    "default".into()
}

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no suite file (*suite.yaml) below {0}")]
    NoSuites(PathBuf),
    #[error("building policy crate {path} failed: {message}")]
    Build { path: PathBuf, message: String },
}

pub fn parse_suite(path: &Path) -> Result<SuiteFile, SuiteError> {
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read { path: path.to_path_buf(), source })?;
    serde_yaml::from_str(&text).map_err(|e| SuiteError::Parse { path: path.to_path_buf(), message: e.to_string() })
}

/// Suite files at or below `path`, in path order.
pub fn discover(path: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let mut found = Vec::new();
    collect(path, &mut found)?;
    if found.is_empty() {
        return Err(SuiteError::NoSuites(path.to_path_buf()));
    }
    found.sort();
    Ok(found)
}

fn collect(path: &Path, found: &mut Vec<PathBuf>) -> Result<(), SuiteError> {
    let read_error = |source| SuiteError::Read { path: path.to_path_buf(), source };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if metadata.is_file() {
        found.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path).map_err(read_error)? {
        let entry = entry.map_err(read_error)?.path();
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if entry.is_dir() {
            if name != "target" && !name.starts_with('.') {
                collect(&entry, found)?;
            }
        } else if name.ends_with("suite.yaml") || name.ends_with("suite.yml") {
            found.push(entry);
        }
    }
    Ok(())
}

/// Settings as the JSON text a policy receives (`{}` when none).
pub fn settings_json(settings: Option<&Value>) -> String {
    settings.map_or_else(|| "{}".to_string(), Value::to_string)
}

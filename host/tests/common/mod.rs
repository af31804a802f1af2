//! Shared by the integration tests: real policy components built from the
//! workspace (once per test binary), and a runtime whose on-disk cache is
//! shared by all test binaries so each component compiles once.
#![allow(dead_code)]

pub mod cluster;
pub mod fake_api;
pub mod prometheus;

use rewind::dump;
use rewind::evaluate::{EvalOptions, Evaluation, TargetSpec, evaluate};
use rewind::objects::ObjectSet;
use rewind::runtime::{ArtifactCache, LoadedPolicy, PolicyRuntime, SandboxLimits};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ is in the workspace").to_path_buf()
}

/// Builds a guest crate of the workspace (`plugins/deployment`,
/// `tests/components/hostile`) and returns its component.
pub fn component(crate_dir: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    built
        .entry(crate_dir.to_string())
        .or_insert_with(|| {
            rewind::suite::resolve_policy(&workspace().join(crate_dir)).unwrap_or_else(|e| panic!("{e}"))
        })
        .clone()
}

/// Runs the `rewind` binary as a user would, from the workspace directory,
/// with the tests' compile cache unless `env` names another; returns the
/// exit code, stdout and stderr.
pub fn run_rewind(args: &[&str], env: &[(&str, &Path)]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .env("REWIND_CACHE_DIR", cache_dir())
        .envs(env.iter().copied())
        .current_dir(workspace())
        .output()
        .expect("the rewind binary runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

pub fn cache_dir() -> PathBuf {
    workspace().join("target").join("rewind-test-cache")
}

pub fn runtime() -> &'static PolicyRuntime {
    static RUNTIME: OnceLock<PolicyRuntime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::new(cache_dir()))).expect("runtime")
    })
}

pub fn deployment_policy() -> LoadedPolicy {
    runtime().load(&component("plugins/deployment"), "{}").unwrap_or_else(|e| panic!("{e}"))
}

pub fn hostile(attack: &str, stage: &str) -> LoadedPolicy {
    let settings = format!(r#"{{"attack": "{attack}", "stage": "{stage}"}}"#);
    runtime().load(&component("tests/components/hostile"), &settings).unwrap_or_else(|e| panic!("{e}"))
}

pub fn example(name: &str) -> ObjectSet {
    dump::load_paths(&[workspace().join("examples/deployment").join(name)]).unwrap_or_else(|e| panic!("{e}"))
}

pub fn web() -> TargetSpec {
    TargetSpec::parse("Deployment/web", "shop").unwrap()
}

pub fn run(policy: &LoadedPolicy, objects: &mut ObjectSet, now: &str, apply: bool) -> Evaluation {
    let options = EvalOptions { apply, ..EvalOptions::offline(rewind::time::parse(now).unwrap(), Vec::new()) };
    evaluate(policy, objects, &web(), &options).unwrap_or_else(|e| panic!("{e}"))
}

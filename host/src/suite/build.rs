//! Building a policy crate into a component, for suites that name a crate
//! directory rather than a `.wasm` file.

use super::SuiteError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The rustup target policies are built for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";
/// The workspace profile for policies (size-optimised release).
pub const GUEST_PROFILE: &str = "guest";

/// Returns `path` if it is a file; if it is a crate directory, builds it
/// with cargo and returns the component it produced.
pub fn resolve_policy(path: &Path) -> Result<PathBuf, SuiteError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    build_policy(path, false)
}

/// Builds the policy crate in `path` for [`GUEST_TARGET`] with the
/// [`GUEST_PROFILE`] profile and returns the component. With `progress`,
/// cargo's own progress and diagnostics go to stderr as it works.
pub fn build_policy(path: &Path, progress: bool) -> Result<PathBuf, SuiteError> {
    let manifest = path.join("Cargo.toml");
    let fail = |message: String| SuiteError::Build { path: path.to_path_buf(), message };
    if !manifest.is_file() {
        return Err(fail("the directory has no Cargo.toml".into()));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--message-format=json-render-diagnostics", "--target", GUEST_TARGET])
        .args(["--profile", GUEST_PROFILE, "--manifest-path"])
        .arg(&manifest)
        .stderr(if progress { Stdio::inherit() } else { Stdio::piped() })
        .output()
        .map_err(|e| fail(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        if progress {
            return Err(fail("cargo failed (its messages are above)".into()));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(fail(tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The last `.wasm` artifact is the crate's own (dependencies come first).
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .flat_map(|m| {
            m["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.as_str().map(PathBuf::from))
        })
        .rfind(|f| f.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| fail("cargo produced no .wasm component (is the crate a cdylib?)".into()))
}

//! `rewind new` and `rewind build`: a policy crate from the README's example
//! policy, and a crate built into a component.
//!
//! The template is the example policy itself (`examples/policies/rollback-on-crash`)
//! and its suite's dumps, embedded at compile time, so what `rewind new`
//! writes is what the repository's own tests build and run. The SDK comes
//! with it (`vendor/`, embedded by `build.rs`), so the crate builds
//! outside a checkout of rewind.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    #[error(
        "policy name {0:?} is not usable: use lowercase letters, digits and '-', starting with a letter (e.g. rollback-on-oom)"
    )]
    BadName(String),
    #[error("{0} already exists; rewind new never writes over files")]
    Exists(PathBuf),
    #[error("the rewind SDK was not found at {0}; pass --sdk with the path of plugins/sdk in a rewind checkout")]
    NoSdk(PathBuf),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

const EXAMPLE_POLICY: &str = include_str!("../../../examples/policies/rollback-on-crash/src/lib.rs");
const EXAMPLE_SUITE: &str = include_str!("../../../examples/policies/rollback-on-crash/rollback-on-crash.suite.yaml");
/// The dumps the example suite reads, by the name the suite gives them.
const EXAMPLE_DUMPS: &[(&str, &str)] = &[
    ("revision-ten.yaml", include_str!("../../../examples/deployment/revision-ten.yaml")),
    ("healthy.yaml", include_str!("../../../examples/deployment/healthy.yaml")),
    ("first-revision.yaml", include_str!("../../../examples/deployment/first-revision.yaml")),
];

/// The SDK and the snapshot crate it depends on, as (path below `vendor/`,
/// contents).
const VENDORED_SDK: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/vendored_sdk.rs"));

/// The SDK version this binary speaks, which the vendored copy carries.
const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the new crate's SDK comes from.
enum SdkSource {
    /// The copy written into the crate's `vendor/`.
    Vendored,
    /// An SDK crate on this machine (`--sdk`), used in place.
    Local(PathBuf),
}

/// Creates the policy crate `name` in `parent/name`: Cargo manifest (its own
/// workspace, the `guest` profile `rewind build` uses), the example rules
/// under the policy's name, and a suite with its dumps that passes as
/// created. Returns the crate directory.
pub fn new_policy(name: &str, parent: &Path, sdk: Option<&Path>) -> Result<PathBuf, AuthoringError> {
    if !valid_name(name) {
        return Err(AuthoringError::BadName(name.to_string()));
    }
    let sdk = match sdk {
        None => SdkSource::Vendored,
        Some(given) => {
            let sdk = given.canonicalize().map_err(|_| AuthoringError::NoSdk(given.to_path_buf()))?;
            if !sdk.join("Cargo.toml").is_file() {
                return Err(AuthoringError::NoSdk(sdk));
            }
            SdkSource::Local(sdk)
        }
    };
    let dir = parent.join(name);
    if dir.exists() {
        return Err(AuthoringError::Exists(dir));
    }
    let mut files = vec![
        ("Cargo.toml".to_string(), manifest(name, &sdk)),
        ("src/lib.rs".to_string(), policy_source(name)),
        (format!("{name}.suite.yaml"), suite(name)),
        (".gitignore".to_string(), "/target\n".to_string()),
    ];
    files.extend(EXAMPLE_DUMPS.iter().map(|(file, text)| (format!("fixtures/{file}"), text.to_string())));
    if let SdkSource::Vendored = sdk {
        files.extend(VENDORED_SDK.iter().map(|(file, text)| (format!("vendor/{file}"), vendored_text(file, text))));
    }
    for (relative, text) in files {
        let path = dir.join(relative);
        let written = std::fs::create_dir_all(path.parent().expect("files sit in the crate directory"))
            .and_then(|()| std::fs::write(&path, text));
        written.map_err(|source| AuthoringError::Write { path, source })?;
    }
    Ok(dir)
}

fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

/// `rollback-on-oom` → `RollbackOnOom`.
fn type_name(name: &str) -> String {
    name.split('-')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase()).into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

/// A vendored file as the copy needs it: the SDK finds the snapshot crate
/// beside it in `vendor/`, not where the repository keeps it.
fn vendored_text(file: &str, text: &str) -> String {
    if file == "rewind-sdk/Cargo.toml" {
        text.replace(r#"path = "../../snapshot""#, r#"path = "../rewind-snapshot""#)
    } else {
        text.to_string()
    }
}

fn manifest(name: &str, sdk: &SdkSource) -> String {
    let dependency = match sdk {
        SdkSource::Vendored => format!(
            "# The SDK is vendored: this crate builds without a checkout of rewind.\n\
             rewind-sdk = {{ version = \"={SDK_VERSION}\", path = \"vendor/rewind-sdk\" }}"
        ),
        SdkSource::Local(path) => {
            let path = path.display().to_string().replace('\\', "/");
            format!("rewind-sdk = {{ version = \"={SDK_VERSION}\", path = \"{path}\" }}")
        }
    };
    format!(
        r#"[package]
name = "{name}"
description = "A rewind rollback policy"
edition = "2024"
version = "0.1.0"
publish = false

[lib]
# cdylib: the component; rlib: unit tests and native runs.
crate-type = ["cdylib", "rlib"]

[dependencies]
{dependency}
serde = {{ version = "1", features = ["derive"] }}

# A workspace of its own, so the crate builds wherever it is placed.
[workspace]

# `rewind build` builds with this profile for wasm32-wasip2. Optimised for
# speed: a policy runs on every evaluation, and -O3 decodes the snapshot
# about 20% faster than -Os for 7% more bytes.
[profile.guest]
inherits = "release"
opt-level = 3
lto = true
codegen-units = 1
strip = true
panic = "abort"
"#
    )
}

fn policy_source(name: &str) -> String {
    let body = EXAMPLE_POLICY.lines().skip_while(|line| line.starts_with("//!")).collect::<Vec<_>>().join("\n");
    format!(
        "//! The `{name}` rollback policy. It starts as rewind's example: roll a\n\
         //! Deployment back to its previous revision when pods of the current one\n\
         //! keep failing. Change the rules, the suite and its fixtures together.\n{}\n",
        body.replace("RollbackOnCrash", &type_name(name))
    )
}

fn suite(name: &str) -> String {
    let cases = EXAMPLE_SUITE.lines().skip_while(|line| line.starts_with('#')).collect::<Vec<_>>().join("\n");
    format!(
        "# The cases `{name}` must pass: `rewind test .` builds the crate and runs them.\n{}\n",
        cases.replace("../../deployment/", "fixtures/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_crate_and_file_friendly() {
        for good in ["p", "rollback-on-oom", "v2-policy"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Rollback", "2fast", "a_b", "a/b", "trailing-", "a b"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(type_name("rollback-on-oom"), "RollbackOnOom");
    }

    #[test]
    fn the_template_names_every_dump_its_suite_reads() {
        let suite = suite("p");
        for line in suite.lines().filter_map(|l| l.trim().strip_prefix("cluster: ")) {
            let file = line.strip_prefix("fixtures/").expect("suite dumps live in fixtures/");
            assert!(EXAMPLE_DUMPS.iter().any(|(name, _)| *name == file), "{file} is not embedded");
        }
        assert!(policy_source("p").contains("pub struct P;"));
    }

    #[test]
    fn an_existing_directory_is_never_written_over() {
        let parent = tempfile::tempdir().unwrap();
        std::fs::create_dir(parent.path().join("taken")).unwrap();
        let err = new_policy("taken", parent.path(), None).unwrap_err();
        assert!(matches!(err, AuthoringError::Exists(_)), "{err}");
        let err = new_policy("fresh", parent.path(), Some(Path::new("/nonexistent/sdk"))).unwrap_err();
        assert!(err.to_string().contains("--sdk"), "{err}");
    }

    /// The SDK and snapshot manifests spell out what the workspace's other
    /// crates inherit; they must say the same.
    #[test]
    fn the_vendored_manifests_agree_with_the_workspace() {
        let workspace = include_str!("../../../Cargo.toml");
        let vendored = |file: &str| VENDORED_SDK.iter().find(|(name, _)| *name == file).expect(file).1;
        for file in ["rewind-sdk/Cargo.toml", "rewind-snapshot/Cargo.toml"] {
            let manifest = vendored(file);
            assert!(manifest.contains(&format!("version = \"{SDK_VERSION}\"")), "{file}: version");
            for line in manifest.lines().filter(|l| l.starts_with("edition") || l.starts_with("rust-version")) {
                assert!(workspace.contains(line), "{file}: `{line}` is not the workspace's");
            }
            for dependency in ["serde = ", "serde_json = ", "wit-bindgen = "] {
                if let Some(line) = manifest.lines().find(|l| l.starts_with(dependency)) {
                    assert!(workspace.contains(line), "{file}: `{line}` is not the workspace's");
                }
            }
        }
        let latest = crate::runtime::contracts::Contract::latest().package();
        assert!(vendored("rewind-sdk/wit/policy.wit").contains(&format!("package {latest};")));
        assert!(vendored("rewind-sdk/src/lib.rs").contains(r#"path: "wit","#));
        assert!(
            vendored_text("rewind-sdk/Cargo.toml", vendored("rewind-sdk/Cargo.toml")).contains("../rewind-snapshot")
        );
    }
}

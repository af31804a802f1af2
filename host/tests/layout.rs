//! The architecture's rules that the compiler does not check by itself.

mod common;
use common::workspace;

/// The core crate builds without a Wasm engine, a Kubernetes client, an
/// async runtime or an HTTP stack, and forbids unsafe code.
#[test]
fn the_core_depends_on_no_engine_client_runtime_or_network() {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-p", "rewind-core", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(workspace())
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(tree.starts_with("rewind-core "), "{tree}");
    let forbidden = ["wasmtime", "cranelift", "kube", "k8s-openapi", "tokio", "hyper", "reqwest", "rustls", "mio"];
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        assert!(!forbidden.iter().any(|f| name.starts_with(f)), "rewind-core depends on {line}:\n{tree}");
    }
    let lib = std::fs::read_to_string(workspace().join("core/src/lib.rs")).unwrap();
    assert!(lib.contains("#![forbid(unsafe_code)]"));
}

/// The direct dependencies of each workspace package, from `cargo metadata`.
fn direct_dependencies() -> Vec<(String, Vec<String>)> {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--offline", "--no-deps", "--format-version", "1"])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let normal = package["dependencies"].as_array().unwrap().iter().filter(|d| d["kind"].is_null());
            let names = normal.map(|d| d["name"].as_str().unwrap().to_string()).collect();
            (package["name"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

/// One adapter per outside world: no crate of the workspace links both the
/// Wasm engine and the Kubernetes client itself, only `rewind-wasm` links
/// wasmtime, and the core links neither.
#[test]
fn no_crate_links_both_the_wasm_engine_and_the_kubernetes_client() {
    let packages = direct_dependencies();
    assert!(packages.iter().any(|(name, _)| name == "rewind-wasm"), "{packages:?}");
    for (name, dependencies) in &packages {
        let links = |prefix: &str| dependencies.iter().any(|d| d.starts_with(prefix));
        assert!(!(links("wasmtime") && links("kube")), "{name} links both wasmtime and kube: {dependencies:?}");
        if links("wasmtime") {
            assert_eq!(name, "rewind-wasm", "only the Wasm adapter links wasmtime");
        }
        if name == "rewind-core" {
            assert!(!links("wasmtime") && !links("kube"), "{dependencies:?}");
        }
    }
}

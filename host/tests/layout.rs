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

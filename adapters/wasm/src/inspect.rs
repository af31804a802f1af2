//! Checks made on a policy file before anything of it runs: is it a
//! component at all, which version of the contract it was built against,
//! and whether it imports anything rewind will never provide.

use super::capabilities::{Capability, capability, split_name};
use super::contracts::{Contract, WIT_PACKAGE};
use wasmtime::Engine;
use wasmtime::component::Component;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadProblem {
    Empty,
    NotWasm,
    CoreModule,
    WrongVersion {
        found: String,
    },
    NotAPolicy {
        exports: Vec<String>,
    },
    ForbiddenImport {
        import: String,
    },
    /// Its declared grants (`rewind:needs` sections) cannot be read.
    Declarations(String),
}

impl std::fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let supported = Contract::ALL.iter().map(|c| c.package()).collect::<Vec<_>>().join(", ");
        match self {
            LoadProblem::Empty => write!(f, "the file is empty"),
            LoadProblem::NotWasm => write!(f, "the file is not WebAssembly (no `\\0asm` header)"),
            LoadProblem::CoreModule => write!(
                f,
                "this is a core WebAssembly module, not a component; build the policy for wasm32-wasip2 \
                 (or wrap it with `wasm-tools component new`)"
            ),
            LoadProblem::WrongVersion { found } => write!(
                f,
                "the policy was built against {WIT_PACKAGE}@{found}, but this host speaks {supported}; \
                 rebuild the policy against a supported version"
            ),
            LoadProblem::NotAPolicy { exports } => write!(
                f,
                "the component does not export {WIT_PACKAGE}/policy (it exports: {})",
                if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
            ),
            LoadProblem::Declarations(problem) => write!(f, "the grants it declares cannot be read: {problem}"),
            LoadProblem::ForbiddenImport { import } => write!(
                f,
                "the policy imports `{import}`, which rewind never provides to policies \
                 (only {WIT_PACKAGE}/host and the WASI output streams)"
            ),
        }
    }
}

/// Looks at the header: components have layer 1, core modules layer 0.
pub fn check_header(bytes: &[u8]) -> Result<(), LoadProblem> {
    if bytes.is_empty() {
        return Err(LoadProblem::Empty);
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadProblem::NotWasm);
    }
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(LoadProblem::CoreModule);
    }
    Ok(())
}

/// Returns the contract version the component was built against, or why it
/// cannot be run. Imports the capability table refuses (sockets, HTTP,
/// anything outside WASI and the contract) are refused here, before
/// instantiation.
pub fn check_interfaces(engine: &Engine, component: &Component) -> Result<Contract, LoadProblem> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    let policy_export = exports.iter().find_map(|name| {
        let (package, interface, version) = split_name(name);
        (package == WIT_PACKAGE && interface == "policy").then_some(version)
    });
    let Some(version) = policy_export else {
        return Err(LoadProblem::NotAPolicy { exports });
    };
    let version = version.unwrap_or("(unversioned)").to_string();
    let Some(contract) = Contract::of_version(&version) else {
        return Err(LoadProblem::WrongVersion { found: version });
    };
    for (name, _) in ty.imports(engine) {
        check_import(name, &version)?;
    }
    Ok(contract)
}

/// An import is refused if the capability table refuses it, or if it is of
/// the contract but of another version than the policy's own.
fn check_import(name: &str, version: &str) -> Result<(), LoadProblem> {
    let (package, _, import_version) = split_name(name);
    if package == WIT_PACKAGE && import_version != Some(version) {
        return Err(LoadProblem::WrongVersion { found: import_version.unwrap_or("(unversioned)").to_string() });
    }
    match capability(name) {
        Capability::Refused => Err(LoadProblem::ForbiddenImport { import: name.to_string() }),
        Capability::Linked(_) | Capability::Trapped => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_tell_components_from_modules_and_junk() {
        assert_eq!(check_header(b""), Err(LoadProblem::Empty));
        assert_eq!(check_header(b"apiVersion: v1"), Err(LoadProblem::NotWasm));
        assert_eq!(check_header(b"\0asm\x01\0\0\0"), Err(LoadProblem::CoreModule));
        assert_eq!(check_header(b"\0asm\x0d\0\x01\0"), Ok(()));
    }

    #[test]
    fn imports_are_judged_by_the_capability_table_and_the_policy_own_version() {
        assert_eq!(check_import("wasi:clocks/monotonic-clock@0.2.0", "0.4.0"), Ok(()));
        assert_eq!(check_import("rewind:policy/host@0.4.0", "0.4.0"), Ok(()));
        assert_eq!(
            check_import("rewind:policy/host@0.3.0", "0.4.0"),
            Err(LoadProblem::WrongVersion { found: "0.3.0".into() })
        );
        assert_eq!(
            check_import("wasi:sockets/tcp@0.2.0", "0.4.0"),
            Err(LoadProblem::ForbiddenImport { import: "wasi:sockets/tcp@0.2.0".into() })
        );
    }

    #[test]
    fn version_messages_name_the_found_and_every_supported_version() {
        let message = LoadProblem::WrongVersion { found: "0.1.0".into() }.to_string();
        assert!(message.contains("built against rewind:policy@0.1.0"), "{message}");
        assert!(message.contains("speaks rewind:policy@0.3.0, rewind:policy@0.4.0, rewind:policy@0.5.0;"), "{message}");
    }
}

//! What the host refuses to load, and how it says so.

mod common;
use common::*;
use rewind::runtime::{PolicyRuntime, SandboxLimits};

fn refusal(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.wasm");
    std::fs::write(&path, bytes).unwrap();
    let err = runtime().load(&path, "{}").err().expect("the load should fail").to_string();
    assert!(err.contains("policy.wasm"), "the error names the file: {err}");
    err
}

/// The floor component (it imports nothing from the host, so linking
/// passes whatever the version) with its contract version rewritten in
/// place (same length, so the binary stays valid): what a component built
/// against another version of the package looks like to the host.
fn with_version(version: &str) -> Vec<u8> {
    let current = current_version();
    assert_eq!(version.len(), current.len());
    let mut bytes = std::fs::read(component("tests/components/floor")).unwrap();
    for interface in ["policy", "types", "host"] {
        let from = format!("rewind:policy/{interface}@{current}");
        let to = format!("rewind:policy/{interface}@{version}");
        let mut at = 0;
        while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from.as_bytes()) {
            let start = at + found;
            bytes[start..start + from.len()].copy_from_slice(to.as_bytes());
            at = start + from.len();
        }
    }
    bytes
}

#[test]
fn another_contract_version_is_refused_naming_both() {
    // 0.1.0 passed the snapshot as typed records, 0.2.0 passed the later
    // stages the report; 0.6.0 does not exist yet.
    for version in ["0.1.0", "0.2.0", "0.6.0"] {
        let err = refusal(&with_version(version));
        assert!(err.contains(&format!("rewind:policy@{version}")), "{err}");
        assert!(err.contains(&format!("rewind:policy@{}", current_version())), "{err}");
    }
}

/// A component that claims 0.3.0 but has 0.4.0's types is refused,
/// naming the first function whose type is not 0.3.0's.
#[test]
fn a_component_whose_functions_do_not_match_its_version_is_refused() {
    let err = refusal(&with_version("0.3.0"));
    assert!(err.contains("`rewind:policy/policy@0.3.0#detect-failure` does not have the contract's type"), "{err}");
}

fn current_version() -> &'static str {
    rewind::runtime::contracts::Contract::latest().version()
}

#[test]
fn files_that_are_not_components_are_refused_clearly() {
    assert!(refusal(b"").contains("the file is empty"));
    assert!(refusal(b"apiVersion: v1\nkind: Pod\n").contains("not WebAssembly"));
    assert!(refusal(b"\0asm\x01\0\0\0").contains("core WebAssembly module, not a component"));
    let whole = std::fs::read(component("plugins/deployment")).unwrap();
    assert!(refusal(&whole[..whole.len() / 2]).contains("does not compile"));
}

#[test]
fn a_missing_file_is_named() {
    let err = runtime().load(std::path::Path::new("/nonexistent/p.wasm"), "{}").err().unwrap().to_string();
    assert!(err.contains("/nonexistent/p.wasm"), "{err}");
}

fn mkfifo(path: &std::path::Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `name` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// A path that is not a regular file (a FIFO, directly or through a
/// symlink; a device; a directory) is refused at once, before anything is
/// read (a FIFO or a pipe such as `/dev/stderr` would block a read for
/// good), with the message a missing file gets: whoever names the path
/// learns nothing of what is there. The cause is the error's source.
#[test]
fn a_path_that_is_not_a_regular_file_is_refused_at_once_like_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.wasm");
    mkfifo(&fifo);
    let link = dir.path().join("link.wasm");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let missing = dir.path().join("missing.wasm");
    let paths = [missing.as_path(), &fifo, &link, std::path::Path::new("/dev/null"), dir.path()];
    for path in paths {
        let started = std::time::Instant::now();
        let error = runtime().load(path, "{}").err().expect("refused");
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{path:?}: {:?}", started.elapsed());
        assert_eq!(error.to_string(), format!("cannot read policy {} as a regular file", path.display()));
        let cause = std::error::Error::source(&error).expect("the cause, for the operator").to_string();
        assert!(!cause.is_empty());
    }
}

#[test]
fn a_policy_that_imports_sockets_is_refused_before_it_runs() {
    let path = component("tests/components/socket");
    let err = runtime().load(&path, "{}").err().expect("refused").to_string();
    assert!(err.contains("socket.wasm") && err.contains("imports `wasi:sockets/"), "{err}");
}

/// A component that exports the policy interface under the right name and
/// version with `functions` in it, each taking a string and returning a
/// number (the contract's functions return results).
fn impostor(functions: &[&str]) -> Vec<u8> {
    let version = current_version();
    let exports: String = functions.iter().map(|name| format!(r#"(export "{name}" (func $answer)) "#)).collect();
    wat::parse_str(format!(
        r#"(component
            (core module $m
                (memory (export "memory") 1)
                (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
                (func (export "answer") (param i32 i32) (result i32) i32.const 0))
            (core instance $i (instantiate $m))
            (func $answer (param "input" string) (result u32)
                (canon lift (core func $i "answer") (memory (core memory $i "memory"))
                    (realloc (core func $i "realloc"))))
            (instance $policy {exports})
            (export "rewind:policy/policy@{version}" (instance $policy)))"#
    ))
    .unwrap()
}

/// The export types are checked once, at load (later instances rely on
/// that check), so a policy whose functions have other types, or that
/// lacks one, is refused there, naming the function.
#[test]
fn exports_of_the_wrong_type_or_missing_are_refused_at_load() {
    let interface = format!("rewind:policy/policy@{}", current_version());
    let all = ["validate-settings", "detect-failure", "check-eligibility", "select-release"];
    let err = refusal(&impostor(&all));
    assert!(err.contains("cannot be linked"), "{err}");
    assert!(err.contains(&format!("`{interface}#validate-settings` does not have the contract's type")), "{err}");

    let err = refusal(&impostor(&all[..3]));
    assert!(err.contains(&format!("`{interface}` has no function `select-release`")), "{err}");
}

/// A module larger than the limit is refused before it is read whole or
/// compiled, naming its size and the flag that raises the limit.
#[test]
fn a_module_over_the_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.wasm");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(900 << 20).unwrap(); // sparse: 900 MiB on disk costs nothing
    let limits = rewind::runtime::SandboxLimits { max_module_bytes: 1 << 20, ..Default::default() };
    let runtime = rewind::runtime::PolicyRuntime::new(limits, None).unwrap();
    let started = std::time::Instant::now();
    let refused = runtime.load(&big, "{}").err().expect("refused").to_string();
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(refused.contains("is 943718400 bytes, more than the module limit of 1048576 bytes"), "{refused}");
    assert!(refused.contains("--max-module-mib"), "{refused}");
    // Bytes that arrive another way (a download) are held to the same limit.
    let small = std::fs::read(component("plugins/deployment")).unwrap();
    let tight = rewind::runtime::PolicyRuntime::new(
        rewind::runtime::SandboxLimits { max_module_bytes: small.len() as u64 - 1, ..Default::default() },
        None,
    )
    .unwrap();
    assert!(tight.inspect_bytes(&big, &small).is_err());
}

/// An artifact planted under another module's digest (by whoever can write
/// the cache) or written under another key is refused, and the module is
/// compiled again; nothing of the planted code runs.
#[test]
fn a_planted_or_foreign_artifact_is_refused_and_the_module_compiled_again() {
    use rewind::runtime::{ArtifactCache, CacheStatus, PolicyRuntime, SandboxLimits};
    let dir = tempfile::tempdir().unwrap();
    let runtime_with = |key: [u8; 32]| {
        PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::with_key(dir.path().into(), key))).unwrap()
    };
    let (deployment, floor) = (component("plugins/deployment"), component("tests/components/floor"));
    let genuine = runtime_with([7; 32]).load(&deployment, "{}").unwrap();
    assert_eq!(genuine.cache_status, CacheStatus::Compiled);
    let planted = runtime_with([7; 32]).load(&floor, "{}").unwrap();
    let artifact_of = |sha256: &str| {
        let found = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path());
        found.into_iter().find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(sha256)).unwrap()
    };
    std::fs::copy(artifact_of(&planted.sha256), artifact_of(&genuine.sha256)).unwrap();
    let reloaded = runtime_with([7; 32]).load(&deployment, "{}").unwrap();
    assert_eq!(reloaded.cache_status, CacheStatus::Compiled, "the swapped artifact is not used");
    assert_eq!(reloaded.sha256, genuine.sha256);
    assert_eq!(runtime_with([7; 32]).load(&deployment, "{}").unwrap().cache_status, CacheStatus::LoadedFromCache);
    let other_key = runtime_with([8; 32]).load(&deployment, "{}").unwrap();
    assert_eq!(other_key.cache_status, CacheStatus::Compiled, "an artifact under another key is not trusted");
}

#[test]
fn a_cache_directory_others_can_write_or_a_symlink_is_refused() {
    use rewind::runtime::{ArtifactCache, PolicyRuntime, SandboxLimits};
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let refused = |cache: std::path::PathBuf| {
        PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::new(cache)))
            .err()
            .expect("refused")
            .to_string()
    };
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = refused(open.clone());
    assert!(err.contains(&format!("{} is writable by others (mode 777)", open.display())), "{err}");
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(refused(link).contains("is a symlink"));
    // A missing one is created owner-only.
    let created = dir.path().join("new/cache");
    PolicyRuntime::new(SandboxLimits::default(), Some(ArtifactCache::new(created.clone()))).unwrap();
    assert_eq!(std::fs::metadata(&created).unwrap().permissions().mode() & 0o777, 0o700);
}

/// A component of `instances` instances of a core module `module`.
fn component_of(module: &str, instances: usize) -> Vec<u8> {
    let instantiate = "(core instance (instantiate $m))\n".repeat(instances);
    wat::parse_str(format!("(component (core module $m {module}) {instantiate})")).unwrap()
}

/// What a component would hold is refused at load, before any instance
/// exists (the engine checks it against the pool's per-component caps as
/// it compiles): a policy made of many instances or memories would
/// otherwise multiply the memory limit and take other policies' slots.
#[test]
fn components_holding_more_than_an_evaluation_may_are_refused_at_load() {
    let instances = refusal(&component_of("", 70));
    assert!(
        instances.contains("contains 70 core module instances, which exceeds the configured maximum of 64"),
        "{instances}"
    );
    let memories = refusal(&component_of("(memory 1)", 5));
    assert!(
        memories.contains("contains 5 Wasm linear memories, which exceeds the configured maximum of 4"),
        "{memories}"
    );
    let tables = refusal(&component_of("(table 1 funcref)", 17));
    assert!(tables.contains("contains 17 tables, which exceeds the configured maximum of 16"), "{tables}");
    let large = refusal(&component_of("(memory 2000)", 1));
    assert!(large.contains("minimum byte size of 131072000 which exceeds the limit of 0x4000000"), "{large}");
}

/// A module whose one function is `adds` additions long: a few kilobytes
/// per thousand, and compile time that grows with it.
fn slow_to_compile(adds: usize) -> Vec<u8> {
    let body = "i32.const 1 i32.add\n".repeat(adds);
    component_of(&format!("(func (export \"f\") (param i32) (result i32) local.get 0 {body})"), 0)
}

fn worker_runtime(budget: rewind::runtime::compile::CompileBudget) -> PolicyRuntime {
    let worker = rewind::runtime::compile::CompileWorker { program: env!("CARGO_BIN_EXE_rewind").into(), budget };
    PolicyRuntime::new(SandboxLimits::default(), None).unwrap().with_compile_worker(worker)
}

fn load_error(runtime: &PolicyRuntime, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.wasm");
    std::fs::write(&path, bytes).unwrap();
    runtime.load(&path, "{}").err().expect("the load should fail").to_string()
}

/// Compiling runs in a worker process stopped when its budget runs out;
/// within it, the worker's artifact is what the policy runs from.
#[test]
fn compilation_is_bounded_in_time_and_memory_by_its_worker() {
    use rewind::runtime::compile::CompileBudget;
    use std::time::{Duration, Instant};
    let default = worker_runtime(CompileBudget::default());
    let policy = default.load(&component("plugins/deployment"), "{}").unwrap();
    let evaluation = run(&policy, &mut example("image-pull-backoff.yaml"), "2024-11-06T14:34:00Z", false);
    assert_eq!(evaluation.report.selection.unwrap().release.as_deref(), Some("2"));

    let slow = slow_to_compile(400_000);
    let hurried = worker_runtime(CompileBudget { time: Duration::from_millis(20), ..CompileBudget::default() });
    let started = Instant::now();
    let error = load_error(&hurried, &slow);
    assert!(
        error.contains("does not compile: compiling took longer than the budget of 20 ms and was stopped"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "stopped at the budget, not when done");

    let starved = worker_runtime(CompileBudget { memory_bytes: 48 << 20, ..CompileBudget::default() });
    let error = load_error(&starved, &slow);
    assert!(error.contains("compiling needed more memory than the budget of 48 MiB"), "{error}");
}

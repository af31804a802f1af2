//! rewind's Wasm adapter: loading and running policy components under
//! wasmtime. The only crate of the workspace that links wasmtime.
//!
//! Invariants:
//! - a module is compiled once per process (and once per machine, through
//!   the on-disk [`ArtifactCache`]); its imports are resolved once into an
//!   `InstancePre`;
//! - every evaluation gets a fresh `Store` and instance, so nothing a policy
//!   does in one evaluation can be seen by the next, and a trap (which
//!   poisons a store) never outlives its evaluation;
//! - every evaluation is bounded in wall-clock time (epoch interruption),
//!   linear memory and log output; a policy has no clock, randomness,
//!   files, environment or network.

pub mod cache;
mod capabilities;
pub mod compile;
pub mod contracts;
mod exports;
mod inspect;
pub mod module_file;
mod sandbox;

pub use cache::{ArtifactCache, CacheStatus};
pub use inspect::LoadProblem;
pub use sandbox::{LimitHit, LogEntry, NoObjects, RawObjects, SandboxLimits};

use contracts::{Contract, Exports, Funcs};
use exports::{Answers, PolicyFuncs};
use rewind_core::Snapshot;
use rewind_core::answers::{Eligibility, FailureReport, Selection};
use rewind_core::pipeline::{PolicyStages, Stage};
use sandbox::Sandbox;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Component, ComponentNamedList, Instance, InstancePre, Lift, Linker, Lower, TypedFunc};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

/// How often the epoch advances; timeouts are rounded up to this.
const EPOCH_TICK: Duration = Duration::from_millis(5);

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// One message whatever the cause (missing, a directory, a FIFO, no
    /// permission): a RolloutPolicy's author reads it, and must not learn
    /// the controller's file system from it. The cause is the error's
    /// source, for the operator's log and the CLI.
    #[error("cannot read policy {path} as a regular file")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "policy {path} is {size} bytes, more than the module limit of {max} bytes (raise it with --max-module-mib)"
    )]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("policy {path} cannot be loaded: {problem}")]
    Refused { path: PathBuf, problem: LoadProblem },
    #[error("policy {path} does not compile: {message}")]
    Compile { path: PathBuf, message: String },
    #[error("policy {policy} cannot be linked: {message}")]
    Link { policy: String, message: String },
    #[error("policy {policy} rejected its settings: {message}")]
    Settings { policy: String, message: String },
    #[error("policy {policy} stopped in {stage}: {cause}")]
    Trapped { policy: String, stage: Stage, cause: String },
    #[error("policy {policy} reported an error in {stage}: {message}")]
    Failed { policy: String, stage: Stage, message: String },
}

/// Compiles, caches and instantiates policies. One per process; cheap to
/// share behind an `Arc`.
pub struct PolicyRuntime {
    engine: Engine,
    linker: Linker<Sandbox>,
    cache: Option<ArtifactCache>,
    limits: SandboxLimits,
    compiled: Mutex<HashMap<String, Component>>,
    /// Where modules compile: in this process without one.
    worker: Option<compile::CompileWorker>,
}

/// The engine's configuration: the runtime's and its compile worker's, so
/// the worker's artifacts are this engine's.
fn engine_config(memory_bytes: usize) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // The same inputs give the same decision on every processor: a NaN's
    // bit pattern would otherwise be the CPU's.
    config.cranelift_nan_canonicalization(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(memory_bytes)));
    config
}

/// The compile worker's side: the artifact of `module` for a runtime whose
/// memories are limited to `memory_bytes`. The worker instantiates
/// nothing, so it reserves no pool (whose tables would count against its
/// memory budget); the allocator is no part of what an artifact must match.
pub fn precompile_in_worker(memory_bytes: usize, module: &[u8]) -> wasmtime::Result<Vec<u8>> {
    let mut config = engine_config(memory_bytes);
    config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    Engine::new(&config)?.precompile_component(module)
}

impl PolicyRuntime {
    pub fn new(limits: SandboxLimits, cache: Option<ArtifactCache>) -> wasmtime::Result<Self> {
        if let Some(cache) = &cache {
            cache.check_dir().map_err(wasmtime::Error::msg)?;
        }
        let engine = Engine::new(&engine_config(limits.memory_bytes))?;
        start_epoch_ticker(&engine);
        let linker = capabilities::base_linker(&engine)?;
        Ok(PolicyRuntime { engine, linker, cache, limits, compiled: Mutex::new(HashMap::new()), worker: None })
    }

    /// Compiles modules in `worker`, within its budget, instead of in this
    /// process.
    pub fn with_compile_worker(mut self, worker: compile::CompileWorker) -> Self {
        self.worker = Some(worker);
        self
    }

    pub fn limits(&self) -> SandboxLimits {
        self.limits
    }

    /// Loads the policy at `path` and validates `settings` (a JSON document)
    /// with it. A policy that fails any check is refused here, before it
    /// sees a snapshot.
    pub fn load(&self, path: &Path, settings: &str) -> Result<LoadedPolicy, PolicyError> {
        let Inspected { sha256, component, cache_status, contract, declared } = self.inspect(path)?;

        let name = path.display().to_string();
        let link_error = |e: wasmtime::Error| PolicyError::Link { policy: name.clone(), message: format!("{e:#}") };
        let mut linker = self.linker.clone();
        capabilities::stub_unlinked_imports(&mut linker, &self.engine, &component).map_err(link_error)?;
        let pre = linker.instantiate_pre(&component).map_err(link_error)?;
        let mut exports = None;
        let mut session =
            PolicySession::start(&name, &self.engine, self.limits, &pre, Arc::new(NoObjects), |store, instance| {
                let checked = Exports::check(contract, &component, store, instance)?;
                exports = Some(checked);
                Ok(checked.bind(*instance))
            })
            .map_err(|e| match e {
                PolicyError::Trapped { cause, .. } => PolicyError::Link { policy: name.clone(), message: cause },
                other => other,
            })?;
        let funcs = session.funcs();
        let verdict = funcs.stages().validate_settings(&mut session, settings)?;
        verdict.map_err(|message| PolicyError::Settings { policy: name.clone(), message })?;
        Ok(LoadedPolicy {
            name,
            path: path.to_path_buf(),
            sha256,
            wit: contract.package(),
            contract,
            cache_status,
            declared,
            engine: self.engine.clone(),
            limits: self.limits,
            pre,
            exports: exports.expect("set when the session started"),
            settings: settings.to_string(),
        })
    }

    /// Reads and compiles the module at `path` and checks what it imports
    /// and exports, without running it.
    pub fn inspect(&self, path: &Path) -> Result<Inspected, PolicyError> {
        use std::io::Read;
        let read_error = |source| PolicyError::Read { path: path.to_path_buf(), source };
        let max = self.limits.max_module_bytes;
        let (file, metadata) = module_file::open_regular(path).map_err(read_error)?;
        let size = metadata.len();
        if size > max {
            return Err(PolicyError::TooLarge { path: path.to_path_buf(), size, max });
        }
        // The file may grow between the check and the read.
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(max + 1).read_to_end(&mut bytes).map_err(read_error)?;
        self.inspect_bytes(path, &bytes)
    }

    /// [`Self::inspect`] on bytes already read from `path` (named in errors),
    /// for callers that go on to use the very bytes that were checked.
    pub fn inspect_bytes(&self, path: &Path, bytes: &[u8]) -> Result<Inspected, PolicyError> {
        let refused = |problem| PolicyError::Refused { path: path.to_path_buf(), problem };
        let max = self.limits.max_module_bytes;
        if bytes.len() as u64 > max {
            return Err(PolicyError::TooLarge { path: path.to_path_buf(), size: bytes.len() as u64, max });
        }
        inspect::check_header(bytes).map_err(refused)?;
        let sha256 = cache::sha256_hex(bytes);
        let (component, cache_status) = self
            .component(bytes, &sha256)
            .map_err(|e| PolicyError::Compile { path: path.to_path_buf(), message: format!("{e:#}") })?;
        // Read once the binary compiled: a malformed one is the compiler's
        // to describe.
        let declared = rewind_core::actions::needs::declared_grants(bytes)
            .map_err(|problem| refused(LoadProblem::Declarations(problem)))?;
        let contract = inspect::check_interfaces(&self.engine, &component).map_err(refused)?;
        Ok(Inspected { sha256, component, cache_status, contract, declared })
    }

    fn component(&self, bytes: &[u8], sha256: &str) -> wasmtime::Result<(Component, CacheStatus)> {
        if let Some(component) = self.compiled.lock().expect("cache lock").get(sha256) {
            return Ok((component.clone(), CacheStatus::LoadedFromCache));
        }
        let precompile = |module: &[u8]| match &self.worker {
            Some(worker) => worker.precompile(self.limits.memory_bytes, module).map_err(wasmtime::Error::msg),
            None => self.engine.precompile_component(module),
        };
        let (component, status) = match (&self.cache, &self.worker) {
            (Some(cache), _) => cache.load_or_compile(&self.engine, bytes, sha256, &precompile)?,
            (None, None) => (Component::new(&self.engine, bytes)?, CacheStatus::Compiled),
            (None, Some(_)) => {
                let artifact = precompile(bytes)?;
                // SAFETY: the worker is this executable with this engine's
                // configuration; `deserialize` refuses another engine's
                // artifact by its header.
                (unsafe { Component::deserialize(&self.engine, &artifact)? }, CacheStatus::Compiled)
            }
        };
        self.compiled.lock().expect("cache lock").insert(sha256.to_string(), component.clone());
        Ok((component, status))
    }
}

/// A module that compiled and passed the import and export checks.
pub struct Inspected {
    pub sha256: String,
    component: Component,
    pub cache_status: CacheStatus,
    /// The `rewind:policy` version it was built against.
    pub contract: Contract,
    pub declared: Vec<rewind_core::actions::Grant>,
}

/// Instances come from a pre-reserved pool: a fresh instance per evaluation
/// then costs a few microseconds instead of fresh memory mappings.
/// `POOL_SLOTS` bounds how many evaluations can run at once.
///
/// A slot's memory is reset between evaluations. By default wasmtime returns
/// its pages to the kernel (`madvise`) and the next evaluation faults them
/// back in one by one; on a 10-pod evaluation that kernel work was a third
/// of the time. Instead, up to `KEEP_RESIDENT` bytes per memory (and
/// `KEEP_RESIDENT_TABLE` per table) stay mapped and are zeroed (or restored
/// to the module's initial image) in place, and
/// where the kernel has `PAGEMAP_SCAN` (Linux 6.7+) only the pages the
/// evaluation touched are reset. Nothing of one evaluation survives into
/// the next either way; only the cost differs. The resident pages belong
/// to slots that were used, so memory grows with concurrent evaluations,
/// not with `POOL_SLOTS`.
fn pool(memory_bytes: usize) -> PoolingAllocationConfig {
    const POOL_SLOTS: u32 = 64;
    const KEEP_RESIDENT: usize = 16 << 20;
    const KEEP_RESIDENT_TABLE: usize = 1 << 20;
    let mut pool = PoolingAllocationConfig::default();
    // Every slot can hold a component at the per-component caps, so one
    // policy's evaluations never take what another's need.
    pool.total_component_instances(POOL_SLOTS)
        .total_core_instances(POOL_SLOTS * sandbox::MAX_CORE_INSTANCES)
        .total_memories(POOL_SLOTS * sandbox::MAX_MEMORIES)
        .total_tables(POOL_SLOTS * sandbox::MAX_TABLES)
        .max_core_instances_per_component(sandbox::MAX_CORE_INSTANCES)
        .max_memories_per_component(sandbox::MAX_MEMORIES)
        .max_tables_per_component(sandbox::MAX_TABLES)
        .total_stacks(POOL_SLOTS)
        .max_memory_size(memory_bytes.next_multiple_of(1 << 16))
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT_TABLE)
        .pagemap_scan(Enabled::Auto);
    pool
}

/// Advances the engine's epoch from a background thread for as long as the
/// engine lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("rewind-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn the epoch thread");
}

/// A compiled, linked policy. Evaluations go through [`LoadedPolicy::session`].
#[derive(Clone)]
pub struct LoadedPolicy {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
    /// `rewind:policy@<version>` the component was built against.
    pub wit: String,
    pub contract: Contract,
    pub cache_status: CacheStatus,
    /// The grants the component declares it needs
    /// ([`rewind_core::actions::needs`]).
    pub declared: Vec<rewind_core::actions::Grant>,
    engine: Engine,
    limits: SandboxLimits,
    /// `exports` were checked on instances of this `pre`'s component.
    pre: InstancePre<Sandbox>,
    exports: Exports,
    settings: String,
}

impl LoadedPolicy {
    /// The settings the policy accepted at load, as a JSON document.
    pub fn settings(&self) -> &str {
        &self.settings
    }

    pub fn limits(&self) -> SandboxLimits {
        self.limits
    }

    /// A fresh, bounded instance for one evaluation.
    pub fn session(&self, objects: Arc<dyn RawObjects>) -> Result<PolicySession, PolicyError> {
        let exports = self.exports;
        PolicySession::start(&self.name, &self.engine, self.limits, &self.pre, objects, |_, instance| {
            Ok(exports.bind(*instance))
        })
    }
}

/// One evaluation's instance. Dropped after the evaluation.
pub struct PolicySession {
    policy: String,
    store: Store<Sandbox>,
    funcs: Option<Funcs>,
}

impl PolicySession {
    /// A fresh store, bounded by `limits`, and an instance of `pre` in it;
    /// `bind` finds the policy's functions in the instance.
    fn start(
        policy: &str,
        engine: &Engine,
        limits: SandboxLimits,
        pre: &InstancePre<Sandbox>,
        objects: Arc<dyn RawObjects>,
        bind: impl FnOnce(&mut Store<Sandbox>, &Instance) -> wasmtime::Result<Funcs>,
    ) -> Result<PolicySession, PolicyError> {
        let mut store = Store::new(engine, Sandbox::new(limits, objects));
        store.limiter(|sandbox| sandbox);
        let ticks = limits.timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64).max(1);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        let funcs = pre.instantiate(&mut store).and_then(|instance| bind(&mut store, &instance));
        let mut session = PolicySession { policy: policy.to_string(), store, funcs: None };
        match funcs {
            Ok(funcs) => session.funcs = Some(funcs),
            Err(e) => return Err(session.trapped(Stage::Instantiate, e)),
        }
        Ok(session)
    }

    pub fn logs(&self) -> &[LogEntry] {
        &self.store.data().logs
    }

    /// What the policy printed (panic messages land here).
    pub fn output(&self) -> String {
        self.store.data().output_text()
    }

    fn funcs(&self) -> Funcs {
        self.funcs.expect("set at creation")
    }

    /// Fetches a policy function of this instance with `lookup` and calls
    /// it with `params`. A failed lookup is reported like a trap; it cannot
    /// happen, since the same lookup succeeded on this component at load.
    fn call<P, R>(
        &mut self,
        stage: Stage,
        lookup: impl FnOnce(&mut Store<Sandbox>) -> wasmtime::Result<TypedFunc<P, (R,)>>,
        params: P,
    ) -> Result<R, PolicyError>
    where
        P: ComponentNamedList + Lower,
        (R,): ComponentNamedList + Lift,
    {
        match lookup(&mut self.store).and_then(|func| func.call(&mut self.store, params)) {
            Ok((result,)) => Ok(result),
            Err(e) => Err(self.trapped(stage, e)),
        }
    }

    /// Turns a wasmtime error into a report that names the cause plainly.
    fn trapped(&self, stage: Stage, error: wasmtime::Error) -> PolicyError {
        let sandbox = self.store.data();
        let mut cause = match (&sandbox.limit_hit, error.downcast_ref::<Trap>()) {
            (Some(LimitHit::Memory { desired }), _) => format!(
                "exceeded its memory limit of {} bytes (tried to grow to {desired})",
                sandbox.limits.memory_bytes
            ),
            (Some(LimitHit::LogEntries), _) => {
                format!("exceeded its log limit of {} messages", sandbox.limits.max_log_entries)
            }
            (Some(LimitHit::LogBytes), _) => {
                format!("exceeded its log limit of {} bytes", sandbox.limits.max_log_bytes)
            }
            (None, Some(Trap::Interrupt)) => format!("exceeded its time limit of {} ms", sandbox.limits.timeout_ms),
            (None, Some(Trap::StackOverflow)) => "overflowed its stack".to_string(),
            (None, Some(Trap::UnreachableCodeReached)) => "trapped (panic or `unreachable`)".to_string(),
            // Rust keeps its data stack in linear memory below the globals:
            // deep recursion runs off its bottom rather than wasm's stack.
            (None, Some(Trap::MemoryOutOfBounds)) => {
                "trapped: out-of-bounds memory access (often a stack overflow from deep recursion)".to_string()
            }
            (None, Some(trap)) => format!("trapped: {trap}"),
            (None, None) => {
                // The root cause is the host's own message; the outer layers
                // are a wasm backtrace of no use to a policy's user.
                let message = error.root_cause().to_string();
                match message.strip_prefix("unknown import: ") {
                    Some(rest) => format!("called {rest}, which the sandbox does not provide"),
                    None => message,
                }
            }
        };
        let output = sandbox.output_text();
        if !output.is_empty() {
            let output = output.lines().map(str::trim).collect::<Vec<_>>().join(" ");
            cause = format!("{cause}; it printed: {}", truncate(&output, 2000));
        }
        PolicyError::Trapped { policy: self.policy.clone(), stage, cause }
    }

    fn failed(&self, stage: Stage, message: String) -> PolicyError {
        PolicyError::Failed { policy: self.policy.clone(), stage, message }
    }
}

impl PolicyStages for PolicySession {
    type Error = PolicyError;

    /// The snapshot crosses into the guest here, once, encoded as the
    /// policy's contract version reads it; the next two stages run on the
    /// same instance, which keeps it and the report it returned.
    fn detect_failure(&mut self, snapshot: &Snapshot) -> Result<FailureReport, PolicyError> {
        self.funcs().stages().detect_failure(self, snapshot)
    }

    fn check_eligibility(&mut self, _: &Snapshot, _: &FailureReport) -> Result<Eligibility, PolicyError> {
        self.funcs().stages().check_eligibility(self)
    }

    fn select_release(&mut self, _: &Snapshot, _: &FailureReport) -> Result<Selection, PolicyError> {
        self.funcs().stages().select_release(self)
    }
}

/// One evaluation's calls into a policy, whatever its contract version:
/// each version's functions (`contracts::Funcs`) implement it with their
/// own types and convert the answers.
pub trait Stages {
    fn validate_settings(&self, session: &mut PolicySession, settings: &str)
    -> Result<Result<(), String>, PolicyError>;
    fn detect_failure(&self, session: &mut PolicySession, snapshot: &Snapshot) -> Result<FailureReport, PolicyError>;
    fn check_eligibility(&self, session: &mut PolicySession) -> Result<Eligibility, PolicyError>;
    fn select_release(&self, session: &mut PolicySession) -> Result<Selection, PolicyError>;
}

impl<A: Answers> Stages for PolicyFuncs<A> {
    fn validate_settings(
        &self,
        session: &mut PolicySession,
        settings: &str,
    ) -> Result<Result<(), String>, PolicyError> {
        session.call(Stage::ValidateSettings, |store| self.validate_settings(store), (settings,))
    }

    fn detect_failure(&self, session: &mut PolicySession, snapshot: &Snapshot) -> Result<FailureReport, PolicyError> {
        let stage = Stage::DetectFailure;
        let encoding = A::ENCODING;
        let bytes = Arc::new(rewind_snapshot::encode_as(snapshot, encoding));
        session.store.data_mut().snapshot = Some((bytes.clone(), encoding));
        let answer = session.call(stage, |store| self.detect_failure(store), (&bytes[..],))?;
        answer.map(Into::into).map_err(|m| session.failed(stage, m))
    }

    fn check_eligibility(&self, session: &mut PolicySession) -> Result<Eligibility, PolicyError> {
        let stage = Stage::CheckEligibility;
        let answer = session.call(stage, |store| self.check_eligibility(store), ())?;
        answer.map(Into::into).map_err(|m| session.failed(stage, m))
    }

    fn select_release(&self, session: &mut PolicySession) -> Result<Selection, PolicyError> {
        let stage = Stage::SelectRelease;
        let answer = session.call(stage, |store| self.select_release(store), ())?;
        answer.map(Into::into).map_err(|m| session.failed(stage, m))
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

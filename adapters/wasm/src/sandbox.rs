//! The state of one evaluation's Store: the bounds it runs under and the
//! only capabilities a policy gets (its snapshot's objects, a bounded log,
//! a captured stdout/stderr so a panic message can be reported).

use serde::Serialize;
use std::sync::Arc;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Bounds of one evaluation. Shown in `rewind eval --output text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxLimits {
    /// Wall-clock budget for all stages of one evaluation together.
    pub timeout_ms: u64,
    /// Largest size the linear memories of one evaluation may grow to,
    /// all of them together (and so any one of them).
    pub memory_bytes: usize,
    pub max_log_entries: usize,
    pub max_log_bytes: usize,
    /// Largest module file accepted, checked before it is read whole:
    /// compiling is the one cost a policy imposes before any limit above
    /// applies.
    pub max_module_bytes: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            timeout_ms: 250,
            memory_bytes: 64 << 20,
            max_log_entries: 1000,
            max_log_bytes: 64 << 10,
            max_module_bytes: 8 << 20,
        }
    }
}

/// Full JSON of the snapshot's objects, produced only when a policy asks.
pub trait RawObjects: Send + Sync {
    fn raw_json(&self, index: u32) -> Option<String>;
}

/// No objects: for calls made without a snapshot (settings validation).
pub struct NoObjects;

impl RawObjects for NoObjects {
    fn raw_json(&self, _: u32) -> Option<String> {
        None
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    pub level: &'static str,
    pub message: String,
}

/// Why the sandbox stopped a policy, when it was the sandbox's doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitHit {
    Memory { desired: usize },
    LogEntries,
    LogBytes,
}

/// What one component may hold, however it is built: a policy built of
/// many core instances, each with a memory of the full limit, would
/// otherwise multiply the memory limit and take the pool's slots from
/// other policies. A Rust policy has 1 to 3 core instances and one memory;
/// a componentize-py one 38 instances.
pub const MAX_CORE_INSTANCES: u32 = 64;
pub const MAX_MEMORIES: u32 = 4;
pub const MAX_TABLES: u32 = 16;

pub struct Sandbox {
    pub limits: SandboxLimits,
    /// Bytes of all linear memories of this evaluation.
    memory_total: usize,
    pub objects: Arc<dyn RawObjects>,
    /// The encoded snapshot of this evaluation (in the encoding of the
    /// policy's contract), once `detect-failure` has been called.
    pub snapshot: Option<(Arc<Vec<u8>>, rewind_snapshot::Encoding)>,
    pub logs: Vec<LogEntry>,
    log_bytes: usize,
    pub limit_hit: Option<LimitHit>,
    /// stdout and stderr of the guest, together, bounded.
    pub output: MemoryOutputPipe,
    /// Made on the policy's first WASI call: most evaluations print nothing,
    /// and building the context is a few percent of a small evaluation.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
}

impl Sandbox {
    pub fn new(limits: SandboxLimits, objects: Arc<dyn RawObjects>) -> Self {
        Sandbox {
            limits,
            memory_total: 0,
            objects,
            snapshot: None,
            logs: Vec::new(),
            log_bytes: 0,
            limit_hit: None,
            output: MemoryOutputPipe::new(limits.max_log_bytes),
            wasi: None,
            table: ResourceTable::new(),
        }
    }

    /// The resources of the WASI output streams, for their bindings
    /// (`super::capabilities`).
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// What the guest wrote to stdout/stderr (a panic message, usually).
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.output.contents()).trim().to_string()
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // No preopens, no environment, no arguments, no network: only the
        // output streams, so a panic message reaches the error report.
        let output = &self.output;
        let ctx =
            self.wasi.get_or_insert_with(|| WasiCtx::builder().stdout(output.clone()).stderr(output.clone()).build());
        WasiCtxView { ctx, table: &mut self.table }
    }
}

impl ResourceLimiter for Sandbox {
    /// Called as each memory is created (from 0) and grown: the total of
    /// all of them is what the limit bounds.
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = (self.memory_total - current.min(self.memory_total)).saturating_add(desired);
        if total > self.limits.memory_bytes {
            self.limit_hit = Some(LimitHit::Memory { desired: total });
            wasmtime::bail!(
                "memory limit of {} bytes exceeded: its memories together would hold {total}",
                self.limits.memory_bytes
            );
        }
        self.memory_total = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any
        // policy and bounds the host memory they take.
        Ok(desired <= 1_000_000)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES as usize
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES as usize
    }

    fn tables(&self) -> usize {
        MAX_TABLES as usize
    }
}

/// The host interface, whatever the contract version: each version's
/// bindings call these (`super::contracts`), so the sandbox itself depends
/// on no version.
impl Sandbox {
    pub fn get_object(&mut self, object: u32) -> Option<String> {
        self.objects.raw_json(object)
    }

    /// Decoded again from the bytes: the JSON form is for the rare policy
    /// that cannot read the encoding, so it costs nothing until asked. It
    /// has the fields of the policy's own contract version.
    pub fn snapshot_json(&mut self) -> String {
        let Some((bytes, encoding)) = &self.snapshot else {
            return "null".to_string();
        };
        match rewind_snapshot::decode_as(bytes, *encoding) {
            Ok(snapshot) => serde_json::to_string(&snapshot.json_view(*encoding)).expect("snapshots serialize"),
            Err(_) => "null".to_string(),
        }
    }

    pub fn log(&mut self, level: &'static str, message: String) -> wasmtime::Result<()> {
        if self.logs.len() >= self.limits.max_log_entries {
            self.limit_hit = Some(LimitHit::LogEntries);
            wasmtime::bail!("log limit of {} messages exceeded", self.limits.max_log_entries);
        }
        self.log_bytes += message.len();
        if self.log_bytes > self.limits.max_log_bytes {
            self.limit_hit = Some(LimitHit::LogBytes);
            wasmtime::bail!("log limit of {} bytes exceeded", self.limits.max_log_bytes);
        }
        self.logs.push(LogEntry { level, message });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limit is on all memories of an evaluation together: several at
    /// the limit each do not multiply it.
    #[test]
    fn the_memory_limit_counts_every_memory_together() {
        let limits = SandboxLimits { memory_bytes: 64 << 20, ..SandboxLimits::default() };
        let mut sandbox = Sandbox::new(limits, Arc::new(NoObjects));
        assert!(sandbox.memory_growing(0, 30 << 20, None).unwrap(), "a first memory");
        assert!(sandbox.memory_growing(0, 30 << 20, None).unwrap(), "a second one, within the total");
        assert!(sandbox.memory_growing(30 << 20, 34 << 20, None).unwrap(), "growing to exactly the total");
        let error = sandbox.memory_growing(0, 1 << 16, None).unwrap_err().to_string();
        assert!(error.contains("memory limit of 67108864 bytes exceeded"), "{error}");
        assert_eq!(sandbox.limit_hit, Some(LimitHit::Memory { desired: (64 << 20) + (1 << 16) }));
        assert_eq!((sandbox.instances(), sandbox.memories(), sandbox.tables()), (64, 4, 16));
    }
}

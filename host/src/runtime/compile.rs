//! Compiling a policy in a worker process, within a time and memory budget.
//!
//! Compiling is the one cost a policy imposes before the sandbox's limits
//! apply, and a small crafted module can keep Cranelift busy for minutes
//! and gigabytes. A thread cannot be stopped; a process can. The worker is
//! this same executable (`rewind compile-worker`) building the same engine
//! configuration, so what it writes is an artifact this engine accepts
//! (`Component::deserialize` checks the engine's header either way). It
//! reads the module on stdin before anything else and writes the artifact
//! on stdout.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand the worker runs as.
pub const WORKER_COMMAND: &str = "compile-worker";

/// The largest artifact accepted from a worker: far beyond any module the
/// module size limit lets in.
pub const MAX_ARTIFACT_BYTES: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileBudget {
    pub time: Duration,
    /// The worker's data limit (`RLIMIT_DATA`): its heap, which is where
    /// compilation's memory goes.
    pub memory_bytes: u64,
}

impl Default for CompileBudget {
    fn default() -> Self {
        CompileBudget { time: Duration::from_secs(60), memory_bytes: 1 << 30 }
    }
}

#[derive(Clone, Debug)]
pub struct CompileWorker {
    /// The rewind executable.
    pub program: PathBuf,
    pub budget: CompileBudget,
}

impl CompileWorker {
    /// The artifact of `module` for an engine whose memories are limited to
    /// `memory_limit` bytes, or why the worker gave none.
    pub fn precompile(&self, memory_limit: usize, module: &[u8]) -> Result<Vec<u8>, String> {
        let budget = self.budget;
        let cpu_seconds = budget.time.as_secs() + 1;
        let mut child = Command::new(&self.program)
            .arg(WORKER_COMMAND)
            .args(["--engine-memory-bytes", &memory_limit.to_string()])
            .args(["--data-bytes", &budget.memory_bytes.to_string()])
            .args(["--cpu-seconds", &cpu_seconds.to_string()])
            // The worker needs nothing of the environment: no credentials
            // or cache keys reach it.
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the compile worker {}: {e}", self.program.display()))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let module = module.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&module));
        let stdout = child.stdout.take().expect("stdout is piped");
        let reader = std::thread::spawn(move || read_capped(stdout, MAX_ARTIFACT_BYTES));
        let stderr = child.stderr.take().expect("stderr is piped");
        let errors = std::thread::spawn(move || read_capped(stderr, 4096));
        let deadline = Instant::now() + budget.time;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(time_out(budget));
                }
                Err(e) => return Err(format!("waiting for the compile worker: {e}")),
            }
        };
        let _ = writer.join();
        let artifact = reader.join().map_err(|_| "the compile worker's output could not be read".to_string())?;
        let said = errors.join().ok().and_then(Result::ok).unwrap_or_default();
        let said = String::from_utf8_lossy(&said).trim().to_string();
        if !status.success() {
            return Err(failure(status, &said, budget));
        }
        match artifact {
            Ok(bytes) if bytes.len() as u64 > MAX_ARTIFACT_BYTES => {
                Err(format!("the compile worker wrote more than {MAX_ARTIFACT_BYTES} bytes"))
            }
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(format!("reading the compile worker's output: {e}")),
        }
    }
}

fn read_capped(source: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    source.take(max + 1).read_to_end(&mut out)?;
    Ok(out)
}

fn time_out(budget: CompileBudget) -> String {
    let time = budget.time;
    let shown =
        if time.subsec_millis() == 0 { format!("{} s", time.as_secs()) } else { format!("{} ms", time.as_millis()) };
    format!("compiling took longer than the budget of {shown} and was stopped (raise it with --compile-seconds)")
}

/// Why the worker failed, in the budget's terms when it ran out of one.
fn failure(status: ExitStatus, said: &str, budget: CompileBudget) -> String {
    use std::os::unix::process::ExitStatusExt;
    let out_of_memory = said.contains("memory allocation of") || said.contains("out of memory");
    if out_of_memory {
        return format!(
            "compiling needed more memory than the budget of {} MiB and was stopped (raise it with \
             --compile-memory-mib)",
            budget.memory_bytes >> 20
        );
    }
    if status.signal() == Some(libc::SIGXCPU) {
        return time_out(budget);
    }
    let shown: String = said.chars().filter(|c| !crate::actions::is_hidden_control(*c)).take(1000).collect();
    match status.signal() {
        Some(signal) => format!("the compile worker was stopped by signal {signal}: {shown}"),
        None => format!("the compile worker failed ({status}): {shown}"),
    }
}

//! Compiling a policy in a worker process, within a time and memory budget.
//!
//! Compiling is the one cost a policy imposes before the sandbox's limits
//! apply, and a small crafted module can keep Cranelift busy for minutes
//! and gigabytes. A thread cannot be stopped; a process can. The worker is
//! this same executable (`rewind compile-worker`) building the same engine
//! configuration, so what it writes is an artifact this engine accepts
//! (`Component::deserialize` checks the engine's header either way). It
//! reads the module on stdin, from an in-memory file rather than a pipe so
//! no write of ours can meet a closed pipe (SIGPIPE, which the CLI leaves
//! at its default, would end this process), and writes the artifact on
//! stdout.
//!
//! The worker bounds what compiling costs, not what it could do: it runs
//! as this process's user, so a compiler bug it hits is as dangerous as
//! one hit in process.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand the worker runs as.
pub const WORKER_COMMAND: &str = "compile-worker";

/// The largest artifact accepted from a worker for a module of `bytes`:
/// machine code is a few times the size of the Wasm it comes from, so the
/// parent never holds much more than the module's worth.
fn max_artifact_bytes(bytes: usize) -> u64 {
    (bytes as u64).saturating_mul(32).saturating_add(16 << 20).min(1 << 30)
}

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
        if budget.time.is_zero() || budget.memory_bytes == 0 {
            return Err("the compile budget is zero; give it time and memory".into());
        }
        let cpu_seconds = budget.time.as_secs() + 1;
        let input = in_memory_file(module).map_err(|e| format!("cannot hand the module to the compile worker: {e}"))?;
        let mut child = Command::new(&self.program)
            .arg(WORKER_COMMAND)
            .args(["--engine-memory-bytes", &memory_limit.to_string()])
            .args(["--data-bytes", &budget.memory_bytes.to_string()])
            .args(["--cpu-seconds", &cpu_seconds.to_string()])
            // The worker needs nothing of the environment: no credentials
            // or key variables reach it.
            .env_clear()
            .stdin(Stdio::from(input))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the compile worker {}: {e}", self.program.display()))?;
        let max_artifact = max_artifact_bytes(module.len());
        let stdout = child.stdout.take().expect("stdout is piped");
        let reader = std::thread::spawn(move || read_capped(stdout, max_artifact));
        let stderr = child.stderr.take().expect("stderr is piped");
        let errors = std::thread::spawn(move || read_capped(stderr, 4096));
        let deadline = Instant::now() + budget.time;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                waited => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(match waited {
                        Err(e) => format!("waiting for the compile worker: {e}"),
                        _ => time_out(budget),
                    });
                }
            }
        };
        let artifact = reader.join().map_err(|_| "the compile worker's output could not be read".to_string())?;
        let said = errors.join().ok().and_then(Result::ok).unwrap_or_default();
        let said = String::from_utf8_lossy(&said).trim().to_string();
        if !status.success() {
            return Err(failure(status, &said, budget));
        }
        match artifact {
            Ok(bytes) if bytes.len() as u64 > max_artifact => Err(format!(
                "the compile worker wrote more than {max_artifact} bytes for a module of {} bytes",
                module.len()
            )),
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(format!("reading the compile worker's output: {e}")),
        }
    }
}

/// `bytes` in an anonymous in-memory file, read from its start.
fn in_memory_file(bytes: &[u8]) -> std::io::Result<std::fs::File> {
    use std::io::Seek;
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create takes a NUL-terminated name and flags and
    // returns a new descriptor or -1; a new descriptor is owned by no one
    // else, so the File may own it.
    let fd = unsafe { libc::memfd_create(c"rewind-module".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: see above.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(bytes)?;
    file.rewind()?;
    Ok(file)
}

/// Up to `max + 1` bytes of `source`, then the rest read and dropped: the
/// worker is never stopped by a pipe nobody reads (it is killed at the
/// deadline instead).
fn read_capped(mut source: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    (&mut source).take(max + 1).read_to_end(&mut out)?;
    std::io::copy(&mut source, &mut std::io::sink())?;
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
    let shown: String = said.chars().filter(|c| !rewind_core::actions::is_hidden_control(*c)).take(1000).collect();
    match status.signal() {
        Some(signal) => format!("the compile worker was stopped by signal {signal}: {shown}"),
        None => format!("the compile worker failed ({status}): {shown}"),
    }
}

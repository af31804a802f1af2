//! `rewind compile-worker`: the process a policy compiles in
//! (`rewind::runtime::compile`). It reads the whole module first, then
//! limits itself, so the parent's write never meets a closed pipe and the
//! limits cover only the compilation.

use anyhow::{Context, Result};
use rewind::cli::{Exit, WorkerArgs};
use std::io::{Read, Write};

pub fn run(args: &WorkerArgs) -> Result<Exit> {
    let mut module = Vec::new();
    let max = rewind::runtime::SandboxLimits::default().max_module_bytes.max(1 << 30);
    std::io::stdin().take(max).read_to_end(&mut module).context("reading the module")?;
    limit(libc::RLIMIT_DATA, args.data_bytes)?;
    limit(libc::RLIMIT_CPU, args.cpu_seconds)?;
    let artifact = rewind::runtime::precompile_in_worker(args.engine_memory_bytes, &module)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    std::io::stdout().write_all(&artifact).context("writing the artifact")?;
    Ok(Exit::Ok)
}

fn limit(resource: libc::__rlimit_resource_t, value: u64) -> Result<()> {
    let limit = libc::rlimit { rlim_cur: value, rlim_max: value };
    // SAFETY: setrlimit reads the struct it is given and changes only this
    // process's limits.
    let result = unsafe { libc::setrlimit(resource, &limit) };
    if result != 0 {
        anyhow::bail!("setrlimit({resource}, {value}): {}", std::io::Error::last_os_error());
    }
    Ok(())
}

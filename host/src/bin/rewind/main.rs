//! The `rewind` command line: arguments, and the commands that work on
//! local files. Commands that reach a cluster or a registry are in [`remote`].

mod metrics;
mod remote;
mod worker;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser};
use remote::{capture, controller, local_policy, pull, push};
use rewind::actions::ActionLimits;
use rewind::answers::Health;
use rewind::cli::{BacktestArgs, CacheArgs, Cli, Command, EvalArgs, Exit, NewArgs, Output, SandboxArgs, TestArgs};
use rewind::evaluate::{EvalOptions, Subject, TargetSpec, evaluate_subject};
use rewind::runtime::compile::{CompileBudget, CompileWorker};
use rewind::runtime::{ArtifactCache, PolicyError, PolicyRuntime, SandboxLimits};
use rewind::style::Style;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Like other command-line tools, end quietly when the reader of our
    // output goes away (`rewind test … | head`) instead of panicking on the
    // failed write: Rust ignores SIGPIPE unless told otherwise.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Eval(args) => eval(args),
        Command::Test(args) => test(args),
        Command::Controller(args) => {
            let cache_root = cache_root(&args.sandbox.cache);
            runtime(&args.sandbox, cache_root.as_deref())
                .and_then(|runtime| controller(runtime, args, cache_root.as_deref()))
        }
        Command::Crd => {
            print!("{}", rewind::controller::manifests::crd_yaml());
            Ok(Exit::Ok)
        }
        Command::New(args) => new(args),
        Command::Build { path } => build(path),
        Command::Backtest(args) => backtest(args),
        Command::Capture(args) => capture(args),
        Command::Push(args) => {
            let cache_root = cache_root(&args.sandbox.cache);
            runtime(&args.sandbox, cache_root.as_deref()).and_then(|runtime| {
                push(&runtime, &args.module, &args.reference, &args.annotations, cache_root.as_deref())
            })
        }
        Command::Pull(args) => pull(&args.reference, args.output.as_deref(), cache_root(&args.cache).as_deref()),
        Command::CompileWorker(args) => worker::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "rewind", &mut std::io::stdout());
            Ok(Exit::Ok)
        }
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_for(&e).into()
        }
    }
}

/// An error is the policy's when the runtime refused or stopped it, and
/// the input's otherwise (an unreadable module file included: that is the
/// path given, not the policy).
fn exit_for(error: &anyhow::Error) -> Exit {
    let policy_refused = error
        .chain()
        .any(|cause| cause.downcast_ref::<PolicyError>().is_some_and(|e| !matches!(e, PolicyError::Read { .. })));
    if policy_refused { Exit::Policy } else { Exit::Input }
}

fn cache_root(args: &CacheArgs) -> Option<PathBuf> {
    args.cache_dir.clone().or_else(ArtifactCache::default_dir)
}

fn action_limits(sandbox: &SandboxArgs) -> ActionLimits {
    ActionLimits { max_actions: sandbox.max_actions, ..ActionLimits::default() }
}

fn new(args: &NewArgs) -> Result<Exit> {
    let created = rewind::authoring::new_policy(&args.name, &args.dir, args.sdk.as_deref())?;
    println!("created {}", created.display());
    println!("next: rewind test {0}   (builds it and runs its suite)", created.display());
    Ok(Exit::Ok)
}

fn backtest(args: &BacktestArgs) -> Result<Exit> {
    let cache_root = cache_root(&args.sandbox.cache);
    let cache_root = cache_root.as_deref();
    let runtime = runtime(&args.sandbox, cache_root)?;
    let style = Style::for_stdout(args.color.color);
    if args.settings.len() > args.policies.len() {
        bail!(
            "{} --settings for {} --policy: give at most one per policy, in the same order",
            args.settings.len(),
            args.policies.len()
        );
    }
    let target = TargetSpec::parse(&args.target, &args.namespace).map_err(anyhow::Error::msg)?;
    let timeline = rewind::backtest::read_timeline(&args.timeline)?;
    let mut policies = Vec::new();
    for (i, path) in args.policies.iter().enumerate() {
        let settings = read_settings(args.settings.get(i).map(PathBuf::as_path))?;
        policies.push(runtime.load(&local_policy(path, cache_root)?, &settings)?);
    }
    let interactive = std::io::stderr().is_terminal();
    let total = timeline.len();
    let mut progress = |index: usize, moment: &rewind::backtest::Moment| {
        if interactive {
            eprint!("\r\x1b[K[{}/{total}] {}", index + 1, rewind::time::format(moment.at));
        }
    };
    let limits = action_limits(&args.sandbox);
    let argocd = args.argocd.tracking();
    let result =
        rewind::backtest::run(&policies, &timeline, &target, limits, &args.grants.grants, &argocd, &mut progress);
    if interactive {
        eprint!("\r\x1b[K");
    }
    let backtest = result?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&backtest)?),
        Output::Text => print!("{}", backtest.to_text_styled(style)),
    }
    Ok(Exit::Ok)
}

fn build(path: &Path) -> Result<Exit> {
    eprintln!(
        "building {} for {} ({} profile)",
        path.display(),
        rewind::suite::GUEST_TARGET,
        rewind::suite::GUEST_PROFILE
    );
    let component = rewind::suite::build_policy(path, true)?;
    let bytes = std::fs::read(&component).with_context(|| format!("cannot read {}", component.display()))?;
    println!("{}", component.display());
    eprintln!("{} bytes, sha256 {}", bytes.len(), rewind::distribution::sha256_hex(&bytes));
    Ok(Exit::Ok)
}

/// A Wasm engine with the command line's limits; precompiled policies are
/// cached below `cache_root` unless --no-cache.
fn runtime(args: &SandboxArgs, cache_root: Option<&Path>) -> Result<PolicyRuntime> {
    let limits = SandboxLimits {
        timeout_ms: args.timeout_ms,
        memory_bytes: args.memory_mib << 20,
        max_log_entries: args.max_log_messages,
        max_log_bytes: args.max_log_bytes,
        max_module_bytes: args.max_module_mib << 20,
    };
    let cache = cache_root.filter(|_| !args.cache.no_cache).map(|root| ArtifactCache::new(root.to_path_buf()));
    let worker = CompileWorker {
        program: this_executable()?,
        budget: CompileBudget {
            time: std::time::Duration::from_secs(args.compile_seconds),
            memory_bytes: args.compile_memory_mib << 20,
        },
    };
    Ok(PolicyRuntime::new(limits, cache).map_err(|e| anyhow::anyhow!("{e:#}"))?.with_compile_worker(worker))
}

/// This executable, which compiles policies as a worker: from `/proc` where
/// there is one, else the absolute path it was started by (a chroot
/// without `/proc`).
fn this_executable() -> Result<PathBuf> {
    if let Ok(path) = std::env::current_exe() {
        return Ok(path);
    }
    let started_as = std::env::args_os().next().map(PathBuf::from).filter(|p| p.is_absolute() && p.is_file());
    started_as.context("cannot find this executable (for compiling policies in a worker): no /proc, and not started by an absolute path")
}

/// The settings file as a JSON document; none given is `{}`.
fn read_settings(path: Option<&Path>) -> Result<String> {
    let Some(path) = path else { return Ok("{}".to_string()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read settings {}", path.display()))?;
    let value: serde_json::Value =
        serde_yaml::from_str(&text).with_context(|| format!("settings {} are not YAML or JSON", path.display()))?;
    if !value.is_object() {
        bail!("settings {} must be a mapping, not {value}", path.display());
    }
    Ok(value.to_string())
}

fn eval(args: &EvalArgs) -> Result<Exit> {
    let cache_root = cache_root(&args.sandbox.cache);
    let cache_root = cache_root.as_deref();
    let settings = read_settings(args.settings.as_deref())?;
    let subject = Subject::parse(args.target.as_deref(), args.application.as_deref(), &args.members, &args.namespace)
        .map_err(anyhow::Error::msg)?;
    let now = match &args.now {
        Some(text) => rewind::time::parse(text).map_err(|e| anyhow::anyhow!("--now: {e}"))?,
        None => jiff::Timestamp::now().as_second(),
    };
    let mut objects = rewind::dump::load_paths(&args.cluster)?;
    let live = metrics::live_queries(&args.queries)?;
    let workloads = match &subject {
        Subject::Workload(target) => vec![target.clone()],
        Subject::Application(application) => application.find_members(&objects)?,
    };
    let metric_warnings = metrics::add_metrics(&mut objects, &args.metrics, live.as_ref(), &workloads, now)?;
    let runtime = runtime(&args.sandbox, cache_root)?;
    let policy = runtime.load(&local_policy(&args.policy, cache_root)?, &settings)?;
    let options = EvalOptions {
        now,
        apply: args.apply,
        action_limits: action_limits(&args.sandbox),
        grants: args.grants.grants.clone(),
        argocd: args.argocd.tracking(),
    };
    let mut evaluation = evaluate_subject(&policy, &mut objects, &subject, &options, &rewind::snapshot::NoViews)?;
    evaluation.report.warnings.extend(metric_warnings);
    match args.output {
        Output::Json => println!("{}", evaluation.report.to_json()),
        Output::Text => print!("{}", evaluation.report.to_text_styled(Style::for_stdout(args.color.color))),
    }
    let failed = evaluation.decision.as_ref().is_some_and(|d| d.failure.state == Health::Failed);
    Ok(if evaluation.fatal {
        Exit::Policy
    } else if failed {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

fn test(args: &TestArgs) -> Result<Exit> {
    let cache_root = cache_root(&args.sandbox.cache);
    let policy = args.policy.as_deref().map(|p| local_policy(p, cache_root.as_deref())).transpose()?;
    let policy = policy.as_deref();
    let runtime = &runtime(&args.sandbox, cache_root.as_deref())?;
    let style = Style::for_stdout(args.color.color);
    let mut files = Vec::new();
    for path in &args.paths {
        files.extend(rewind::suite::discover(path)?);
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in files {
        println!("{}", file.display());
        match rewind::suite::run_suite_file(runtime, &file, policy) {
            Ok(result) => {
                for case in result.cases {
                    if case.problems.is_empty() {
                        passed += 1;
                        println!("  {} {}", style.good("PASS"), case.name);
                    } else {
                        failed += 1;
                        println!("  {} {}", style.bad("FAIL"), case.name);
                        for problem in case.problems {
                            println!("       - {}", rewind::report::shown(&problem));
                        }
                    }
                }
            }
            Err(e) => {
                failed += 1;
                println!("  {} (suite) {}", style.bad("FAIL"), rewind::report::shown(&e.to_string()));
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { Exit::Ok } else { Exit::Failed })
}

//! The `rewind` command line: arguments, and the commands that work on
//! local files. Commands that reach a cluster or a registry are in [`remote`].

mod metrics;
mod remote;
mod worker;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use remote::{capture, controller, local_policy, pull, push};
use rewind::actions::{ActionLimits, Grant};
use rewind::evaluate::{EvalOptions, TargetSpec, evaluate};
use rewind::runtime::compile::{CompileBudget, CompileWorker};
use rewind::runtime::{ArtifactCache, PolicyRuntime, SandboxLimits};
use rewind::style::{ColorChoice, Style};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "rewind", version, about = "Kubernetes rollback policies as sandboxed WebAssembly components")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

#[derive(clap::Args)]
struct RuntimeArgs {
    /// Wall-clock budget of one evaluation, in milliseconds.
    #[arg(long, global = true, default_value_t = SandboxLimits::default().timeout_ms)]
    timeout_ms: u64,
    /// Largest linear memory a policy may use, in MiB.
    #[arg(long, global = true, default_value_t = SandboxLimits::default().memory_bytes >> 20)]
    memory_mib: usize,
    /// Log messages a policy may write per evaluation.
    #[arg(long, global = true, default_value_t = SandboxLimits::default().max_log_entries)]
    max_log_messages: usize,
    /// Bytes of log (and of printed output) a policy may write per evaluation.
    #[arg(long, global = true, default_value_t = SandboxLimits::default().max_log_bytes)]
    max_log_bytes: usize,
    /// Largest policy module accepted, in MiB (checked before it is read;
    /// componentize-py components need about 20).
    #[arg(long, global = true, default_value_t = SandboxLimits::default().max_module_bytes >> 20)]
    max_module_mib: u64,
    /// Time a policy may take to compile, in seconds (it compiles in a
    /// worker process, stopped when this runs out).
    #[arg(long, global = true, default_value_t = CompileBudget::default().time.as_secs())]
    compile_seconds: u64,
    /// Memory a policy's compilation may use, in MiB.
    #[arg(long, global = true, default_value_t = CompileBudget::default().memory_bytes >> 20)]
    compile_memory_mib: u64,
    /// Actions one evaluation may return.
    #[arg(long, global = true, default_value_t = ActionLimits::default().max_actions)]
    max_actions: usize,
    /// Where precompiled policies are cached (default: $REWIND_CACHE_DIR,
    /// else $XDG_CACHE_HOME/rewind, else ~/.cache/rewind).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Compile policies every time instead of using the cache.
    #[arg(long, global = true)]
    no_cache: bool,
    /// Colour text output: auto (when stdout is a terminal and NO_COLOR is
    /// unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a policy against one workload of a cluster dump.
    Eval(EvalArgs),
    /// Run every suite file (*suite.yaml) found below the given paths.
    Test {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Run the suites against this policy (path, https or oci
        /// reference) instead of the one each names.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Run the controller: evaluate the workloads of every RolloutPolicy and
    /// act on the decisions.
    Controller(remote::ControllerArgs),
    /// Print the CRDs: RolloutPolicy, RolloutDecision, RolloutPolicyBound.
    Crd,
    /// Create a policy crate: the example rules, a suite and its dumps.
    New {
        /// The crate's name (lowercase, digits and '-').
        name: String,
        /// Where to create it.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The rewind SDK crate (plugins/sdk of a rewind checkout).
        #[arg(long, default_value_os_t = rewind::authoring::default_sdk())]
        sdk: PathBuf,
    },
    /// Build a policy crate into a component (wasm32-wasip2, `guest` profile).
    Build {
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Run policies over a timeline of dumps (a directory of dumps named by
    /// the time they were taken) without acting: when each would have
    /// declared failure and acted, and where they decide differently.
    Backtest(BacktestArgs),
    /// Write a workload's ownership tree from a live cluster as a dump
    /// (secrets excluded); with --watch, a timeline for `rewind backtest`.
    Capture(CaptureArgs),
    /// Push a policy component to an OCI registry, with its WIT version and
    /// metadata as manifest annotations.
    Push {
        module: PathBuf,
        /// oci://registry/repository:tag
        reference: String,
        /// More manifest annotations, as key=value (e.g. a description).
        #[arg(long = "annotation")]
        annotations: Vec<String>,
    },
    /// Pull a policy component from an OCI registry (or an https URL) into
    /// the module cache, verified by digest.
    Pull {
        reference: String,
        /// Also copy it here.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Compiles one module read on stdin (the runtime's compile worker).
    #[command(hide = true, name = "compile-worker")]
    CompileWorker(worker::WorkerArgs),
}

#[derive(clap::Args)]
struct EvalArgs {
    /// The policy component: a path, https://…#sha256=<hex>, or
    /// oci://registry/repository:tag (or @sha256:<hex>).
    #[arg(long)]
    policy: String,
    /// A cluster dump (`kubectl get -o yaml` output, or YAML documents), or a
    /// directory of them. May be repeated.
    #[arg(long, required = true)]
    cluster: Vec<PathBuf>,
    /// The workload, as Kind/name (e.g. Deployment/web).
    #[arg(long)]
    target: String,
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// Evaluation time, RFC 3339 (default: now). Policies have no clock.
    #[arg(long)]
    now: Option<String>,
    /// Policy settings, a YAML or JSON file.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Execute the actions on the loaded objects and print them.
    #[arg(long)]
    apply: bool,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    queries: metrics::QueryArgs,
    /// Recorded metric results to replay (files of RecordedMetrics objects,
    /// as `rewind capture --queries` writes them). May be repeated.
    #[arg(long, conflicts_with = "queries")]
    metrics: Vec<PathBuf>,
    /// Give the policy a grant beyond a rollback (`patch:<Kind>:<JSON
    /// pointer>` or `delete:<Kind>`); it takes effect only if the policy
    /// declares it. May be repeated; the report lists what is in effect.
    #[arg(long = "grant", value_parser = parse_grant)]
    grants: Vec<Grant>,
}

#[derive(clap::Args)]
struct BacktestArgs {
    /// A policy component (path, https or oci reference); give it twice or
    /// more to compare policies.
    #[arg(long = "policy", required = true)]
    policies: Vec<String>,
    /// Settings (YAML or JSON) for the policies, in the order of --policy.
    #[arg(long)]
    settings: Vec<PathBuf>,
    /// The timeline directory.
    #[arg(long)]
    timeline: PathBuf,
    /// The workload, as Kind/name (e.g. Deployment/web).
    #[arg(long)]
    target: String,
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Give the policy a grant beyond a rollback (`patch:<Kind>:<JSON
    /// pointer>` or `delete:<Kind>`); it takes effect only if the policy
    /// declares it. May be repeated; the report lists what is in effect.
    #[arg(long = "grant", value_parser = parse_grant)]
    grants: Vec<Grant>,
}

fn parse_grant(text: &str) -> Result<Grant, String> {
    Grant::parse(text)
}

#[derive(clap::Args)]
struct CaptureArgs {
    /// The workload, as Kind/name (e.g. Deployment/web, or Kind.group/name).
    #[arg(long)]
    target: String,
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// A kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Write the dump to this file instead of stdout.
    #[arg(long, short = 'o', conflicts_with = "watch")]
    output: Option<PathBuf>,
    /// Capture repeatedly into this directory, one dump per moment, named
    /// by the time it was taken.
    #[arg(long)]
    watch: Option<PathBuf>,
    /// Seconds between captures with --watch.
    #[arg(long, default_value_t = 10, requires = "watch")]
    interval: u64,
    /// Stop after this many captures with --watch (default: until stopped).
    #[arg(long, requires = "watch")]
    count: Option<u64>,
    /// With --queries, each dump also holds the query results of its moment.
    #[command(flatten)]
    queries: metrics::QueryArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

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
    let action_limits = ActionLimits { max_actions: cli.runtime.max_actions, ..ActionLimits::default() };
    let style = Style::for_stdout(cli.runtime.color);
    let cache_root = cli.runtime.cache_dir.clone().or_else(ArtifactCache::default_dir);
    let cache_root = cache_root.as_deref();
    // Only the commands that run or inspect policies start a Wasm engine.
    let runtime = || runtime(&cli.runtime, cache_root);
    let result = (|| match &cli.command {
        Command::Eval(args) => eval(&runtime()?, args, action_limits, style, cache_root),
        Command::Test { paths, policy } => {
            let policy = policy.as_deref().map(|p| local_policy(p, cache_root)).transpose()?;
            test(&runtime()?, paths, policy.as_deref(), style)
        }
        Command::Controller(args) => controller(runtime()?, args, cache_root),
        Command::Crd => {
            print!("{}", rewind::controller::manifests::crd_yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::New { name, dir, sdk } => {
            let created = rewind::authoring::new_policy(name, dir, sdk)?;
            println!("created {}", created.display());
            println!("next: rewind test {0}   (builds it and runs its suite)", created.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Build { path } => build(path),
        Command::Backtest(args) => backtest(&runtime()?, args, action_limits, style, cache_root),
        Command::Capture(args) => capture(args),
        Command::Push { module, reference, annotations } => {
            push(&runtime()?, module, reference, annotations, cache_root)
        }
        Command::Pull { reference, output } => pull(reference, output.as_deref(), cache_root),
        Command::CompileWorker(args) => worker::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "rewind", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    })();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn backtest(
    runtime: &PolicyRuntime,
    args: &BacktestArgs,
    action_limits: ActionLimits,
    style: Style,
    cache_root: Option<&Path>,
) -> Result<ExitCode> {
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
    let result = rewind::backtest::run(&policies, &timeline, &target, action_limits, &args.grants, &mut progress);
    if interactive {
        eprint!("\r\x1b[K");
    }
    let backtest = result?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&backtest)?),
        Output::Text => print!("{}", backtest.to_text_styled(style)),
    }
    Ok(ExitCode::SUCCESS)
}

fn build(path: &Path) -> Result<ExitCode> {
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
    Ok(ExitCode::SUCCESS)
}

/// A Wasm engine with the command line's limits; precompiled policies are
/// cached below `cache_root` unless --no-cache.
fn runtime(args: &RuntimeArgs, cache_root: Option<&Path>) -> Result<PolicyRuntime> {
    let limits = SandboxLimits {
        timeout_ms: args.timeout_ms,
        memory_bytes: args.memory_mib << 20,
        max_log_entries: args.max_log_messages,
        max_log_bytes: args.max_log_bytes,
        max_module_bytes: args.max_module_mib << 20,
    };
    let cache = cache_root.filter(|_| !args.no_cache).map(|root| ArtifactCache::new(root.to_path_buf()));
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

fn eval(
    runtime: &PolicyRuntime,
    args: &EvalArgs,
    action_limits: ActionLimits,
    style: Style,
    cache_root: Option<&Path>,
) -> Result<ExitCode> {
    let settings = read_settings(args.settings.as_deref())?;
    let target = TargetSpec::parse(&args.target, &args.namespace).map_err(anyhow::Error::msg)?;
    let now = match &args.now {
        Some(text) => rewind::time::parse(text).map_err(|e| anyhow::anyhow!("--now: {e}"))?,
        None => jiff::Timestamp::now().as_second(),
    };
    let mut objects = rewind::dump::load_paths(&args.cluster)?;
    let live = args.queries.live()?;
    let metric_warnings = metrics::add_metrics(&mut objects, &args.metrics, live.as_ref(), &target, now)?;
    let policy = runtime.load(&local_policy(&args.policy, cache_root)?, &settings)?;
    let options = EvalOptions { now, apply: args.apply, action_limits, grants: args.grants.clone() };
    let mut evaluation = evaluate(&policy, &mut objects, &target, &options)?;
    evaluation.report.warnings.extend(metric_warnings);
    match args.output {
        Output::Json => println!("{}", evaluation.report.to_json()),
        Output::Text => print!("{}", evaluation.report.to_text_styled(style)),
    }
    Ok(if evaluation.fatal { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn test(runtime: &PolicyRuntime, paths: &[PathBuf], policy: Option<&Path>, style: Style) -> Result<ExitCode> {
    let mut files = Vec::new();
    for path in paths {
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
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

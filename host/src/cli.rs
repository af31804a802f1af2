//! The `rewind` command line's arguments: what each command takes, with the
//! help text users read. The binary (`src/bin/rewind`) carries the commands
//! out; the definitions live here so the book's CLI reference is generated
//! from them.

use crate::actions::{ActionLimits, Grant};
use crate::runtime::SandboxLimits;
use crate::runtime::compile::CompileBudget;
use crate::style::ColorChoice;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// What the process's exit status means, for every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The command did what it was asked; `eval`'s workload is not failing.
    Ok = 0,
    /// `eval`: the policy decided the rollout failed. `test`: a case failed.
    Failed = 1,
    /// The command line or an input (file, dump, reference, cluster,
    /// registry) is wrong or unreachable.
    Input = 2,
    /// The policy was refused (contract version, size, compilation,
    /// settings) or stopped: it trapped, ran out of a sandbox limit, or its
    /// actions were refused.
    Policy = 3,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

const EXIT_CODES: &str = "\
Exit status:
  0  done; for eval, the workload is healthy or progressing
  1  eval: the policy decided the rollout failed; test: a case failed
  2  usage or input error (arguments, files, dumps, cluster, registry)
  3  the policy was refused (contract, size, compilation, settings) or stopped
     (trap, sandbox limit, refused actions)";

#[derive(Parser)]
#[command(
    name = "rewind",
    version,
    about = "Kubernetes rollback policies as sandboxed WebAssembly components",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The sandbox an evaluation runs in, for the commands that run policies.
#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Sandbox")]
pub struct SandboxArgs {
    /// Wall-clock budget of one evaluation, in milliseconds.
    #[arg(long, default_value_t = SandboxLimits::default().timeout_ms)]
    pub timeout_ms: u64,
    /// Largest linear memory one policy component may use, in MiB (its
    /// memories together).
    #[arg(long, default_value_t = SandboxLimits::default().memory_bytes >> 20)]
    pub memory_mib: usize,
    /// Log messages a policy may write per evaluation.
    #[arg(long, default_value_t = SandboxLimits::default().max_log_entries)]
    pub max_log_messages: usize,
    /// Bytes of log (and of printed output) a policy may write per
    /// evaluation.
    #[arg(long, default_value_t = SandboxLimits::default().max_log_bytes)]
    pub max_log_bytes: usize,
    /// Largest policy module accepted, in MiB (checked before it is read;
    /// componentize-py components need about 20).
    #[arg(long, default_value_t = SandboxLimits::default().max_module_bytes >> 20)]
    pub max_module_mib: u64,
    /// Time a policy may take to compile, in seconds (it compiles in a
    /// worker process, stopped when this runs out).
    #[arg(long, default_value_t = CompileBudget::default().time.as_secs())]
    pub compile_seconds: u64,
    /// Memory a policy's compilation may use, in MiB.
    #[arg(long, default_value_t = CompileBudget::default().memory_bytes >> 20)]
    pub compile_memory_mib: u64,
    /// Actions one evaluation may return.
    #[arg(long, default_value_t = ActionLimits::default().max_actions)]
    pub max_actions: usize,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Where downloaded and precompiled modules are kept.
#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Module cache")]
pub struct CacheArgs {
    /// The cache directory (default: $REWIND_CACHE_DIR, else
    /// $XDG_CACHE_HOME/rewind, else ~/.cache/rewind).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Compile policies every time instead of using the cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// How the cluster's Argo CD tracks what it applies: an installation
/// setting the workloads themselves cannot tell.
#[derive(clap::Args, Clone)]
#[command(next_help_heading = "GitOps")]
pub struct ArgoCdArgs {
    /// The namespace of Argo CD's control plane, where Applications live
    /// unless a tracking id names another.
    #[arg(long, default_value = "argocd")]
    pub argocd_namespace: String,
    /// Argo CD tracks resources by the `app.kubernetes.io/instance` label
    /// (`application.resourceTrackingMethod: label`), not by its tracking-id
    /// annotation.
    #[arg(long)]
    pub argocd_tracks_by_label: bool,
}

impl ArgoCdArgs {
    pub fn tracking(&self) -> crate::gitops::ArgoCdTracking {
        crate::gitops::ArgoCdTracking {
            namespace: self.argocd_namespace.clone(),
            by_label: self.argocd_tracks_by_label,
        }
    }
}

/// How text output is coloured.
#[derive(clap::Args, Clone, Copy)]
pub struct ColorArgs {
    /// Colour text output: auto (when stdout is a terminal and NO_COLOR is
    /// unset), always or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Subcommand)]
pub enum Command {
    /// Evaluate a policy against one workload of a cluster dump.
    #[command(after_help = EVAL_EXAMPLES)]
    Eval(EvalArgs),
    /// Run every suite file (*suite.yaml) found below the given paths.
    #[command(after_help = TEST_EXAMPLES)]
    Test(TestArgs),
    /// Run the controller: evaluate the workloads of every RolloutPolicy and
    /// act on the decisions.
    Controller(ControllerArgs),
    /// Print the CustomResourceDefinitions (RolloutPolicy, RolloutDecision,
    /// RolloutPolicyBound) as YAML documents, for `kubectl apply -f -`.
    Crd,
    /// Create a policy crate: the example rules, a suite and its dumps.
    #[command(after_help = NEW_EXAMPLES)]
    New(NewArgs),
    /// Build a policy crate into a component (wasm32-wasip2, `guest` profile)
    /// and print the component's path.
    Build {
        /// The policy crate's directory.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Run policies over a timeline of dumps (a directory of dumps named by
    /// the time they were taken) without acting: when each would have
    /// declared failure and acted, and where they decide differently.
    #[command(after_help = BACKTEST_EXAMPLES)]
    Backtest(BacktestArgs),
    /// Write a workload's ownership tree from a live cluster as a dump
    /// (secrets excluded); with --watch, a timeline for `rewind backtest`.
    Capture(CaptureArgs),
    /// Push a policy component to an OCI registry, with its WIT version and
    /// metadata as manifest annotations.
    Push(PushArgs),
    /// Pull a policy component from an OCI registry (or an https URL) into
    /// the module cache, verified by digest.
    Pull(PullArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Compiles one module read on stdin (the runtime's compile worker).
    #[command(hide = true, name = "compile-worker")]
    CompileWorker(WorkerArgs),
}

const EVAL_EXAMPLES: &str = "\
Examples:
  rewind eval --policy target/wasm32-wasip2/guest/deployment.wasm \\
    --cluster examples/deployment/image-pull-backoff.yaml \\
    --target Deployment/web -n shop --now 2024-11-06T14:34:00Z
  rewind eval --policy oci://registry.example.com/policies/deployment:1 \\
    --cluster dump.yaml --target StatefulSet/db --output json";

const TEST_EXAMPLES: &str = "\
Examples:
  rewind test examples/
  rewind test --policy my-policy.wasm examples/policies/rollback-on-crash/";

const NEW_EXAMPLES: &str = "\
Examples:
  rewind new rollback-on-oom
  cd rollback-on-oom && rewind test .";

const BACKTEST_EXAMPLES: &str = "\
Examples:
  rewind backtest --policy deployment.wasm --policy rollback_on_crash.wasm \\
    --timeline examples/timeline/web --target Deployment/web -n shop";

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The policy component: a path, https://…#sha256=<hex>, or
    /// oci://registry/repository:tag (or @sha256:<hex>).
    #[arg(long, value_name = "REFERENCE")]
    pub policy: String,
    /// A cluster dump (`kubectl get -o yaml` output, or YAML documents), or a
    /// directory of them. May be repeated.
    #[arg(long, required = true, value_name = "PATH")]
    pub cluster: Vec<PathBuf>,
    /// The workload, as Kind/name (e.g. Deployment/web, or Kind.group/name).
    #[arg(long, value_name = "KIND/NAME", required_unless_present = "application", conflicts_with = "application")]
    pub target: Option<String>,
    /// An application instead of a workload: the Deployments, StatefulSets
    /// and DaemonSets labelled app.kubernetes.io/part-of=NAME, evaluated
    /// together.
    #[arg(long, value_name = "NAME")]
    pub application: Option<String>,
    /// The application's members, as Kind/name, instead of the label (may
    /// be repeated; the first is member 0).
    #[arg(long = "member", value_name = "KIND/NAME", requires = "application")]
    pub members: Vec<String>,
    /// The workload's namespace.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// Evaluation time, RFC 3339 (default: now). Policies have no clock.
    #[arg(long)]
    pub now: Option<String>,
    /// Policy settings, a YAML or JSON file.
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Execute the actions on the loaded objects and print them.
    #[arg(long)]
    pub apply: bool,
    /// The report's format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub grants: GrantArgs,
    #[command(flatten)]
    pub color: ColorArgs,
    #[command(flatten)]
    pub queries: QueryArgs,
    /// Recorded metric results to replay (files of RecordedMetrics objects,
    /// as `rewind capture --queries` writes them). May be repeated.
    #[arg(long, conflicts_with = "queries", help_heading = "Metrics")]
    pub metrics: Vec<PathBuf>,
    #[command(flatten)]
    pub argocd: ArgoCdArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(clap::Args)]
pub struct TestArgs {
    /// Suite files, or directories searched for *suite.yaml files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Run the suites against this policy (a path, https or oci reference)
    /// instead of the one each names.
    #[arg(long, value_name = "REFERENCE")]
    pub policy: Option<String>,
    #[command(flatten)]
    pub color: ColorArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// The crate's name (lowercase, digits and '-').
    pub name: String,
    /// Where to create it.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Build against this rewind SDK crate (plugins/sdk of a rewind
    /// checkout) instead of the copy written into the new crate.
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct BacktestArgs {
    /// A policy component (path, https or oci reference); give it twice or
    /// more to compare policies.
    #[arg(long = "policy", required = true, value_name = "REFERENCE")]
    pub policies: Vec<String>,
    /// Settings (YAML or JSON) for the policies, in the order of --policy.
    #[arg(long)]
    pub settings: Vec<PathBuf>,
    /// The timeline directory.
    #[arg(long)]
    pub timeline: PathBuf,
    /// The workload, as Kind/name (e.g. Deployment/web).
    #[arg(long, value_name = "KIND/NAME")]
    pub target: String,
    /// The workload's namespace.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// The report's format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub grants: GrantArgs,
    #[command(flatten)]
    pub color: ColorArgs,
    #[command(flatten)]
    pub argocd: ArgoCdArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

/// Grants an offline run gives the policy, as a RolloutPolicy's
/// `spec.grants` does in the cluster.
#[derive(clap::Args)]
pub struct GrantArgs {
    /// Give the policy a grant beyond a rollback (`patch:<Kind>:<JSON
    /// pointer>` or `delete:<Kind>`); it takes effect only if the policy
    /// declares it. May be repeated; the report lists what is in effect.
    #[arg(long = "grant", value_parser = parse_grant)]
    pub grants: Vec<Grant>,
}

fn parse_grant(text: &str) -> Result<Grant, String> {
    Grant::parse(text)
}

#[derive(clap::Args)]
pub struct CaptureArgs {
    /// The workload, as Kind/name (e.g. Deployment/web, or Kind.group/name).
    #[arg(long, value_name = "KIND/NAME")]
    pub target: String,
    /// The workload's namespace.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// A kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Write the dump to this file instead of stdout.
    #[arg(long, short = 'o', conflicts_with = "watch")]
    pub output: Option<PathBuf>,
    /// Capture repeatedly into this directory, one dump per moment, named
    /// by the time it was taken.
    #[arg(long, value_name = "DIR")]
    pub watch: Option<PathBuf>,
    /// Seconds between captures with --watch.
    #[arg(long, default_value_t = 10, requires = "watch")]
    pub interval: u64,
    /// Stop after this many captures with --watch (default: until stopped).
    #[arg(long, requires = "watch")]
    pub count: Option<u64>,
    /// With --queries, each dump also holds the query results of its moment.
    #[command(flatten)]
    pub queries: QueryArgs,
    #[command(flatten)]
    pub argocd: ArgoCdArgs,
}

/// Metric queries run against a live Prometheus.
#[derive(clap::Args)]
#[command(next_help_heading = "Metrics")]
pub struct QueryArgs {
    /// Metric queries to run before evaluating: a RolloutPolicy (its
    /// spec.metrics) or a file of `prometheus:` and `queries:`.
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// The Prometheus to run --queries against (replaces the file's address).
    #[arg(long, requires = "queries", value_name = "URL")]
    pub metrics_from: Option<String>,
    /// A bearer token for that Prometheus, read from this file.
    #[arg(long, requires = "queries")]
    pub metrics_token_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct PushArgs {
    /// The component file to push.
    pub module: PathBuf,
    /// Where to: oci://registry/repository:tag.
    pub reference: String,
    /// More manifest annotations, as key=value (e.g. a description).
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// What to pull: oci://registry/repository:tag (or @sha256:<hex>), or
    /// https://…#sha256=<hex>.
    pub reference: String,
    /// Also copy it here.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// `rewind controller`'s arguments.
#[derive(clap::Args)]
pub struct ControllerArgs {
    /// A kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the
    /// in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long)]
    pub json_logs: bool,
    /// Where /metrics, /healthz and /readyz are served.
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDRESS:PORT")]
    pub metrics_address: String,
    /// The Lease that elects one acting replica, in $POD_NAMESPACE
    /// (default: the namespace `default`).
    #[arg(long, default_value = "rewind-controller")]
    pub lease_name: String,
    /// A Prometheus base URL RolloutPolicies may query; may be repeated.
    /// Without it, any address a RolloutPolicyBound allows.
    #[arg(long = "prometheus-address", value_name = "URL")]
    pub prometheus_addresses: Vec<String>,
    /// Where RolloutPolicies' module paths may point: bundled policies
    /// directly in it, custom ones below custom/; no other path is loaded.
    #[arg(long, default_value = "/policies")]
    pub policies_dir: PathBuf,
    #[command(flatten)]
    pub argocd: ArgoCdArgs,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// The memory limit of the engine the artifact is for.
    #[arg(long)]
    pub engine_memory_bytes: usize,
    /// RLIMIT_DATA for this process.
    #[arg(long)]
    pub data_bytes: u64,
    /// RLIMIT_CPU for this process: a backstop behind the parent's clock.
    #[arg(long)]
    pub cpu_seconds: u64,
}

/// A report's format.
#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    /// For people: aligned, coloured on a terminal.
    Text,
    /// For tools: one JSON document.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// Every argument a user can see explains itself.
    #[test]
    fn every_visible_argument_has_help() {
        let mut missing = Vec::new();
        let cli = super::Cli::command();
        for command in cli.get_subcommands().filter(|c| !c.is_hide_set()) {
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none() && !["help", "version"].contains(&arg.get_id().as_str()) {
                    missing.push(format!("{} {}", command.get_name(), arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }
}

//! Commands that reach beyond local files: a cluster (`capture`,
//! `controller`) or a registry or web server (`push`, `pull`, and remote
//! `--policy` references).

use anyhow::{Context, Result, bail};
use rewind::cli::Exit;
use rewind::cli::{CaptureArgs, ControllerArgs};
use rewind::distribution::PolicyRef;
use rewind::evaluate::TargetSpec;
use rewind::runtime::PolicyRuntime;
use std::path::{Path, PathBuf};

async fn kube_client(kubeconfig: Option<&Path>) -> Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &Default::default()).await?
        }
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}

pub fn capture(args: &CaptureArgs) -> Result<Exit> {
    let target = TargetSpec::parse(&args.target, &args.namespace).map_err(anyhow::Error::msg)?;
    let live = super::metrics::live_queries(&args.queries)?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    tokio.block_on(async {
        let cluster = rewind::controller::cluster::Cluster::new(kube_client(args.kubeconfig.as_deref()).await?);
        // Discovery once: the kind's resource does not change between captures.
        let resource = rewind::capture::resource_of(&cluster, &target.kind).await?;
        let Some(dir) = &args.watch else {
            let dump =
                rewind::capture::capture(&cluster, &resource, &target, live.as_ref(), &args.argocd.tracking()).await?;
            match &args.output {
                Some(path) => std::fs::write(path, dump).with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{dump}"),
            }
            return Ok(Exit::Ok);
        };
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mut taken = 0u64;
        loop {
            let at = jiff::Timestamp::now().as_second();
            let dump =
                rewind::capture::capture(&cluster, &resource, &target, live.as_ref(), &args.argocd.tracking()).await?;
            let path = dir.join(rewind::backtest::moment_file_name(at));
            std::fs::write(&path, dump).with_context(|| format!("cannot write {}", path.display()))?;
            taken += 1;
            eprintln!("captured {} ({taken})", path.display());
            if args.count.is_some_and(|count| taken >= count) {
                return Ok(Exit::Ok);
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(args.interval.max(1))) => {}
                _ = tokio::signal::ctrl_c() => return Ok(Exit::Ok),
            }
        }
    })
}

fn fetcher(cache_root: Option<&Path>) -> Result<rewind::distribution::Fetcher> {
    let root = cache_root.context("no cache directory for downloaded policies: set --cache-dir or REWIND_CACHE_DIR")?;
    let credentials = rewind::distribution::Credentials::from_env().map_err(anyhow::Error::msg)?;
    Ok(rewind::distribution::Fetcher::new(root).with_credentials(credentials))
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future))
}

/// The file behind a policy reference, downloaded (and verified) first when
/// it is remote.
pub fn local_policy(reference: &str, cache_root: Option<&Path>) -> Result<PathBuf> {
    let reference: PolicyRef = reference.parse().map_err(anyhow::Error::msg)?;
    if let PolicyRef::File(path) = reference {
        return Ok(path);
    }
    let fetcher = fetcher(cache_root)?;
    Ok(block_on(fetcher.fetch(&reference))??.path)
}

fn oci_reference(text: &str) -> Result<rewind::distribution::OciRef> {
    match text.parse().map_err(anyhow::Error::msg)? {
        PolicyRef::Oci(oci) => Ok(oci),
        _ => bail!("{text} is not an oci:// reference"),
    }
}

pub fn push(
    runtime: &PolicyRuntime,
    module: &Path,
    reference: &str,
    extra: &[String],
    cache_root: Option<&Path>,
) -> Result<Exit> {
    let oci = oci_reference(reference)?;
    // One read: the bytes pushed are the bytes inspected.
    let bytes = std::fs::read(module).with_context(|| format!("cannot read {}", module.display()))?;
    let inspected = runtime.inspect_bytes(module, &bytes)?;
    let mut annotations = std::collections::BTreeMap::from([
        (rewind::distribution::ANNOTATION_WIT.to_string(), inspected.contract.package()),
        ("org.opencontainers.image.created".to_string(), rewind::time::format(jiff::Timestamp::now().as_second())),
    ]);
    if let Some(name) = module.file_name().and_then(|n| n.to_str()) {
        annotations.insert("org.opencontainers.image.title".into(), name.to_string());
    }
    for pair in extra {
        let (key, value) = pair.split_once('=').with_context(|| format!("--annotation {pair:?} is not key=value"))?;
        annotations.insert(key.to_string(), value.to_string());
    }
    let digest = block_on(fetcher(cache_root)?.push(&oci, &bytes, &annotations))??;
    // The pinned form: what a RolloutPolicy should name to never move.
    println!("{}", rewind::distribution::OciRef { reference: digest, ..oci.clone() });
    eprintln!("pushed {} (sha256 {}, {}) as {oci}", module.display(), inspected.sha256, inspected.contract.package());
    Ok(Exit::Ok)
}

pub fn pull(reference: &str, output: Option<&Path>, cache_root: Option<&Path>) -> Result<Exit> {
    let reference: PolicyRef = reference.parse().map_err(anyhow::Error::msg)?;
    if let PolicyRef::File(path) = &reference {
        bail!("{} is a local path; pull takes an oci:// reference or an https:// URL", path.display());
    }
    let fetched = block_on(fetcher(cache_root)?.fetch(&reference))??;
    if let Some(output) = output {
        std::fs::copy(&fetched.path, output).with_context(|| format!("cannot write {}", output.display()))?;
    }
    println!("{}", output.unwrap_or(&fetched.path).display());
    if let Some(digest) = &fetched.manifest_digest {
        eprintln!("manifest {digest}");
    }
    for (key, value) in &fetched.annotations {
        eprintln!("  {key}: {value}");
    }
    Ok(Exit::Ok)
}

pub fn controller(runtime: PolicyRuntime, args: &ControllerArgs, cache_root: Option<&Path>) -> Result<Exit> {
    let ControllerArgs {
        kubeconfig, json_logs, metrics_address, lease_name, prometheus_addresses, policies_dir, ..
    } = args;
    let (kubeconfig, json_logs) = (kubeconfig.as_deref(), *json_logs);
    let cache_root = cache_root.map(Path::to_path_buf);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let registry_credentials = rewind::distribution::Credentials::from_env().map_err(anyhow::Error::msg)?;
    tokio.block_on(async {
        let client = kube_client(kubeconfig).await?;
        let metrics = rewind::controller::metrics::Metrics::default();
        metrics.serve(metrics_address).with_context(|| format!("cannot serve metrics on {metrics_address}"))?;
        let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "default".into());
        let identity =
            format!("{}-{}", std::env::var("HOSTNAME").unwrap_or_else(|_| "rewind".into()), std::process::id());
        rewind::controller::leader::lead(client.clone(), &namespace, lease_name, identity).await;
        metrics.set_ready(true);
        tracing::info!(metrics = metrics_address, "rewind controller started");
        let options = rewind::controller::run::Options {
            cache_root,
            prometheus_addresses: prometheus_addresses.to_vec(),
            registry_credentials,
            policies_dir: Some(policies_dir.clone()),
            argocd: args.argocd.tracking(),
        };
        rewind::controller::run::run(client, std::sync::Arc::new(runtime), metrics, options).await;
        Ok(Exit::Ok)
    })
}

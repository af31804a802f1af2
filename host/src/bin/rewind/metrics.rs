//! The metric options of `eval` and `capture`: declared queries run against
//! a live Prometheus, or recorded results replayed.

use anyhow::{Context, Result, bail};
use rewind::cli::QueryArgs;
use rewind::evaluate::{TargetSpec, find_target};
use rewind::objects::ObjectSet;
use rewind::queries::LiveQueries;
use std::path::PathBuf;

/// The live queries `args` ask for, if any.
pub fn live_queries(args: &QueryArgs) -> Result<Option<LiveQueries>> {
    let Some(file) = &args.queries else { return Ok(None) };
    let token = match &args.metrics_token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --metrics-token-file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    LiveQueries::from_file(file, args.metrics_from.as_deref(), token).map(Some).map_err(anyhow::Error::msg)
}

/// Adds recorded results (`--metrics` files of RecordedMetrics objects) and
/// live results to the evaluation's objects; returns warnings to report.
pub fn add_metrics(
    objects: &mut ObjectSet,
    recorded: &[PathBuf],
    live: Option<&LiveQueries>,
    targets: &[TargetSpec],
    now: i64,
) -> Result<Vec<String>> {
    if !recorded.is_empty() {
        let files = rewind::dump::load_paths(recorded)?;
        for (id, object) in files.iter() {
            if rewind::objects::kind(object) != Some(rewind::snapshot::metrics::KIND) {
                bail!(
                    "--metrics {}: holds a {} ({}); --metrics takes only RecordedMetrics objects",
                    files.origin(id),
                    rewind::objects::kind(object).unwrap_or("kindless object"),
                    rewind::objects::name(object).unwrap_or("?")
                );
            }
            objects.insert(object.clone(), files.origin(id).clone())?;
        }
    }
    let Some(live) = live else { return Ok(Vec::new()) };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut warnings = Vec::new();
    for target in targets {
        let id = find_target(objects, target)?;
        let recorded = runtime.block_on(live.record(objects, id, now));
        let origin = rewind::objects::Origin(format!("the live query results from {}", live.prometheus.address()));
        warnings.extend(rewind::queries::add_results(objects, id, recorded, origin).map_err(anyhow::Error::msg)?);
    }
    Ok(warnings)
}

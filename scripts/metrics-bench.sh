#!/usr/bin/env bash
# Metric query time and the size of the snapshot's metrics section
# (host/benches/metric_queries.rs) against Debian's Prometheus on loopback,
# over a day of one series backfilled with promtool. Prints a table. Not
# part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
run=$(pwd)/target/metrics-bench
rm -rf "$run" && mkdir -p "$run"
now=$(date +%s)
python3 - "$now" > "$run/series.om" <<'PY'
import sys
now = int(sys.argv[1])
print("# TYPE http_error_ratio gauge")
for t in range(now - 86400 - 600, now + 1, 15):
    print(f'http_error_ratio{{namespace="shop",pod_template_hash="7c9d6f8b5"}} {0.01 + (t % 600) / 60000} {t}')
print("# EOF")
PY
address=$(scripts/prometheus-up.sh "$run")
trap 'kill "$(cat "$run/prometheus.pid")" 2>/dev/null || true' EXIT
REWIND_BENCH_PROMETHEUS=$address REWIND_BENCH_NOW=$now cargo bench -p rewind --bench metric-queries

#!/usr/bin/env bash
# Metric query time and the size of the snapshot's metrics section
# (host/benches/metric_queries.rs) against Debian's Prometheus on loopback,
# over a day of one series backfilled with promtool. Prints a table. Not
# part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null && command -v prometheus >/dev/null || scripts/apt-install.sh prometheus
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
(cd "$run" && promtool tsdb create-blocks-from openmetrics series.om tsdb >/dev/null)
printf 'global: {scrape_interval: 1h}\n' > "$run/prometheus.yml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$run" && exec prometheus --config.file=prometheus.yml --storage.tsdb.path=tsdb --storage.tsdb.retention.time=100y \
  --web.listen-address="127.0.0.1:$port" > prometheus.log 2>&1) &
prometheus_pid=$!
trap 'kill $prometheus_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.2; done
REWIND_BENCH_PROMETHEUS=http://127.0.0.1:$port REWIND_BENCH_NOW=$now cargo bench -p rewind --bench metric-queries

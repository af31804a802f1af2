#!/usr/bin/env bash
# Starts Debian's Prometheus on loopback over the series in <dir>/series.om
# (OpenMetrics, backfilled with promtool), no scraping, and prints its
# address once it is ready; its pid is in <dir>/prometheus.pid.
#   scripts/prometheus-up.sh <dir>
set -euo pipefail
dir=$(cd "${1:?usage: scripts/prometheus-up.sh <dir holding series.om>}" && pwd)
cd "$(dirname "$0")/.."
command -v promtool >/dev/null && command -v prometheus >/dev/null || scripts/apt-install.sh prometheus
rm -rf "$dir/tsdb"
(cd "$dir" && promtool tsdb create-blocks-from openmetrics series.om tsdb >/dev/null)
printf 'global: {scrape_interval: 1h}\n' > "$dir/prometheus.yml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$dir" && exec prometheus --config.file=prometheus.yml --storage.tsdb.path=tsdb --storage.tsdb.retention.time=100y \
  --web.listen-address="127.0.0.1:$port" > prometheus.log 2>&1) &
echo $! > "$dir/prometheus.pid"
for _ in $(seq 150); do
  if curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null; then echo "http://127.0.0.1:$port"; exit 0; fi
  sleep 0.2
done
echo "prometheus-up: not ready after 30 s; $dir/prometheus.log:" >&2
tail -5 "$dir/prometheus.log" >&2
exit 1

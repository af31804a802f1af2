#!/usr/bin/env bash
# Captures examples/timeline/web-metrics: on the test cluster, Deployment
# shop/web is rolled out from shop/web:1 to shop/web:2 (every pod Ready), a
# Prometheus on loopback serves http_error_ratio for both revisions (0.01;
# revision 2's turns to 0.2 half a minute after the rollout), and
# `rewind capture --watch --queries` records four moments 15 s apart, the
# query results beside the objects. Not part of scripts/test.sh: the
# captured files are committed, and the suite and tests read them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=examples/timeline/web-metrics
command -v promtool >/dev/null && command -v prometheus >/dev/null || scripts/apt-install.sh prometheus
cargo build -p rewind >&2
kubeconfig=$(scripts/k8s-up.sh)
run=$(pwd)/target/capture-metrics
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; scripts/k8s-down.sh' EXIT
kubectl=("$(scripts/k8s-build.sh)/kubectl" --kubeconfig="$kubeconfig")
"${kubectl[@]}" create namespace shop >/dev/null
"${kubectl[@]}" create deployment web -n shop --image=shop/web:1 >/dev/null
"${kubectl[@]}" rollout status -n shop deployment/web --timeout=60s >/dev/null
"${kubectl[@]}" set image -n shop deployment/web web=shop/web:2 >/dev/null
"${kubectl[@]}" rollout status -n shop deployment/web --timeout=60s >/dev/null
hash_of() {
  "${kubectl[@]}" get rs -n shop -o json |
    python3 -c 'import json,sys; print([r["metadata"]["labels"]["pod-template-hash"] for r in json.load(sys.stdin)["items"] if r["spec"]["template"]["spec"]["containers"][0]["image"] == sys.argv[1]][0])' "$1"
}
old=$(hash_of shop/web:1) new=$(hash_of shop/web:2)
rm -rf "$run" && mkdir -p "$run"
now=$(date +%s)
python3 - "$now" "$old" "$new" > "$run/series.om" <<'PY'
import sys
now, old, new = int(sys.argv[1]), sys.argv[2], sys.argv[3]
print("# TYPE http_error_ratio gauge")
for t in range(now - 600, now + 600, 5):
    print(f'http_error_ratio{{namespace="shop",pod_template_hash="{old}"}} 0.01 {t}')
for t in range(now - 30, now + 600, 5):
    print(f'http_error_ratio{{namespace="shop",pod_template_hash="{new}"}} {0.01 if t < now + 30 else 0.2} {t}')
print("# EOF")
PY
(cd "$run" && promtool tsdb create-blocks-from openmetrics series.om tsdb >/dev/null)
printf 'global: {scrape_interval: 1h}\n' > "$run/prometheus.yml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$run" && exec prometheus --config.file=prometheus.yml --storage.tsdb.path=tsdb --storage.tsdb.retention.time=100y \
  --web.listen-address="127.0.0.1:$port" > prometheus.log 2>&1) &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break; sleep 0.2; done
rm -rf "$out" && mkdir -p "$out"
target/debug/rewind capture --kubeconfig "$kubeconfig" --target Deployment/web -n shop \
  --queries examples/timeline/web-metrics.queries.yaml --metrics-from "http://127.0.0.1:$port" \
  --watch "$out" --interval 15 --count 4

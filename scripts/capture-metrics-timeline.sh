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
cargo build -p rewind >&2
kubeconfig=$(scripts/k8s-up.sh)
run=$(pwd)/target/capture-metrics
trap 'kill "$(cat "$run/prometheus.pid" 2>/dev/null)" 2>/dev/null || true; scripts/k8s-down.sh' EXIT
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
address=$(scripts/prometheus-up.sh "$run")
rm -rf "$out" && mkdir -p "$out"
target/debug/rewind capture --kubeconfig "$kubeconfig" --target Deployment/web -n shop \
  --queries examples/timeline/web-metrics.queries.yaml --metrics-from "$address" \
  --watch "$out" --interval 15 --count 4

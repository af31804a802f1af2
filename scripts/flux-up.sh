#!/usr/bin/env bash
# Usage: scripts/flux-up.sh [kubeconfig]   (default: the test cluster's,
# target/k8s/run/kubeconfig, from scripts/k8s-up.sh)
#
# Runs the real Flux source-controller and kustomize-controller (built once
# by scripts/flux-build.sh) against a cluster, as local processes on
# loopback: applies their CRDs (OCIRepository, Kustomization and the other
# source kinds kustomize-controller watches), creates the flux-system
# namespace, starts both, waits until they are healthy and prints their run
# directory, $REWIND_FLUX_RUN (default target/k8s/run/flux). It holds their
# logs (*.log), pids (*.pid), source-controller's artifact storage (kept,
# with its port, when the controllers are restarted) and ports.env, the
# loopback addresses they listen on:
#   SOURCE_STORAGE_ADDR   source-controller's artifact server, which
#                         kustomize-controller downloads artifacts from
#   SOURCE_METRICS_ADDR, SOURCE_HEALTH_ADDR,
#   KUSTOMIZE_METRICS_ADDR, KUSTOMIZE_HEALTH_ADDR
# Stop them with scripts/flux-down.sh (before scripts/k8s-up.sh, which
# throws target/k8s/run away, pid files and all).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kubeconfig=$(realpath "${1:-target/k8s/run/kubeconfig}")
[ -r "$kubeconfig" ] || { echo "flux-up: no kubeconfig at $kubeconfig (start the cluster with scripts/k8s-up.sh)" >&2; exit 1; }
bin=$(scripts/flux-build.sh)
kubectl=("$(scripts/k8s-build.sh)/kubectl" --kubeconfig="$kubeconfig")
run=$(realpath -m "${REWIND_FLUX_RUN:-$root/target/k8s/run/flux}")
command -v curl >/dev/null || scripts/apt-install.sh curl
scripts/flux-down.sh >/dev/null 2>&1 || true
# A restart keeps the artifact server's address and storage: the artifact
# URLs in existing sources' status name them, and kustomize-controller
# retries such a URL for minutes (--http-retry) before it asks again.
previous_storage=$(sed -n 's/^SOURCE_STORAGE_ADDR=//p' "$run/ports.env" 2>/dev/null || true)
find "$run" -mindepth 1 -maxdepth 1 ! -name storage -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$run/storage"
# A start that fails part-way leaves nothing running.
trap 'status=$?; [ $status -eq 0 ] || REWIND_FLUX_RUN="$run" "$root/scripts/flux-down.sh"' EXIT

"${kubectl[@]}" apply --server-side --force-conflicts -f "$bin/../crds" >/dev/null
"${kubectl[@]}" wait --for=condition=Established --timeout=60s -f "$bin/../crds" >/dev/null
"${kubectl[@]}" create namespace flux-system --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null

free_port() { # [wanted]: that port if it is free, else any free one
  python3 - "${1:-0}" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's listeners
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}
storage=127.0.0.1:$(free_port "${previous_storage##*:}")
cat > "$run/ports.env" <<EOF
SOURCE_STORAGE_ADDR=$storage
SOURCE_METRICS_ADDR=127.0.0.1:$(free_port)
SOURCE_HEALTH_ADDR=127.0.0.1:$(free_port)
KUSTOMIZE_METRICS_ADDR=127.0.0.1:$(free_port)
KUSTOMIZE_HEALTH_ADDR=127.0.0.1:$(free_port)
EOF
. "$run/ports.env"

start() { # name, command...
  local name=$1; shift
  # The controllers take their cluster from KUBECONFIG (they have no
  # --kubeconfig flag) and their own namespace from RUNTIME_NAMESPACE.
  KUBECONFIG=$kubeconfig RUNTIME_NAMESPACE=flux-system nohup "$@" > "$run/$name.log" 2>&1 &
  echo $! > "$run/$name.pid"
}
# Leader election is off by default; --watch-all-namespaces is the default
# too, spelled out here.
start source-controller "$bin/source-controller" --watch-all-namespaces --log-encoding=console \
  --metrics-addr="$SOURCE_METRICS_ADDR" --health-addr="$SOURCE_HEALTH_ADDR" \
  --storage-path="$run/storage" --storage-addr="$storage" --storage-adv-addr="$storage"
start kustomize-controller "$bin/kustomize-controller" --watch-all-namespaces --log-encoding=console \
  --metrics-addr="$KUSTOMIZE_METRICS_ADDR" --health-addr="$KUSTOMIZE_HEALTH_ADDR"

ready() { # url, name
  for _ in $(seq 1 240); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$(cat "$run/$2.pid")" 2>/dev/null || break
    sleep 0.25
  done
  echo "flux-up: $2 did not become ready; the end of its log:" >&2
  tail -20 "$run/$2.log" >&2
  exit 1
}
ready "http://$SOURCE_HEALTH_ADDR/readyz" source-controller
ready "http://$KUSTOMIZE_HEALTH_ADDR/readyz" kustomize-controller
# The artifact server answers once the storage is set up (404 for /).
for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$storage/")" != 000 ] && break
  sleep 0.25
done
echo "flux-up: $(cat "$bin/VERSIONS") in $run" >&2
echo "$run"

#!/usr/bin/env bash
# Restarts the test cluster's API server with the flags scripts/k8s-up.sh
# gave it, and waits until it serves again: for tests of what the
# controller does when its API server goes away mid-rollout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run=${REWIND_K8S_RUN:-$root/target/k8s/run}
pid=$(cat "$run/apiserver.pid")
kill "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
mapfile -d '' command < "$run/apiserver.cmd"
nohup "${command[@]}" >> "$run/apiserver.log" 2>&1 &
echo $! > "$run/apiserver.pid"
for _ in $(seq 1 240); do
  [ "$(curl -sk -H 'Authorization: Bearer admin-token' https://127.0.0.1:6443/readyz 2>/dev/null)" = ok ] && exit 0
  sleep 0.25
done
echo "k8s-restart-apiserver: the API server did not come back; the end of its log:" >&2
tail -20 "$run/apiserver.log" >&2
exit 1

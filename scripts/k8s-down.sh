#!/usr/bin/env bash
# Stops what scripts/k8s-up.sh started, and waits until it is gone (so a
# new cluster can bind the same ports at once). The cluster's data is thrown
# away on the next start, so nothing is owed a graceful shutdown (an API
# server whose etcd went first would wait for it). Only processes still
# running one of the cluster's binaries are killed: a pid file left from
# before a reboot may name an unrelated process by now.
cd "$(dirname "$0")/.."
run=${REWIND_K8S_RUN:-target/k8s/run}
running() { # a zombie (exited, not yet reaped) holds no port
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
pids=()
for file in "$run"/*.pid; do
  [ -f "$file" ] || continue
  pid=$(cat "$file")
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -Eq '(^|/)(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok) '; then
    kill -9 "$pid" 2>/dev/null && pids+=("$pid")
  fi
  rm -f "$file"
done
for _ in $(seq 1 50); do
  alive=0
  for pid in "${pids[@]}"; do running "$pid" && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.1
done
exit 0

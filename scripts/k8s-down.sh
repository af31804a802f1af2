#!/usr/bin/env bash
# Stops what scripts/k8s-up.sh started.
cd "$(dirname "$0")/.."
for pid in "${REWIND_K8S_RUN:-target/k8s/run}"/*.pid; do
  [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null
done
exit 0

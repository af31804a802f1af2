#!/usr/bin/env bash
# Stops the Flux controllers scripts/flux-up.sh started, and waits until
# they are gone. Independent of scripts/k8s-down.sh: run it first (the
# cluster going away first only makes the controllers log errors). Only
# processes still running one of the controllers' binaries are stopped: a
# pid file left from before a reboot may name an unrelated process by now.
cd "$(dirname "$0")/.."
run=${REWIND_FLUX_RUN:-target/k8s/run/flux}
running() { # a zombie (exited, not yet reaped) holds no port
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
pids=()
for file in "$run"/*.pid; do
  [ -f "$file" ] || continue
  pid=$(cat "$file")
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -Eq '(^|/)(source-controller|kustomize-controller) '; then
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  fi
  rm -f "$file"
done
# They stop within a second of SIGTERM; one still running after 5 s is killed.
for i in $(seq 1 70); do
  alive=0
  for pid in "${pids[@]}"; do running "$pid" && alive=1; done
  [ "$alive" = 0 ] && break
  if [ "$i" = 50 ]; then for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done; fi
  sleep 0.1
done
exit 0

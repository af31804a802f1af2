#!/usr/bin/env bash
# The main job on a fresh machine: build the host and the bundled policies,
# evaluate the Deployment policy on an example cluster dump, then run the
# example suites.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-policies.sh
cargo build -p rewind
set -x
target/debug/rewind eval \
  --policy target/wasm32-wasip2/guest/deployment.wasm \
  --cluster examples/deployment/image-pull-backoff.yaml \
  --target Deployment/web --namespace shop --now 2024-11-06T14:34:00Z ||
  [ $? -eq 1 ] # exit status 1: the policy decided the rollout failed, as it should here
target/debug/rewind test examples/
# The Deployment policy and the README's example policy over a timeline of
# dumps: when each would have acted, and where they disagree.
target/debug/rewind backtest \
  --policy target/wasm32-wasip2/guest/deployment.wasm \
  --policy target/wasm32-wasip2/guest/rollback_on_crash.wasm \
  --timeline examples/timeline/web --target Deployment/web --namespace shop

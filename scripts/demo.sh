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
  --target Deployment/web --namespace shop --now 2024-11-06T14:34:00Z
target/debug/rewind test examples/

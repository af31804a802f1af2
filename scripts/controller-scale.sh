#!/usr/bin/env bash
# The controller at scale: starts the test cluster, builds `rewind` in
# release, and runs host/benches/controller_scale.rs, which creates the
# workloads, starts `rewind controller` as its own process per size and
# prints a table. Not part of scripts/test.sh (it takes several minutes).
#   scripts/controller-scale.sh            # sizes 100, 1000, 3000
#   REWIND_SCALE_SIZES=100 scripts/controller-scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-policies.sh >/dev/null
cargo build --release -p rewind
kubeconfig=$(scripts/k8s-up.sh)
trap scripts/k8s-down.sh EXIT
kubectl=("$(scripts/k8s-build.sh)/kubectl" --kubeconfig="$kubeconfig")
"${kubectl[@]}" apply -f deploy/helm/rewind/crds/rewind.dev.yaml >/dev/null
"${kubectl[@]}" wait --for=condition=Established crd --all --timeout=60s >/dev/null
REWIND_SCALE_KUBECONFIG=$kubeconfig REWIND_SCALE_BINARY=$PWD/target/release/rewind \
  REWIND_SCALE_MODULE=$PWD/target/wasm32-wasip2/guest/deployment.wasm \
  cargo bench -p rewind --bench controller-scale

#!/usr/bin/env bash
# The controller against a real cluster: starts one (scripts/k8s-up.sh),
# checks that the install manifests apply as the README says, runs the e2e
# tests (built with the same workspace features as `cargo test --workspace`,
# so no dependency is rebuilt), stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
kubeconfig=$(scripts/k8s-up.sh)
trap scripts/k8s-down.sh EXIT
kubectl=("$(scripts/k8s-build.sh)/kubectl" --kubeconfig="$kubeconfig")
# `kubectl apply -f deploy/` on a fresh cluster, then the example
# RolloutPolicies against the CRD it installed (server-side: the API server
# validates them without creating them).
"${kubectl[@]}" apply -f deploy/ >/dev/null
"${kubectl[@]}" wait --for=condition=Established crd/rolloutpolicies.rewind.dev --timeout=60s >/dev/null
for policy in examples/rolloutpolicies/*.yaml; do
  "${kubectl[@]}" apply --dry-run=server -n default -f "$policy" >/dev/null
done
echo "e2e: deploy/ applied, examples/rolloutpolicies/ validated by the API server" >&2
# The controller under test runs as the ServiceAccount deploy/ installs,
# with only the ClusterRole it ships.
token=$("${kubectl[@]}" create token rewind -n rewind-system --duration=2h)
controller_kubeconfig=$(dirname "$kubeconfig")/controller.kubeconfig
sed "s/token: admin-token/token: $token/" "$kubeconfig" > "$controller_kubeconfig"
REWIND_E2E_KUBECONFIG=$kubeconfig REWIND_E2E_KUBECTL=${kubectl[0]} REWIND_E2E_CONTROLLER_KUBECONFIG=$controller_kubeconfig \
  cargo test --workspace --test e2e --test parity --test resilience -- --ignored --nocapture --test-threads=1

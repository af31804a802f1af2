#!/usr/bin/env bash
# The controller against a real API server: starts one, runs the e2e tests
# (built with the same workspace features as `cargo test --workspace`, so no
# dependency is rebuilt),
# stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
kubeconfig=$(scripts/k8s-up.sh)
trap scripts/k8s-down.sh EXIT
REWIND_E2E_KUBECONFIG=$kubeconfig cargo test --workspace --test e2e -- --ignored --nocapture --test-threads=1

#!/usr/bin/env bash
# The controller against a real cluster: starts one (scripts/k8s-up.sh),
# checks the Helm chart (lint, render, install, server-side dry runs, its
# admission policy with scripts/admission-e2e.sh) and that deploy/ applies as
# the README says, runs the e2e tests (built with the same workspace features
# as `cargo test --workspace`, so no dependency is rebuilt), walks through
# the README's install with the controller image (scripts/install-e2e.sh),
# stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null && command -v prometheus >/dev/null || scripts/apt-install.sh prometheus
kubeconfig=$(scripts/k8s-up.sh)
trap scripts/k8s-down.sh EXIT
kubectl=("$(scripts/k8s-build.sh)/kubectl" --kubeconfig="$kubeconfig")
helm=$(scripts/helm-build.sh)
chart=deploy/helm/rewind
"$helm" lint --strict "$chart" >/dev/null
scripts/render-deploy.sh --check
# `kubectl apply -f deploy/` on a fresh cluster (the chart's default render),
# then the example RolloutPolicies against the CRD it installed
# (server-side: the API server validates them without creating them).
"${kubectl[@]}" apply -f deploy/ >/dev/null
"${kubectl[@]}" wait --for=condition=Established crd/rolloutpolicies.rewind.dev --timeout=60s >/dev/null
for policy in examples/rolloutpolicies/*.yaml; do
  "${kubectl[@]}" apply --dry-run=server -n default -f "$policy" >/dev/null
done
echo "e2e: helm lint, deploy/ is the chart's render and applied, examples/rolloutpolicies/ validated by the API server" >&2

# The chart installed by Helm as a second release, in a namespace of its own:
# the controller under test runs as its ServiceAccount, with only the RBAC
# the chart grants.
helm_cluster=(--kubeconfig "$kubeconfig")
"$helm" install e2e "$chart" "${helm_cluster[@]}" -n rewind-e2e --create-namespace --set replicas=1 >/dev/null
# Other values, validated server-side: no policy volume and a pinned image
# with the first release's account; and the ServiceMonitor, against
# prometheus-operator's own CRD (from the Go module proxy).
"$helm" template pinned "$chart" -n rewind-e2e --set policies.volume=null \
  --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
  --set rbac.create=false --set serviceAccount.create=false --set serviceAccount.name=e2e-rewind |
  "${kubectl[@]}" apply --dry-run=server -f - >/dev/null
operator_dir=$(cd "$(mktemp -d)" && go mod init rewind.dev/crds >/dev/null 2>&1 &&
  go mod download -json github.com/prometheus-operator/prometheus-operator@v0.85.0 | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
"${kubectl[@]}" apply --server-side -f "$operator_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" >/dev/null
"${kubectl[@]}" wait --for=condition=Established crd/servicemonitors.monitoring.coreos.com --timeout=60s >/dev/null
"$helm" template monitored "$chart" -n rewind-e2e --set metrics.serviceMonitor.enabled=true \
  --set 'prometheusAddresses[0]=http://prometheus.monitoring:9090' \
  --set 'rbac.tokenSecrets[0].namespace=rewind-e2e' --set 'rbac.tokenSecrets[0].name=prometheus-token' |
  "${kubectl[@]}" apply --dry-run=server -f - >/dev/null
# Values the chart refuses, with the reason.
refuses() {
  local expected=$1; shift
  if output=$("$helm" template refused "$chart" "$@" 2>&1); then
    echo "e2e: the chart accepted $*" >&2; exit 1
  fi
  grep -q "$expected" <<<"$output" || { echo "e2e: the chart refused $* without saying '$expected': $output" >&2; exit 1; }
}
refuses "is not sha256:<64 hex digits>" --set image.digest=latest
refuses "needs metrics.service.enabled" --set metrics.serviceMonitor.enabled=true --set metrics.service.enabled=false
refuses "serviceAccount.name is required" --set serviceAccount.create=false
refuses "additional properties 'replica' not allowed" --set replica=3
refuses "incompatible with Kubernetes" --kube-version 1.36.0
echo "e2e: helm install, server-side dry runs of other values (ServiceMonitor included), refused values" >&2
# The chart's admission policy (both installs' copies are in force), with
# tenant identities impersonated.
scripts/admission-e2e.sh "$kubeconfig" "${kubectl[0]}"

token=$("${kubectl[@]}" create token e2e-rewind -n rewind-e2e --duration=2h)
controller_kubeconfig=$(dirname "$kubeconfig")/controller.kubeconfig
sed "s/token: admin-token/token: $token/" "$kubeconfig" > "$controller_kubeconfig"
REWIND_E2E_KUBECONFIG=$kubeconfig REWIND_E2E_KUBECTL=${kubectl[0]} REWIND_E2E_CONTROLLER_KUBECONFIG=$controller_kubeconfig \
REWIND_E2E_CONTROLLER_NAMESPACE=rewind-e2e REWIND_E2E_LEASE=e2e-rewind-controller \
  cargo test --workspace --test e2e --test e2e_application --test e2e_configuration --test e2e_grants --test e2e_metrics --test e2e_tenants --test parity --test resilience -- --ignored --nocapture --test-threads=1
# The README's install walked through with the image's own binary.
scripts/install-e2e.sh "$kubeconfig" "${kubectl[0]}"
# A rollback under GitOps, with the real Flux controllers.
scripts/gitops-e2e.sh "$kubeconfig" "${kubectl[0]}"
# The README's cluster quick start, as written (it starts a cluster of its own).
scripts/quickstart-e2e.sh

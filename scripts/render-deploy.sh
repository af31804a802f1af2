#!/usr/bin/env bash
# deploy/rewind.yaml is the Helm chart (deploy/helm/rewind) rendered with its
# defaults as release "rewind" in namespace rewind-system, CRDs included, so
# `kubectl apply -f deploy/` and `helm install` install the same objects.
# Rewrites it; with --check, fails when it differs from a fresh render (and
# when the chart's versions differ from the crate's).
set -euo pipefail
cd "$(dirname "$0")/.."
helm=$(scripts/helm-build.sh)
chart=deploy/helm/rewind
crate_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
for field in version appVersion; do
  chart_version=$(sed -n "s/^$field: \"*\([^\"]*\)\"*/\1/p" "$chart/Chart.yaml")
  if [ "$chart_version" != "$crate_version" ]; then
    echo "render-deploy: $chart/Chart.yaml $field is $chart_version, the crate is $crate_version" >&2
    exit 1
  fi
done
render() {
  echo "# Rendered from deploy/helm/rewind by scripts/render-deploy.sh; edit the chart, not this file."
  "$helm" template rewind "$chart" --namespace rewind-system --include-crds
}
# Rendered to a file first, so a failing helm neither truncates
# deploy/rewind.yaml nor reads as a stale render.
rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
render > "$rendered"
if [ "${1:-}" = --check ]; then
  if ! diff -u deploy/rewind.yaml "$rendered" >&2; then
    echo "render-deploy: deploy/rewind.yaml is not the chart's render: run scripts/render-deploy.sh" >&2
    exit 1
  fi
else
  cat "$rendered" > deploy/rewind.yaml
fi

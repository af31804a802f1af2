#!/usr/bin/env bash
# Builds Helm $HELM_VERSION from the Go module proxy (helm.sh/helm/v4) and
# prints the path of the binary. Pinned to the newest v4 the proxy served on
# 2026-11-25 whose go.mod the machine's Go (1.26) accepts. Built once (about
# 3 minutes on 2 cores) and cached outside the repository, in
# $REWIND_HELM_CACHE (default ~/.cache/rewind/helm-<version>).
set -euo pipefail
HELM_VERSION=${REWIND_HELM_VERSION:-4.3.1}
cache=${REWIND_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rewind/helm-$HELM_VERSION}
helm=$cache/bin/helm
if [ -x "$helm" ]; then echo "$helm"; exit 0; fi
command -v go >/dev/null || { echo "helm-build: needs Go 1.26 or newer (go not found)" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$helm" ]; then echo "$helm"; exit 0; fi
export GOFLAGS=-mod=mod CGO_ENABLED=0
work=$cache/build
rm -rf "$work" && mkdir -p "$work" "$cache/bin"
start=$(date +%s)
cd "$work"
go mod init rewind.dev/helm >/dev/null 2>&1
go get "helm.sh/helm/v4@v$HELM_VERSION" >&2
# The version Helm reports (`helm version`) is set at link time.
go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION" \
  -o "$helm.partial" helm.sh/helm/v4/cmd/helm >&2
mv "$helm.partial" "$helm"
rm -rf "$work"
echo "helm-build: built in $(( $(date +%s) - start )) s" >&2
echo "$helm"

#!/usr/bin/env bash
# Builds the test cluster's binaries from the Go module proxy and prints the
# directory holding them: kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl of Kubernetes $K8S_VERSION, etcd $ETCD_VERSION
# and kwok $KWOK_VERSION (simulated nodes and kubelets).
#
# The versions are pinned so every clone tests the same cluster; they are
# the newest the module proxy served on 2026-12-01 whose go.mod the
# machine's Go (1.26) accepts. The build takes about 8 minutes on 2 cores
# (first run only) and is cached outside the repository, in
# $REWIND_K8S_CACHE (default ~/.cache/rewind/k8s-<version>).
set -euo pipefail
K8S_VERSION=${REWIND_K8S_VERSION:-1.37.2}
ETCD_VERSION=${REWIND_ETCD_VERSION:-3.7.3}
KWOK_VERSION=${REWIND_KWOK_VERSION:-0.8.0}
cache=${REWIND_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rewind/k8s-$K8S_VERSION}
bin=$cache/bin
stamp="kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION"
done_if_built() {
  if [ -f "$bin/VERSIONS" ] && [ "$(cat "$bin/VERSIONS")" = "$stamp" ]; then
    echo "$bin"
    exit 0
  fi
}
done_if_built
command -v go >/dev/null || { echo "k8s-build: needs Go 1.26 or newer (go not found)" >&2; exit 1; }
go_version=$(go env GOVERSION)
case "$go_version" in
  go1.2[6-9]*|go1.[3-9][0-9]*) ;;
  *) echo "k8s-build: Kubernetes $K8S_VERSION needs Go 1.26 or newer; this machine has $go_version" >&2; exit 1 ;;
esac
mkdir -p "$cache"
# Two builds at once would remove each other's work: the second waits.
exec 9>"$cache/.lock"
flock 9
done_if_built
export GOFLAGS=-mod=mod CGO_ENABLED=0
work=$cache/build
rm -rf "$work" "$bin"
mkdir -p "$work/kubernetes" "$work/etcd" "$work/kwok" "$bin"
start=$(date +%s)

# k8s.io/kubernetes points its staging modules (k8s.io/api, client-go, ...)
# at directories of its own repository; a module that builds it from the
# proxy must pin each of them to the matching v0 release instead.
echo "k8s-build: Kubernetes $K8S_VERSION" >&2
cd "$work/kubernetes"
go mod init rewind.dev/test-cluster/kubernetes >/dev/null 2>&1
k8s_mod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$k8s_mod")
[ -n "$staging" ] || { echo "k8s-build: found no staging replacements in $k8s_mod" >&2; exit 1; }
for module in $staging; do
  go mod edit -replace "$module=$module@v0.${K8S_VERSION#1.}"
done
go get "k8s.io/kubernetes@v$K8S_VERSION" >&2
go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION" -o "$bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl >&2

echo "k8s-build: etcd $ETCD_VERSION" >&2
cd "$work/etcd"
go mod init rewind.dev/test-cluster/etcd >/dev/null 2>&1
go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 >&2

echo "k8s-build: kwok $KWOK_VERSION" >&2
cd "$work/kwok"
go mod init rewind.dev/test-cluster/kwok >/dev/null 2>&1
go get "sigs.k8s.io/kwok@v$KWOK_VERSION" >&2
go build -trimpath -ldflags "-s -w" -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok >&2

echo "$stamp" > "$bin/VERSIONS"
rm -rf "$work"
echo "k8s-build: built in $(( $(date +%s) - start )) s" >&2
echo "$bin"

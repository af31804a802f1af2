#!/usr/bin/env bash
# Starts a real kube-apiserver + kube-controller-manager (v1.20.2, built from
# Debian bookworm's source with the scripts in ../shared/k8s) and prints the
# kubeconfig path. The build (5-10 minutes) is cached outside the repository,
# in $REWIND_K8S_CACHE (default ~/.cache/rewind/k8s-1.20.2), so later runs
# and other clones skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${REWIND_SHARED:-$root/../shared}
cache=${REWIND_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rewind/k8s-1.20.2}
bin=$cache/bin
run=$root/target/k8s/run
if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kube-controller-manager" ]; then
  mkdir -p "$bin"
  W=$cache/build "$shared/k8s/build-kube-apiserver-1.20.sh" >&2
  cp "$cache/build/kubernetes-1.20.2/_output/bin/kube-apiserver" \
     "$cache/build/kubernetes-1.20.2/_output/bin/kube-controller-manager" "$bin/"
  rm -rf "$cache/build"
fi
command -v etcd >/dev/null || "$root/scripts/apt-install.sh" etcd-server openssl curl
"$root/scripts/k8s-down.sh" >/dev/null 2>&1 || true
"$shared/k8s/start-kube-apiserver-1.20.sh" "$bin" "$run" >&2
echo "$run/kubeconfig"

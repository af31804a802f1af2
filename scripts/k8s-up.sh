#!/usr/bin/env bash
# Starts a real kube-apiserver + kube-controller-manager (v1.20.2, built from
# Debian bookworm's source with the scripts in ../shared/k8s) and prints the
# kubeconfig path. The build (5-10 minutes) is cached in target/k8s/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${REWIND_SHARED:-$root/../shared}
bin=$root/target/k8s/bin
run=$root/target/k8s/run
if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kube-controller-manager" ]; then
  mkdir -p "$bin"
  W=$root/target/k8s/build "$shared/k8s/build-kube-apiserver-1.20.sh" >&2
  cp "$root/target/k8s/build/kubernetes-1.20.2/_output/bin/kube-apiserver" \
     "$root/target/k8s/build/kubernetes-1.20.2/_output/bin/kube-controller-manager" "$bin/"
  rm -rf "$root/target/k8s/build"
fi
command -v etcd >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server openssl curl >/dev/null; }
"$root/scripts/k8s-down.sh" >/dev/null 2>&1 || true
"$shared/k8s/start-kube-apiserver-1.20.sh" "$bin" "$run" >&2
echo "$run/kubeconfig"

#!/usr/bin/env bash
# Starts a test cluster on loopback and prints its kubeconfig path: etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler of the current
# Kubernetes release, and kwok playing the nodes and their kubelets (pods
# bound to its nodes become Running and Ready; images tagged `unpullable`
# go to ImagePullBackOff, images tagged `crashing` crash-loop with rising
# restart counts: scripts/kwok-stages.yaml). The binaries come from
# scripts/k8s-build.sh (built once, cached outside the repository).
# Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$(scripts/k8s-build.sh)
run=${REWIND_K8S_RUN:-$root/target/k8s/run}
nodes=${REWIND_K8S_NODES:-3}
command -v openssl >/dev/null && command -v curl >/dev/null || scripts/apt-install.sh openssl curl
scripts/k8s-down.sh >/dev/null 2>&1 || true
# Another etcd or API server on these ports (Debian's etcd-server starts one
# on 2379) would be used instead of ours, with its old data.
# A cluster just stopped may hold its ports for a few seconds more.
for port in 2379 2380 2381 6443; do
  for attempt in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    if [ "$attempt" = 50 ]; then
      echo "k8s-up: 127.0.0.1:$port is already in use; stop what listens there (ss -ltnp) and try again" >&2
      exit 1
    fi
    sleep 0.2
  done
done
rm -rf "$run"
mkdir -p "$run/certs"
# A start that fails part-way leaves nothing running.
trap 'status=$?; [ $status -eq 0 ] || "$root/scripts/k8s-down.sh"' EXIT

openssl genrsa -out "$run/certs/sa.key" 2048 2>/dev/null
openssl rsa -in "$run/certs/sa.key" -pubout -out "$run/certs/sa.pub" 2>/dev/null
echo 'admin-token,admin,admin,"system:masters"' > "$run/certs/tokens.csv"
cat > "$run/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: admin-token}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
KC

start() { # name, command...
  local name=$1; shift
  # The command line, for scripts/k8s-restart-apiserver.sh.
  printf '%s\0' "$@" > "$run/$name.cmd"
  nohup "$@" > "$run/$name.log" 2>&1 &
  echo $! > "$run/$name.pid"
}
alive() { # what
  kill -0 "$(cat "$run/$1.pid")" 2>/dev/null || { echo "k8s-up: $1 exited; the end of its log:" >&2; tail -20 "$run/$1.log" >&2; exit 1; }
}
ready() { # url, what
  for _ in $(seq 1 240); do
    [ "$(curl -sk -H 'Authorization: Bearer admin-token' "$1" 2>/dev/null)" = ok ] && return 0
    kill -0 "$(cat "$run/$2.pid")" 2>/dev/null || break
    sleep 0.25
  done
  echo "k8s-up: $2 did not become ready; the end of its log:" >&2
  tail -20 "$run/$2.log" >&2
  exit 1
}

start etcd "$bin/etcd" --data-dir "$run/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster default=http://127.0.0.1:2380 \
  --listen-metrics-urls http://127.0.0.1:2381 --unsafe-no-fsync
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:2381/health >/dev/null && break
  alive etcd
  sleep 0.1
done
alive etcd
# The advertised address is never dialled here (no kubelet, no pods with a
# network); the API server only refuses a loopback one.
start apiserver "$bin/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 \
  --secure-port=6443 --cert-dir="$run/certs" --token-auth-file="$run/certs/tokens.csv" \
  --authorization-mode=Node,RBAC --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$run/certs/sa.pub" --service-account-signing-key-file="$run/certs/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 --advertise-address=10.0.0.1 --disable-admission-plugins=ServiceAccount
ready https://127.0.0.1:6443/readyz apiserver
# The workload controllers rollbacks touch, garbage collection and
# namespace deletion; no cloud, node-lifecycle or service-account-token
# controllers (kwok keeps its nodes Ready itself).
start kcm "$bin/kube-controller-manager" --kubeconfig="$run/kubeconfig" \
  --controllers=deployment,replicaset,statefulset,daemonset,garbagecollector,namespace,podgc \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port=0 --kube-api-qps=500 --kube-api-burst=1000 \
  --service-account-private-key-file="$run/certs/sa.key" --root-ca-file="$run/certs/apiserver.crt"
start scheduler "$bin/kube-scheduler" --kubeconfig="$run/kubeconfig" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port=0 --kube-api-qps=500 --kube-api-burst=1000
start kwok "$bin/kwok" --kubeconfig="$run/kubeconfig" --config="$root/scripts/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --server-address=127.0.0.1:0 --node-ip=127.0.0.1 --cidr=10.1.0.1/16
for component in kcm scheduler kwok; do alive "$component"; done
kubectl=("$bin/kubectl" --kubeconfig="$run/kubeconfig")
for i in $(seq 1 "$nodes"); do
  "${kubectl[@]}" apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "2000"}
  capacity: {cpu: "1000", memory: 4Ti, pods: "2000"}
NODE
done
"${kubectl[@]}" wait --for=condition=Ready node --all --timeout=60s >/dev/null
# New nodes carry the not-ready taint until a node lifecycle controller
# lifts it; none runs (it would need kubelet leases), so lift it here.
"${kubectl[@]}" taint nodes --all node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
echo "k8s-up: Kubernetes $("$bin/kube-apiserver" --version | cut -d' ' -f2) with $nodes kwok nodes in $run" >&2
echo "$run/kubeconfig"

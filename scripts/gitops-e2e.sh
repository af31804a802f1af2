#!/usr/bin/env bash
# A rollback under GitOps, with the real Flux source-controller and
# kustomize-controller (scripts/flux-build.sh) on the test cluster that
# scripts/e2e.sh started. Flux deploys Deployment web from an OCI artifact
# in a registry on loopback; a new artifact breaks it; then, with the
# controller running the bundled Deployment policy in Enforce:
#   gitops: ignore  Flux undoes each rollback and the flap guard stops rewind;
#   gitops: pause   the rollback holds across Flux intervals, and a fixed
#                   artifact resumes Flux for web, which deploys the fix;
#   gitops: report  no rollback; the decision names the revision in Git.
# Argo CD at the API level (its controller needs a repo server and Redis,
# and is not run): with Argo CD's own Application CRD, a self-healing
# Application that lists web has its self-heal turned off and marked for
# the rollback, and turned back on once it reports a newer revision.
#   scripts/gitops-e2e.sh <kubeconfig> <kubectl>
set -euo pipefail
cd "$(dirname "$0")/.."
kubeconfig=$1
kubectl=("$2" --kubeconfig="$kubeconfig")
command -v docker-registry >/dev/null || scripts/apt-install.sh docker-registry
run=$(pwd)/target/gitops-e2e
rm -rf "$run" && mkdir -p "$run/registry" "$run/manifests"
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  scripts/flux-down.sh >/dev/null 2>&1 || true
  "${kubectl[@]}" delete namespace gitops gitops-argo argocd --wait=false >/dev/null 2>&1 || true
  "${kubectl[@]}" delete rolloutpolicybound gitops-e2e gitops-e2e-argo --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fail() {
  echo "gitops-e2e: $*; the decision, the workload's annotations and the end of rewind's log:" >&2
  for namespace in gitops gitops-argo; do
    "${kubectl[@]}" get rdec deployment-web -n "$namespace" -o jsonpath='{.spec}{"\n"}' >&2 2>/dev/null || true
    "${kubectl[@]}" get deployment web -n "$namespace" -o jsonpath='{.metadata.annotations}{"\n"}' >&2 2>/dev/null || true
  done
  grep -v "cert bypassed" "$run/rewind.log" | tail -20 >&2
  exit 1
}
wait_for() { # what, seconds, command...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq $((seconds * 2))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  fail "timed out after ${seconds}s waiting for $what"
}

registry_port=$(free_port)
cat > "$run/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $run/registry}}
http: {addr: 127.0.0.1:$registry_port}
YAML
docker-registry serve "$run/registry.yml" > "$run/registry.log" 2>&1 &
pids+=($!)
wait_for "the registry" 30 curl -sf "http://127.0.0.1:$registry_port/v2/"
scripts/flux-up.sh "$kubeconfig" >/dev/null

# Publishes web with `image` as the artifact Flux follows, and has Flux
# fetch it now rather than at its next poll.
publish() {
  cat > "$run/manifests/web.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: $1}]}
YAML
  scripts/flux-push.sh "127.0.0.1:$registry_port/shop/web-config:live" "$run/manifests" > "$run/pushed"
  "${kubectl[@]}" annotate -n flux-system ocirepository web --overwrite "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null 2>&1 || true
}
image() { "${kubectl[@]}" get deployment web -n gitops -o jsonpath='{.spec.template.spec.containers[0].image}'; }
is_image() { [ "$(image)" = "$1" ]; }
applied() { # the digest Flux applied last is the one pushed last
  local digest; digest=$(sed 's/.*@//' "$run/pushed")
  "${kubectl[@]}" get kustomization web -n flux-system -o jsonpath='{.status.lastAppliedRevision}' | grep -q "$digest"
}

# rewind's CRDs (as the chart installs them; already there under e2e.sh).
target/debug/rewind crd | "${kubectl[@]}" apply --server-side --force-conflicts -f - >/dev/null
"${kubectl[@]}" create namespace gitops >/dev/null
# The operator's bound lets the namespace's RolloutPolicies give the grant
# `gitops: pause` needs for a Flux Kustomization.
"${kubectl[@]}" apply -f - >/dev/null <<YAML
apiVersion: rewind.dev/v1alpha1
kind: RolloutPolicyBound
metadata: {name: gitops-e2e}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: gitops}}
  grants: ["patch:Deployment:/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile"]
YAML
publish shop/web:1
"${kubectl[@]}" apply -f - >/dev/null <<YAML
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10s
  url: oci://127.0.0.1:$registry_port/shop/web-config
  ref: {tag: live}
  insecure: true
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  interval: 10s
  path: ./
  prune: true
  targetNamespace: gitops
  sourceRef: {kind: OCIRepository, name: web}
YAML
wait_for "Flux to deploy web" 120 is_image shop/web:1
"${kubectl[@]}" rollout status -n gitops deployment/web --timeout=60s >/dev/null
echo "gitops-e2e: Flux deployed web (shop/web:1) from an OCI artifact" >&2

# Argo CD's Application CRD, from the Go module proxy (v3.3.0: later
# releases need a newer Go than this machine's to download).
argocd_dir=$(cd "$(mktemp -d)" && go mod init rewind.dev/argocd >/dev/null 2>&1 &&
  GOFLAGS=-mod=mod go mod download -json github.com/argoproj/argo-cd/v3@v3.3.0 | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
"${kubectl[@]}" apply --server-side -f "$argocd_dir/manifests/crds/application-crd.yaml" >/dev/null
# Polled: `kubectl wait` fails outright while the new CRD has no conditions yet.
established() { [ "$("${kubectl[@]}" get crd applications.argoproj.io -o jsonpath='{.status.conditions[?(@.type=="Established")].status}')" = True ]; }
wait_for "Argo CD's Application CRD" 60 established

# The controller, with the bundled policies, started after Flux's and Argo
# CD's CRDs so it watches Kustomizations and Applications.
metrics_port=$(free_port)
target/debug/rewind controller --kubeconfig "$kubeconfig" --policies-dir "$PWD/target/wasm32-wasip2/guest" \
  --metrics-address "127.0.0.1:$metrics_port" --lease-name gitops-e2e > "$run/rewind.log" 2>&1 &
pids+=($!)
wait_for "the controller to be ready" 60 curl -sf "http://127.0.0.1:$metrics_port/readyz"

# The RolloutPolicy for web with `gitops` set to $1 and at most $2
# rollbacks an hour. A grace period of a few seconds: with none, the fix's
# own new pod, Pending for a moment before it is scheduled, would fail it. The flap guard's history is the workload's: it
# outlives a RolloutPolicy that is deleted and made again.
policy() {
  "${kubectl[@]}" delete rolloutpolicy web -n gitops --ignore-not-found --wait=true >/dev/null
  wait_for "the previous decision to go" 60 bash -c "! ${kubectl[*]} get rdec deployment-web -n gitops"
  "${kubectl[@]}" apply -n gitops -f - >/dev/null <<YAML
apiVersion: rewind.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: web}
spec:
  target: {apiVersion: apps/v1, kind: Deployment, name: web}
  policy: {module: $PWD/target/wasm32-wasip2/guest/deployment.wasm}
  settings: {graceSeconds: 5, gitops: $1}
  mode: Enforce
  resyncSeconds: 2
  flapGuard: {maxRollbacks: $2, windowSeconds: 3600}
  grants: ["patch:Deployment:/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile"]
YAML
}
decision() { "${kubectl[@]}" get rdec deployment-web -n gitops -o jsonpath="$1"; }
rollbacks() { { decision '{.spec.rollbacks}' 2>/dev/null || true; } | python3 -c 'import json,sys; t=sys.stdin.read(); print(len(json.loads(t)) if t else 0)'; }

# 1. ignore: Flux reapplies the failed version after each rollback, until the
#    flap guard holds rewind back with the failed version serving.
policy ignore 2
publish shop/web:unpullable
wait_for "Flux to apply the failing version" 60 applied
tripped() { [ "$(decision '{.spec.flapGuardTripped}')" = true ]; }
wait_for "the flap guard to trip" 180 tripped
[ "$(rollbacks)" = 2 ] || fail "expected 2 rollbacks before the flap guard, got $(rollbacks)"
wait_for "Flux to undo the last rollback" 60 is_image shop/web:unpullable
echo "gitops-e2e: ignore: Flux undid both rollbacks and the flap guard stopped rewind with the failed version serving" >&2

# 2. pause: one rollback, which holds across Flux's intervals.
policy pause 10
wait_for "the rollback with Flux paused" 90 is_image shop/web:1
held=$(rollbacks)
reconcile() { "${kubectl[@]}" get deployment web -n gitops -o jsonpath='{.metadata.annotations.kustomize\.toolkit\.fluxcd\.io/reconcile}'; }
[ "$(reconcile)" = disabled ] || fail "web is rolled back but Flux is not paused for it"
paused_at=$("${kubectl[@]}" get deployment web -n gitops -o jsonpath='{.metadata.annotations.rewind\.dev/gitops-paused-at}')
grep -q "$(sed 's/.*@//' "$run/pushed")" <<<"$paused_at" || fail "the pause records $paused_at, not the failing revision"
for interval in 1 2 3; do
  "${kubectl[@]}" annotate -n flux-system kustomization web --overwrite "reconcile.fluxcd.io/requestedAt=held-$interval-$(date +%s%N)" >/dev/null
  sleep 10
  is_image shop/web:1 || fail "Flux undid the rollback at interval $interval despite the pause"
done
[ "$(rollbacks)" = "$held" ] || fail "Flux undid the paused rollback: $(rollbacks) rollbacks, $held when it was paused"
wait_for "the decision to say Flux is paused" 30 bash -c "${kubectl[*]} get rdec deployment-web -n gitops -o jsonpath='{.spec.findings}' | grep -q GitOpsPaused"
echo "gitops-e2e: pause: the rollback held for 3 Flux reconciles; the decision says Flux is paused at $paused_at" >&2

# 3. A fix in Git: Flux applies a newer revision (skipping web), rewind
#    resumes Flux for web, and Flux deploys the fix.
publish shop/web:2
wait_for "Flux to deploy the fix after rewind resumed it" 120 is_image shop/web:2
[ -z "$(reconcile)" ] || fail "the fix is deployed but web still carries reconcile=$(reconcile)"
resumed() { "${kubectl[@]}" get events -n gitops --field-selector reason=GitOpsResumed -o name | grep -q .; }
wait_for "the GitOpsResumed event" 30 resumed
"${kubectl[@]}" rollout status -n gitops deployment/web --timeout=60s >/dev/null
echo "gitops-e2e: a fixed artifact resumed Flux for web, which deployed shop/web:2; no pause is left" >&2

# 4. report: no rollback of what Flux would reapply; the decision says why.
policy report 10
wait_for "a decision on the healthy web" 60 decision '{.spec.time}'
before=$(rollbacks)
publish shop/web:unpullable
wait_for "Flux to apply the failing version again" 60 applied
refused() { decision '{.spec.eligible}' | grep -q false; }
wait_for "the decision to refuse the rollback" 60 refused
sleep 5
is_image shop/web:unpullable || fail "report rolled web back"
[ "$(rollbacks)" = "$before" ] || fail "report rolled back: $(rollbacks) rollbacks, $before before"
echo "gitops-e2e: report: no rollback; the decision names the revision to revert in Git" >&2

# 5. Argo CD, at the API level: web in gitops-argo, tracked by the
#    Application argocd/shop, which self-heals and lists it.
"${kubectl[@]}" create namespace gitops-argo >/dev/null
"${kubectl[@]}" create namespace argocd >/dev/null
"${kubectl[@]}" apply -f - >/dev/null <<YAML
apiVersion: rewind.dev/v1alpha1
kind: RolloutPolicyBound
metadata: {name: gitops-e2e-argo}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: gitops-argo}}
  grants:
    - patch:Application.argoproj.io:/spec/syncPolicy/automated/selfHeal
    - patch:Application.argoproj.io:/metadata/annotations/rewind.dev~1paused-for
YAML
"${kubectl[@]}" create deployment web -n gitops-argo --image=shop/web:1 >/dev/null
"${kubectl[@]}" annotate deployment web -n gitops-argo "argocd.argoproj.io/tracking-id=shop:apps/Deployment:gitops-argo/web" >/dev/null
"${kubectl[@]}" rollout status -n gitops-argo deployment/web --timeout=60s >/dev/null
application() { # revision
  "${kubectl[@]}" apply --server-side --force-conflicts --field-manager=argocd-controller -f - >/dev/null <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop, namespace: argocd}
spec:
  project: default
  source: {repoURL: https://git.example.com/shop.git, path: deploy, targetRevision: main}
  destination: {server: https://kubernetes.default.svc, namespace: gitops-argo}
status:
  sync: {status: Synced, revision: $1}
  resources:
    - {group: apps, version: v1, kind: Deployment, namespace: gitops-argo, name: web, status: Synced}
YAML
}
application 1b2c3d4
"${kubectl[@]}" patch application shop -n argocd --type merge -p '{"spec":{"syncPolicy":{"automated":{"prune":true,"selfHeal":true}}}}' >/dev/null
"${kubectl[@]}" apply -n gitops-argo -f - >/dev/null <<YAML
apiVersion: rewind.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: web}
spec:
  target: {apiVersion: apps/v1, kind: Deployment, name: web}
  policy: {module: $PWD/target/wasm32-wasip2/guest/deployment.wasm}
  settings: {graceSeconds: 5, gitops: pause}
  mode: Enforce
  resyncSeconds: 2
  grants:
    - patch:Application.argoproj.io:/spec/syncPolicy/automated/selfHeal
    - patch:Application.argoproj.io:/metadata/annotations/rewind.dev~1paused-for
YAML
"${kubectl[@]}" set image -n gitops-argo deployment/web web=shop/web:unpullable >/dev/null
argo_image() { [ "$("${kubectl[@]}" get deployment web -n gitops-argo -o jsonpath='{.spec.template.spec.containers[0].image}')" = "$1" ]; }
self_heal() { [ "$("${kubectl[@]}" get application shop -n argocd -o jsonpath='{.spec.syncPolicy.automated.selfHeal}')" = "$1" ]; }
wait_for "the rollback of web in gitops-argo" 90 argo_image shop/web:1
self_heal false || fail "web was rolled back but the Application still self-heals"
mark=$("${kubectl[@]}" get application shop -n argocd -o jsonpath='{.metadata.annotations.rewind\.dev/paused-for}')
[ "$mark" = gitops-argo/web ] || fail "the Application's pause mark is '$mark'"
echo "gitops-e2e: Argo CD: the Application that lists web has self-heal off and rewind's mark; web is rolled back" >&2
# The Application syncs a newer revision: rewind turns self-heal back on.
application 5e6f7a8
wait_for "self-heal to be turned back on" 60 self_heal true
mark=$("${kubectl[@]}" get application shop -n argocd -o jsonpath='{.metadata.annotations.rewind\.dev/paused-for}')
[ -z "$mark" ] || fail "the Application keeps the mark '$mark' after resuming"
echo "gitops-e2e: Argo CD: once the Application reported a newer revision, its self-heal was turned back on" >&2

#!/usr/bin/env bash
# The chart's admission policy (deploy/helm/rewind/templates/admission.yaml,
# docs/src/operating/admission.md) on a real API server: no one gives a RolloutPolicy more
# than they may do themselves. Tenants are ServiceAccounts with only their
# persona's rights, impersonated (--as) by the test's admin kubeconfig:
#   tenant-a: RolloutPolicies in team-a; update and patch Deployments there;
#   tenant-b: RolloutPolicies in team-a, nothing else;
#   tenant-c: RolloutPolicies in team-a; update and patch the Deployment
#     named web only (RBAC resourceNames);
#   status-writer: patch rolloutpolicies/status only (as the controller);
#   operator: cluster-admin, through RBAC (not system:masters).
# Each check asserts the outcome (allowed or refused) and, for a refusal,
# the words of the message naming the missing permission.
# Needs the chart installed (its CRDs and admission policy), as
# scripts/e2e.sh does before calling it:
#   scripts/admission-e2e.sh <kubeconfig> <kubectl>
set -euo pipefail
cd "$(dirname "$0")/.."
kubeconfig=$1
kubectl=("$2" --kubeconfig="$kubeconfig")
ns=team-a
tenant_a=system:serviceaccount:$ns:tenant-a
tenant_b=system:serviceaccount:$ns:tenant-b
tenant_c=system:serviceaccount:$ns:tenant-c
status_writer=system:serviceaccount:$ns:status-writer
operator=system:serviceaccount:rewind-admission-e2e:operator

if ! "${kubectl[@]}" get validatingadmissionpolicies -o jsonpath='{.items[*].spec.matchConstraints.resourceRules[*].resources}' |
  grep -q rolloutpolicies; then
  echo "admission-e2e: no ValidatingAdmissionPolicy matches rolloutpolicies: install the chart first" >&2
  exit 1
fi

# A previous run's namespaces may still be going away.
"${kubectl[@]}" wait --for=delete namespace/"$ns" namespace/rewind-admission-e2e --timeout=120s >/dev/null 2>&1 || true

# The custom kind of the bundled blue-green policy, unless already there
# (then it is left as found).
created_crd=""
if ! "${kubectl[@]}" get crd metadataservices.e6data.io >/dev/null 2>&1; then
  "${kubectl[@]}" apply -f examples/bluegreen/crd.yaml >/dev/null
  created_crd=1
fi
cleanup() {
  "${kubectl[@]}" delete namespace "$ns" rewind-admission-e2e --wait=false >/dev/null 2>&1 || true
  "${kubectl[@]}" delete clusterrolebinding rewind-admission-e2e-operator >/dev/null 2>&1 || true
  [ -z "$created_crd" ] || "${kubectl[@]}" delete crd metadataservices.e6data.io --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT
"${kubectl[@]}" wait --for=condition=Established crd/metadataservices.e6data.io --timeout=60s >/dev/null

"${kubectl[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $ns}
---
apiVersion: v1
kind: Namespace
metadata: {name: rewind-admission-e2e}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: tenant-a, namespace: $ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: tenant-b, namespace: $ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: tenant-c, namespace: $ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: status-writer, namespace: $ns}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: operator, namespace: rewind-admission-e2e}
---
# Writing RolloutPolicies: every tenant persona has this.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rolloutpolicy-writer, namespace: $ns}
rules:
  - apiGroups: [rewind.dev]
    resources: [rolloutpolicies]
    verbs: [get, list, create, update, patch]
---
# tenant-a may also update and patch Deployments (not their status).
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployment-writer, namespace: $ns}
rules:
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [update, patch]
---
# tenant-c may update and patch one Deployment, web.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: web-writer, namespace: $ns}
rules:
  - apiGroups: [apps]
    resources: [deployments]
    resourceNames: [web]
    verbs: [update, patch]
---
# What the controller does to a RolloutPolicy: its status.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rolloutpolicy-status, namespace: $ns}
rules:
  - apiGroups: [rewind.dev]
    resources: [rolloutpolicies/status]
    verbs: [get, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rolloutpolicy-writer, namespace: $ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rolloutpolicy-writer}
subjects:
  - {kind: ServiceAccount, name: tenant-a, namespace: $ns}
  - {kind: ServiceAccount, name: tenant-b, namespace: $ns}
  - {kind: ServiceAccount, name: tenant-c, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployment-writer, namespace: $ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployment-writer}
subjects:
  - {kind: ServiceAccount, name: tenant-a, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-writer, namespace: $ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: web-writer}
subjects:
  - {kind: ServiceAccount, name: tenant-c, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rolloutpolicy-status, namespace: $ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rolloutpolicy-status}
subjects:
  - {kind: ServiceAccount, name: status-writer, namespace: $ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: rewind-admission-e2e-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: ServiceAccount, name: operator, namespace: rewind-admission-e2e}
YAML

# The personas have exactly the rights the checks assume (else a refusal
# below could have another cause).
can() { # expected(yes|no) who verb resource [--subresource=...]
  local expected=$1 who=$2; shift 2
  local got
  got=$("${kubectl[@]}" auth can-i "$@" -n "$ns" --as="$who" 2>/dev/null || true)
  [ "$got" = "$expected" ] || { echo "admission-e2e: set-up: can-i $* as $who is '$got', not '$expected'" >&2; exit 1; }
}
can yes "$tenant_a" create rolloutpolicies.rewind.dev
can yes "$tenant_a" update deployments.apps
can yes "$tenant_a" patch deployments.apps
can no "$tenant_a" patch deployments.apps --subresource=status
can no "$tenant_a" delete pods
can no "$tenant_a" update statefulsets.apps
can no "$tenant_a" get secrets
can no "$tenant_a" patch metadataservices.e6data.io
can yes "$tenant_b" create rolloutpolicies.rewind.dev
can no "$tenant_b" update deployments.apps
can yes "$tenant_c" update deployments.apps/web
can no "$tenant_c" update deployments.apps
can yes "$status_writer" patch rolloutpolicies.rewind.dev --subresource=status
can no "$status_writer" delete pods
can yes "$operator" delete pods

passed=0
failed=0
# expect allowed|refused, who (an identity, or "admin" for the kubeconfig's
# own user), what, the words a refusal must contain, then the kubectl
# arguments (a manifest, if any, on stdin: a here-string, not a pipe, so the
# counts stay in this shell).
expect() {
  local outcome=$1 who=$2 what=$3 words=$4; shift 4
  local as=() output status=0 problem=""
  [ "$who" = admin ] || as=(--as="$who")
  output=$("${kubectl[@]}" "${as[@]}" "$@" 2>&1) || status=$?
  if [ "$outcome" = allowed ] && [ $status -ne 0 ]; then
    problem="was refused: $output"
  elif [ "$outcome" = refused ] && [ $status -eq 0 ]; then
    problem="was allowed: $output"
  elif [ "$outcome" = refused ] && ! grep -qF -- "$words" <<<"$output"; then
    problem="was refused without saying '$words': $output"
  elif [ "$outcome" = refused ] && ! grep -qF "ValidatingAdmissionPolicy" <<<"$output"; then
    problem="was refused, not by the admission policy: $output"
  fi
  if [ -z "$problem" ]; then
    passed=$((passed + 1))
    echo "admission-e2e: ok: ${who##*:} $what: $outcome" >&2
  else
    failed=$((failed + 1))
    echo "admission-e2e: FAILED: ${who##*:} $what $problem" >&2
  fi
}
# A RolloutPolicy named $1 in team-a, its spec's fields ($2, YAML flow).
policy() {
  printf 'apiVersion: rewind.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: %s, namespace: %s}\nspec: {%s}\n' "$1" "$ns" "$2"
}
creates() { # outcome who what words name spec
  expect "$1" "$2" "$3" "$4" create -f - <<<"$(policy "$5" "$6")"
}
module='policy: {module: /policies/deployment.wasm}'
web="$module, target: {apiVersion: apps/v1, kind: Deployment, name: web}"
# What tenant-a may not give, each with the words of its refusal. The
# operator creates the same.
declare -A spec words
spec[delete-pods]="$web, grants: ['patch:Deployment:/spec/template/spec/containers', 'delete:Pod']"
words[delete-pods]="spec.grants[1] delete:Pod needs \`delete pods\` in namespace $ns, which the requesting user does not have"
spec[statefulsets]="$module, target: {apiVersion: apps/v1, kind: StatefulSet, matchLabels: {tier: data}}"
words[statefulsets]="spec.target StatefulSet needs \`update statefulsets.apps\` in namespace $ns"
spec[pull-secret]="target: {apiVersion: apps/v1, kind: Deployment, name: web}, policy: {module: 'oci://registry.example/policy:1', pullSecret: {name: regcred}}"
words[pull-secret]="spec.policy.pullSecret regcred needs \`get secrets\` on Secret regcred in namespace $ns"
spec[token]="$web, metrics: {prometheus: {address: 'http://prometheus.monitoring:9090', bearerTokenSecret: {name: prometheus-token, key: token}}, queries: []}"
words[token]="spec.metrics.prometheus.bearerTokenSecret prometheus-token needs \`get secrets\` on Secret prometheus-token in namespace $ns"
spec[custom]="$web, grants: ['patch:MetadataServices.e6data.io:/spec/storage/imageTag']"
words[custom]="spec.grants[0] patch:MetadataServices.e6data.io:/spec/storage/imageTag needs \`patch metadataservices.e6data.io\` in namespace $ns"
spec[status]="$web, grants: ['patch:Deployment:/status/conditions']"
words[status]="spec.grants[0] patch:Deployment:/status/conditions needs \`patch deployments.apps/status\` in namespace $ns"
spec[application]="$module, application: {name: shop}"
words[application]="spec.application shop covers Deployments, StatefulSets and DaemonSets: it needs \`update\` and \`patch\` on deployments.apps, statefulsets.apps and daemonsets.apps in namespace $ns"
refusable=(delete-pods statefulsets pull-secret token custom status application)

# tenant-a: it may update and patch Deployments, so it may have them rolled
# back and patched, and nothing more.
creates allowed "$tenant_a" "targets Deployments, no grants" "" a-plain "$web"
creates allowed "$tenant_a" "grants patch:Deployment:/spec/template/spec/containers" "" \
  a-containers "$web, grants: ['patch:Deployment:/spec/template/spec/containers']"
for name in "${refusable[@]}"; do
  creates refused "$tenant_a" "gives what it lacks ($name)" "${words[$name]}" "a-$name" "${spec[$name]}"
done
creates refused "$tenant_a" "grants a kind admission.kinds does not list" \
  "spec.grants[0] patch:Widget.example.com:/spec/size: Widget.example.com is not a kind this admission policy knows" \
  a-unknown "$web, grants: ['patch:Widget.example.com:/spec/size']"
creates refused "$tenant_a" "targets rewind's own RolloutDecisions" "is one of rewind's own kinds" \
  a-decisions "$module, target: {apiVersion: rewind.dev/v1alpha1, kind: RolloutDecision}"
# Updates are checked as creates are.
expect refused "$tenant_a" "adds delete:Pod to its own policy (update)" \
  "spec.grants[0] delete:Pod needs \`delete pods\` in namespace $ns" \
  patch rolloutpolicy a-plain -n "$ns" --type=merge -p '{"spec": {"grants": ["delete:Pod"]}}'
expect allowed "$tenant_a" "switches its own policy to DryRun (update)" "" \
  patch rolloutpolicy a-containers -n "$ns" --type=merge -p '{"spec": {"mode": "DryRun"}}'

# tenant-b may only write RolloutPolicies: even a plain rollback of a
# Deployment is more than it has.
creates refused "$tenant_b" "targets Deployments, no grants" \
  "spec.target Deployment web needs \`update deployments.apps\` on web in namespace $ns, which the requesting user does not have" \
  b-plain "$web"

# tenant-c may roll back the Deployment web, and no other.
creates allowed "$tenant_c" "targets the Deployment web" "" c-web "$web"
creates refused "$tenant_c" "targets every Deployment labelled app=shop" \
  "spec.target Deployment needs \`update deployments.apps\` in namespace $ns, which the requesting user does not have" \
  c-shop "$module, target: {apiVersion: apps/v1, kind: Deployment, matchLabels: {app: shop}}"

# The operator (cluster-admin through RBAC) has every right it gives.
for name in "${refusable[@]}"; do
  creates allowed "$operator" "gives what tenant-a may not ($name)" "" "op-$name" "${spec[$name]}"
done
bluegreen_grants=$(sed -n 's/^  - \(.*\)/\1/p' examples/rolloutpolicies/metadataservices.yaml | paste -sd, -)
creates allowed "$operator" "gives examples/rolloutpolicies/metadataservices.yaml's grants" "" op-bluegreen \
  "policy: {module: /policies/bluegreen.wasm}, target: {apiVersion: e6data.io/v1alpha1, kind: MetadataServices}, grants: [$bluegreen_grants]"
# A kind the map does not list cannot be checked, whoever asks.
creates refused "$operator" "grants a kind admission.kinds does not list" "to the rewind chart value admission.kinds" \
  op-unknown "$web, grants: ['patch:Widget.example.com:/spec/size']"
# The test's own user (system:masters) too.
creates allowed admin "grants delete:Pod" "" admin-delete-pods "$web, grants: ['delete:Pod']"

# Only a changed spec is checked again: tenant-a may label the operator's
# policy, but not swap its module (the new module would act with the
# delete:Pod the operator gave and tenant-a does not have).
expect allowed "$tenant_a" "labels the operator's delete:Pod policy (spec unchanged)" "" \
  label rolloutpolicy op-delete-pods -n "$ns" team=a
expect refused "$tenant_a" "swaps the module of the operator's delete:Pod policy" "${words[delete-pods]}" \
  patch rolloutpolicy op-delete-pods -n "$ns" --type=merge -p '{"spec": {"policy": {"module": "/policies/custom/mine.wasm"}}}'
# Status writes (the controller's) are not checked: status-writer has none
# of the rights the policy gives.
expect allowed "$status_writer" "patches the status of the operator's delete:Pod policy" "" \
  patch rolloutpolicy op-delete-pods -n "$ns" --subresource=status --type=merge \
  -p '{"status": {"conditions": [{"type": "PolicyReady", "status": "False", "reason": "Test", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}'

echo "admission-e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]

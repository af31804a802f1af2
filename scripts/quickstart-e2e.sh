#!/usr/bin/env bash
# The README's cluster quick start, run as it is written: the block after
# the line naming this script, with target/debug's rewind and the test
# cluster's kubectl and Helm first on PATH. Then checks what the README
# promises: a decision on web, a RolloutPolicy without `mode` that only
# plans (DryRun) a rollback of a failing rollout, and the Deployment left
# as it was. Restarts the test cluster (the quick start starts its own).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/target/debug:$(scripts/k8s-build.sh):$(dirname "$(scripts/helm-build.sh)"):$PATH"
block=$(awk '/scripts\/quickstart-e2e.sh runs the next block/ {found=1; next}
             found && /^```sh$/ {inside=1; next}
             inside && /^```$/ {exit}
             inside {print}' README.md)
[ -n "$block" ] || { echo "quickstart-e2e: no quick start block found in README.md" >&2; exit 1; }
fail() { echo "quickstart-e2e: $*; the controller's log:" >&2; tail -20 target/controller.log >&2; exit 1; }
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
echo "quickstart-e2e: running the README's block:" >&2
echo "$block" >&2
set -x
eval "$block"
set +x
jobs -p | grep -q . || fail "the controller the quick start started is not running"
wait_for() {
  local what=$1; shift
  for _ in $(seq 240); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  fail "timed out waiting for $what"
}
# The CRD describes its fields to kubectl. The API server publishes a new
# CRD's schema a moment after the CRD is established, and kubectl wraps long
# descriptions, so wait for it and join the lines.
explains_mode() { kubectl explain rolloutpolicy.spec.mode | tr -s ' \n' ' ' | grep -q "changes nothing"; }
wait_for "kubectl explain rolloutpolicy.spec.mode to describe the mode" explains_mode
state() { [ "$(kubectl get rdec deployment-web -n shop -o jsonpath='{.spec.state}')" = "$1" ]; }
wait_for "web to be decided healthy" state healthy
# The same policy without `mode`, and the grace period over: it plans the
# rollback of a failing rollout and changes nothing.
sed -e "s|/policies/|$PWD/target/wasm32-wasip2/guest/|" -e '/^  mode:/d' -e 's/graceSeconds: 120/graceSeconds: 0/' \
  examples/rolloutpolicies/web.yaml | kubectl apply -n shop -f - >/dev/null
[ "$(kubectl get rolloutpolicy web -n shop -o jsonpath='{.spec.mode}')" = DryRun ] || fail "a RolloutPolicy without mode is not DryRun"
kubectl set image -n shop deployment/web web=shop/web:unpullable >/dev/null
wait_for "the planned rollback of web" state failed
[ "$(kubectl get rdec deployment-web -n shop -o jsonpath='{.spec.dryRun}')" = true ] || fail "the decision was not a dry run"
sleep 2
[ "$(kubectl get deployment web -n shop -o jsonpath='{.spec.template.spec.containers[0].image}')" = shop/web:unpullable ] ||
  fail "DryRun changed the Deployment"
echo "quickstart-e2e: the README's quick start decided on web; without a mode the policy only planned the rollback" >&2

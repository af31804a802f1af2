#!/usr/bin/env bash
# The README's install, as a user follows it, on the test cluster that
# scripts/e2e.sh started (after `kubectl apply -f deploy/`): the controller
# image's own binary, run from its unpacked root file system as user 65532,
# with a token of the ServiceAccount deploy/ installs, must decide on a
# Deployment covered by examples/rolloutpolicies/web.yaml and, once the
# policy is switched to Enforce, roll it back.
#   scripts/install-e2e.sh <kubeconfig> <kubectl>
set -euo pipefail
cd "$(dirname "$0")/.."
kubeconfig=$1
kubectl=("$2" --kubeconfig="$kubeconfig")
if [ "$(id -u)" = 0 ]; then as_root=""; else as_root="sudo"; fi
scripts/build-image.sh >/dev/null
rootfs=$(pwd)/target/image/bundle/rootfs
state=$rootfs/e2e
log=$(pwd)/target/image/install-e2e.log
$as_root rm -rf "$state"
$as_root mkdir -p "$state"
token=$("${kubectl[@]}" create token rewind -n rewind-system --duration=1h)
sed "s/token: admin-token/token: $token/" "$kubeconfig" | $as_root tee "$state/kubeconfig" >/dev/null
$as_root chown -R 65532:65532 "$state"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$as_root env POD_NAMESPACE=rewind-system chroot --userspec=65532:65532 "$rootfs" \
  /usr/local/bin/rewind controller --kubeconfig /e2e/kubeconfig --json-logs \
  --metrics-address "127.0.0.1:$port" --cache-dir /e2e/cache > "$log" 2>&1 &
controller=$!
# The token is removed with the controller.
trap '$as_root kill $controller 2>/dev/null || true; $as_root rm -rf "$state"; "${kubectl[@]}" delete namespace shop --wait=false >/dev/null 2>&1 || true' EXIT

fail() { echo "install-e2e: $*; the controller's log:" >&2; tail -20 "$log" >&2; exit 1; }
wait_for() {
  local what=$1; shift
  for _ in $(seq 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    $as_root kill -0 $controller 2>/dev/null || fail "the controller exited while waiting for $what"
    sleep 0.5
  done
  fail "timed out waiting for $what"
}
wait_for "the controller to be ready" curl -sf "http://127.0.0.1:$port/readyz"

# A Deployment web whose new revision cannot pull its image (kwok keeps a
# container of a tag `unpullable` in ImagePullBackOff).
"${kubectl[@]}" create namespace shop >/dev/null
"${kubectl[@]}" create deployment web -n shop --image=shop/web:1 >/dev/null
"${kubectl[@]}" rollout status -n shop deployment/web --timeout=60s >/dev/null
"${kubectl[@]}" set image -n shop deployment/web web=shop/web:unpullable >/dev/null
# The README's commands.
"${kubectl[@]}" apply -n shop -f examples/rolloutpolicies/web.yaml >/dev/null
decided() {
  [ "$("${kubectl[@]}" get rdec deployment-web -n shop -o jsonpath='{.spec.state}')" = "$1" ]
}
wait_for "a decision on Deployment web" decided progressing
# Past the grace period, DryRun plans the rollback without making it.
"${kubectl[@]}" patch rolloutpolicy web -n shop --type merge -p '{"spec":{"settings":{"graceSeconds":0}}}' >/dev/null
wait_for "the DryRun decision that web failed" decided failed
[ "$("${kubectl[@]}" get deployment web -n shop -o jsonpath='{.spec.template.spec.containers[0].image}')" = shop/web:unpullable ] ||
  fail "DryRun changed the Deployment"
"${kubectl[@]}" patch rolloutpolicy web -n shop --type merge -p '{"spec":{"mode":"Enforce"}}' >/dev/null
rolled_back() {
  [ "$("${kubectl[@]}" get deployment web -n shop -o jsonpath='{.spec.template.spec.containers[0].image}')" = shop/web:1 ]
}
wait_for "the rollback of web to shop/web:1" rolled_back
"${kubectl[@]}" get rdec -n shop >&2
echo "install-e2e: the image's binary, as deploy/'s ServiceAccount, decided on web (DryRun), then rolled it back (Enforce)" >&2

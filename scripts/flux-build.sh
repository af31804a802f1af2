#!/usr/bin/env bash
# Builds the real Flux source-controller $SOURCE_VERSION and
# kustomize-controller $KUSTOMIZE_VERSION from the Go module proxy and prints
# the directory holding the two binaries. Their CRDs (the modules'
# config/crd/bases) are copied beside it, into ../crds.
#
# Pinned to the newest releases the proxy served on 2026-12-01 whose go.mod
# the machine's Go (1.26) accepts: 1.10.x of both say `go 1.27.0`. Built
# once (first run only: about 7 minutes on 2 cores, downloads included)
# and cached outside the repository, in $REWIND_FLUX_CACHE (default
# ~/.cache/rewind/flux-source-<v>-kustomize-<v>).
#
# Both controllers' go.mod carry `replace` directives, which a module that
# depends on them does not inherit: each is built in a module of its own
# that copies them (a `=> ./api` replacement, the controller's own API
# module from its repository, becomes that API module at the same release).
#
# The module proxy here refuses a few module versions the controllers
# require (403 "This module version is not available"); each is replaced by
# the nearest older patch release it serves:
# - github.com/fluxcd/pkg/artifact v0.18.3 (source-controller 1.9.5, 1.9.6;
#   1.9.4 wants v0.18.2, refused too) becomes v0.18.1. In fluxcd/pkg,
#   v0.18.1 to v0.18.2 changed only artifact/go.mod, and v0.18.3's go.mod
#   differs from theirs only in raised requirements, which
#   source-controller's own go.mod raises to the same versions anyway.
set -euo pipefail
SOURCE_VERSION=${REWIND_FLUX_SOURCE_VERSION:-1.9.6}
KUSTOMIZE_VERSION=${REWIND_FLUX_KUSTOMIZE_VERSION:-1.9.6}
cache=${REWIND_FLUX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rewind/flux-source-$SOURCE_VERSION-kustomize-$KUSTOMIZE_VERSION}
bin=$cache/bin
stamp="source-controller $SOURCE_VERSION, kustomize-controller $KUSTOMIZE_VERSION"
done_if_built() {
  if [ -f "$bin/VERSIONS" ] && [ "$(cat "$bin/VERSIONS")" = "$stamp" ]; then
    echo "$bin"
    exit 0
  fi
}
done_if_built
command -v go >/dev/null || { echo "flux-build: needs Go 1.26 or newer (go not found)" >&2; exit 1; }
mkdir -p "$cache"
# Two builds at once would remove each other's work: the second waits.
exec 9>"$cache/.lock"
flock 9
done_if_built
export GOFLAGS=-mod=mod CGO_ENABLED=0
work=$cache/build
rm -rf "$work" "$bin" "$cache/crds"
mkdir -p "$work" "$bin" "$cache/crds"
start=$(date +%s)

declare -A SUBSTITUTES=(
  [source-controller]="github.com/fluxcd/pkg/artifact@v0.18.3=github.com/fluxcd/pkg/artifact@v0.18.1"
)
build() { # name, version
  local name=$1 version=v$2 module=github.com/fluxcd/$1 info dir gomod
  echo "flux-build: $name $version" >&2
  info=$(go mod download -json "$module@$version")
  dir=$(sed -n 's/.*"Dir": "\(.*\)",*/\1/p' <<<"$info")
  gomod=$(sed -n 's/.*"GoMod": "\(.*\)",*/\1/p' <<<"$info")
  [ -n "$dir" ] && [ -n "$gomod" ] || { echo "flux-build: go mod download $module@$version: $info" >&2; exit 1; }
  mkdir -p "$work/$name"
  cd "$work/$name"
  go mod init "rewind.dev/flux/$name" >/dev/null 2>&1
  # Every replace directive of the controller's go.mod, single-line or in
  # a block, as "old => new" lines.
  local replacements
  replacements=$(go mod edit -json "$gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"], r["New"]
    lhs = old["Path"] + ("@" + old["Version"] if old.get("Version") else "")
    if new["Path"].startswith("./") or new["Path"].startswith("../"):
        print(lhs, "LOCAL", new["Path"])
    else:
        print(lhs, new["Path"] + ("@" + new["Version"] if new.get("Version") else ""))
')
  while read -r old new path; do
    [ -n "$old" ] || continue
    if [ "$new" = LOCAL ]; then
      # ./api is the repository's API module, released under the same tag.
      [ "$path" = ./api ] && [ "${old%@*}" = "$module/api" ] || {
        echo "flux-build: $name: cannot follow the local replacement $old => $path" >&2; exit 1; }
      go mod edit -replace "$old=$module/api@$version"
    else
      go mod edit -replace "$old=$new"
    fi
  done <<<"$replacements"
  local substitute
  for substitute in ${SUBSTITUTES[$name]:-}; do go mod edit -replace "$substitute"; done
  go get "$module@$version" >&2
  go build -trimpath -ldflags "-s -w" -o "$bin/$name.partial" "$module" >&2
  mv "$bin/$name.partial" "$bin/$name"
  cp "$dir"/config/crd/bases/*.yaml "$cache/crds/"
  chmod u+w "$cache"/crds/*.yaml
}
build source-controller "$SOURCE_VERSION"
build kustomize-controller "$KUSTOMIZE_VERSION"

echo "$stamp" > "$bin/VERSIONS"
rm -rf "$work"
echo "flux-build: built in $(( $(date +%s) - start )) s" >&2
echo "$bin"

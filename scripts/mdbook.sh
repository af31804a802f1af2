#!/usr/bin/env bash
# Builds mdBook $MDBOOK_VERSION from crates.io and prints the path of the
# binary. Built once (a few minutes on 2 cores; without the `serve` and
# `watch` features, which only matter for editing) and cached outside the
# repository, in $REWIND_MDBOOK_CACHE (default ~/.cache/rewind/mdbook-<version>).
set -euo pipefail
MDBOOK_VERSION=${REWIND_MDBOOK_VERSION:-0.5.4}
cache=${REWIND_MDBOOK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rewind/mdbook-$MDBOOK_VERSION}
mdbook=$cache/bin/mdbook
if [ -x "$mdbook" ]; then echo "$mdbook"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$mdbook" ]; then echo "$mdbook"; exit 0; fi
start=$(date +%s)
cargo install --quiet --locked --root "$cache" --no-default-features --features search \
  --target-dir "$cache/build" mdbook --version "$MDBOOK_VERSION" >&2
rm -rf "$cache/build"
echo "mdbook: built in $(( $(date +%s) - start )) s" >&2
echo "$mdbook"

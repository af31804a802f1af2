#!/usr/bin/env bash
# The book and the pages around it: builds docs/ with mdBook into
# target/book, checks links, includes and repository paths in the README and
# the book and runs their console examples (scripts/docs-check.py; needs
# target/debug/rewind and the bundled policies built), and packages the
# crates policy authors depend on, as crates.io would take them.
set -euo pipefail
cd "$(dirname "$0")/.."
mdbook=$(scripts/mdbook.sh)
# mdBook's warnings (an unclosed HTML tag, a missing include) fail the check.
if ! output=$("$mdbook" build docs 2>&1) || grep -q WARN <<<"$output"; then
  echo "$output" >&2
  echo "docs: mdbook build docs failed or warned" >&2
  exit 1
fi
scripts/docs-check.py --book target/book
# cargo verifies the SDK against the snapshot crate through a local registry,
# and takes a registry crate of a given version to be immutable: what an
# earlier run unpacked and compiled under the same version would stand in
# for the crate as it is now. Both go first.
rm -rf target/package target/package-verify
cargo_home=${CARGO_HOME:-$HOME/.cargo}
find "$cargo_home/registry/src" -mindepth 2 -maxdepth 2 -path "$cargo_home/registry/src/-*" \
  \( -name 'rewind-snapshot-*' -o -name 'rewind-sdk-*' \) -exec rm -rf {} + 2>/dev/null || true
CARGO_TARGET_DIR=target/package-verify cargo package --quiet --allow-dirty -p rewind-snapshot -p rewind-sdk
echo "docs: the book built, its links and examples checked, rewind-snapshot and rewind-sdk packaged" >&2

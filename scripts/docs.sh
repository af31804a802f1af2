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
cargo package --quiet --allow-dirty -p rewind-snapshot -p rewind-sdk
echo "docs: the book built, its links and examples checked, rewind-snapshot and rewind-sdk packaged" >&2

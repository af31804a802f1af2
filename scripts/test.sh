#!/usr/bin/env bash
# Every check and test, as CI runs them (.ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-toolchain.sh
# Metric analysis tests run Debian's Prometheus and promtool on loopback.
command -v promtool >/dev/null && command -v prometheus >/dev/null || scripts/apt-install.sh prometheus
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-wasip2 -p rewind-sdk -p deployment -p bluegreen -p bookkeeper -p hostile -p socket -p floor -p contract-0-3 -p contract-0-4 -p metrics-reader -p rollback-on-crash -- -D warnings
# Integration tests build the policies they run (tests/common), and the
# binary they call, which runs the example suites below.
cargo test --workspace
target/debug/rewind test examples/
# The Python port of the example policy passes the Rust policy's own suite.
# (componentize-py components carry the interpreter: about 18 MiB.)
target/debug/rewind test --max-module-mib 32 --policy "$(scripts/build-python-policy.sh)" examples/policies/rollback-on-crash/
# The book: mdBook, links and paths, the README's and the pages' console
# examples run, and the SDK crates packaged (needs the binary and policies
# built above).
scripts/docs.sh
# The controller against a real API server (built once, cached in ~/.cache/rewind).
scripts/e2e.sh
# Policy distribution against a real registry and an https server on loopback.
scripts/distribution-e2e.sh

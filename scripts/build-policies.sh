#!/usr/bin/env bash
# Builds the bundled policies into components:
#   target/wasm32-wasip2/guest/<policy>.wasm
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-toolchain.sh
cargo build --profile guest --target wasm32-wasip2 -p deployment -p bluegreen -p bookkeeper -p rollback-on-crash

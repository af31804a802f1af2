#!/usr/bin/env bash
# Installs what building rewind needs beyond a stock Rust toolchain: the
# wasm32-wasip2 target that policies are compiled for.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "installing the wasm32-wasip2 Rust target" >&2
  rustup target add wasm32-wasip2
fi

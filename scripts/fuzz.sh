#!/usr/bin/env bash
# Fuzzes every target: by default a short run of FUZZ_SECONDS (60) each;
# with FUZZ_RUNS=<n>, until n executions each (the 10-million runs recorded
# in the README). FUZZ_FORK=<workers> spreads a target over processes.
# Needs the nightly toolchain; installs cargo-fuzz if missing. Corpora are
# seeded from the examples and kept in target/fuzz-corpus/. Prints, per
# target, the executions reached; FUZZ_MAX_LEN bounds input size (default
# 65536). A crash stops the script and leaves the
# input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus=target/fuzz-corpus
mkdir -p "$corpus"/{dump_snapshot,suite_file,validate_actions,merge_patch}
cp examples/*/*.yaml tests/fixtures/*/*.yaml "$corpus/dump_snapshot/" 2>/dev/null || true
cp examples/*/*suite.yaml examples/policies/*/*suite.yaml "$corpus/suite_file/"
printf '{"spec":{"replicas":3}}\0web-1\0rewind.dev/rollback-to' > "$corpus/validate_actions/seed"
printf '{"a":{"b":1},"c":[1,2]}\0{"a":{"b":null,"d":2},"c":{"e":1}}' > "$corpus/merge_patch/seed"
if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="$seconds"); fi
if [ -n "${FUZZ_FORK:-}" ]; then limit+=(-fork="$FUZZ_FORK"); fi
cd fuzz
for target in ${FUZZ_TARGETS:-dump_snapshot suite_file validate_actions merge_patch}; do
  log=$(mktemp)
  start=$(date +%s)
  cargo +nightly fuzz run --sanitizer none -O "$target" "../$corpus/$target" -- \
    "${limit[@]}" -max_len="${FUZZ_MAX_LEN:-65536}" -print_final_stats=1 2>"$log" || { tail -40 "$log"; exit 1; }
  runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  echo "$target: $runs executions in $(( $(date +%s) - start )) s, no crash"
  rm -f "$log"
done

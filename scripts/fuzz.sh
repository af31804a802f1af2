#!/usr/bin/env bash
# Short fuzzing runs of every target (default 60 s each; FUZZ_SECONDS to
# change). Needs the nightly toolchain; installs cargo-fuzz if missing.
# Corpora are seeded from the examples and kept in target/fuzz-corpus/.
# Prints, per target, the executions reached; a crash stops the script
# and leaves the input in fuzz/artifacts/<target>/.
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
cd fuzz
for target in dump_snapshot suite_file validate_actions merge_patch; do
  log=$(mktemp)
  cargo +nightly fuzz run --sanitizer none "$target" "../$corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 2>"$log" || { tail -40 "$log"; exit 1; }
  runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "$target: $runs executions in ${seconds}s, no crash"
  rm -f "$log"
done

#!/usr/bin/env bash
# Runs each cargo-fuzz target for SECONDS (default 20) from its seed corpus; fails on the first crash.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]. Needs cargo-fuzz (`cargo install cargo-fuzz`).
# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them. No sanitizer (`-s none`):
# every crate fuzzed forbids `unsafe`, so AddressSanitizer would find nothing the Rust checks don't, at twice the
# cost; debug assertions and overflow checks stay on.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(page_decode schema_parse whatsapp_export)
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none
for target in "${targets[@]}"; do
  seeds="seeds/$target"
  # The export parser's seeds are the import tests' real exports.
  [ "$target" = whatsapp_export ] && seeds="../server-example/tests/fixtures/whatsapp"
  # The growing corpus lives under fuzz/corpus (ignored by git); the committed seeds stay as they are.
  mkdir -p "corpus/$target"
  cargo fuzz run -s none "$target" "corpus/$target" "$seeds" -- -max_total_time="$seconds" -print_final_stats=1 \
    2>&1 | tee "corpus/$target.log" | grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)|SUMMARY|panicked'
  echo "$target: corpus $(find "corpus/$target" -type f | wc -l) inputs"
done

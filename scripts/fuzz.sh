#!/usr/bin/env bash
# Runs each cargo-fuzz target for SECONDS (default 20) from its seed corpus; fails on the first crash.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]. Uses cargo-fuzz when installed (`cargo install cargo-fuzz`).
# cargo fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them. No sanitizer (`-s none`):
# every crate fuzzed forbids `unsafe`, so AddressSanitizer would find nothing the Rust checks don't, at twice the
# cost; debug assertions and overflow checks stay on.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(page_decode push_decode schema_parse whatsapp_export)
export RUSTC_BOOTSTRAP=1
triple="$(rustc -vV | sed -n 's/^host: //p')"
# cargo fuzz when installed; otherwise the same build by hand (the flags `cargo fuzz build -s none` passes, but the
# profile's parallel code generation instead of one unit per crate: the short runs here lose little speed to it and
# the build takes minutes less), which spares CI the minutes of `cargo install cargo-fuzz` (NO_CARGO_FUZZ=1 forces it).
if [ -z "${NO_CARGO_FUZZ:-}" ] && cargo fuzz --version >/dev/null 2>&1; then
  cargo fuzz build -s none
else
  RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
-Cllvm-args=-sanitizer-coverage-stack-depth -Cdebug-assertions" \
    cargo build --release --target "$triple" --config 'profile.release.debug="line-tables-only"' --bins
fi
for target in "${targets[@]}"; do
  seeds="seeds/$target"
  # The export parser's seeds are the import tests' real exports.
  [ "$target" = whatsapp_export ] && seeds="../server-example/tests/fixtures/whatsapp"
  # The growing corpus lives under fuzz/corpus (ignored by git); the committed seeds stay as they are.
  # libFuzzer refuses to start when the artifacts folder is missing (it is ignored by git, so a fresh clone has none).
  mkdir -p "corpus/$target" artifacts
  "target/$triple/release/$target" "corpus/$target" "$seeds" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="artifacts/$target-" 2>&1 | tee "corpus/$target.log" \
    | grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)|SUMMARY|panicked'
  echo "$target: corpus $(find "corpus/$target" -type f | wc -l) inputs"
done

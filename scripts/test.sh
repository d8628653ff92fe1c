#!/usr/bin/env bash
# Runs every test of the project. Needs: the Rust toolchain (cargo-nextest if present), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast
else
  cargo test --workspace --all-targets --no-fail-fast
fi
# nextest does not run doc tests.
cargo test --workspace --doc

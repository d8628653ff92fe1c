#!/usr/bin/env bash
# Runs every test of the project. Needs: the Rust toolchain (cargo-nextest if present), python3, Node >= 18 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() { echo "== test.sh [${SECONDS}s] $*"; }

phase "rust tests"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast
else
  cargo test --workspace --all-targets --no-fail-fast
fi
phase "doc tests"
# nextest does not run doc tests.
cargo test --workspace --doc

phase "node addon and javascript tests"
# The Node addon and the JavaScript examples (the Electron screen in chromium: skipped without /usr/bin/chromium,
# failed under CI=true), against the real server-example binary (release: the large sync test
# syncs 100,000 messages). The npm packages are one workspace at the root.
cargo build --release -p server-example
if [ "${CI:-}" = true ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
npm run build -w bindings-node
# One file at a time: each starts its own server, and the machines have few cores.
node --test --test-concurrency=1 bindings-node/__test__/ examples/seed-client-node/test/ examples/electron-app/test/

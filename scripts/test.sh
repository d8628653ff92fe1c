#!/usr/bin/env bash
# Runs every test of the project. Needs: the Rust toolchain (cargo-nextest if present), python3 with pip and venv, Node
# >= 18 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() { echo "== test.sh [${SECONDS}s] $*"; }

phase "test dependencies"
# What the tests read besides the workspace: the chitchat-dataset corpus (the import test syncs its dataset.json).
# The test is reported as ignored without it, and fails under CI=true.
python3 -m pip install --quiet chitchat-dataset 2>/dev/null ||
  python3 -m pip install --quiet --break-system-packages chitchat-dataset

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
# failed under CI=true), against the real server-example binary. Every test after the cargo tests runs on their
# debug build (SEQSYNC_PROFILE=debug; the dependencies that dominate run time are optimised there, see Cargo.toml):
# a release build would compile the whole dependency tree a second time, the longest step of a CI run.
# The npm packages are one workspace at the root.
if [ "${CI:-}" = true ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
export SEQSYNC_PROFILE=debug
bash scripts/build-binaries.sh debug
# bindings-node/__test__ includes the packed package installed in a temporary project (package.test.mjs) and the
# Drizzle schema read by another process during a sync (drizzle.test.mjs).
# One file at a time: each starts its own server, and the machines have few cores.
node --test --test-concurrency=1 bindings-node/__test__/ examples/seed-client-node/test/ examples/electron-app/test/
phase "crash trials of the node addon"
# Crash trials of the Node addon (the sync-cli and server trials run with the cargo tests above): a `node` client
# killed with SIGKILL mid-sync, checked at a page boundary after each kill and exact at the end.
# (The binary the workspace's test build made: `cargo run -p sync-testing` alone would resolve other features.)
target/debug/crash-trials --client node --client-kills 5 --server-kills 0 --messages 3000

phase "uniffi bindings"
# The uniffi binding: generate Kotlin, Swift and Python from the debug cdylib the workspace's tests built (the run
# fails if any generation fails), then the shared scenarios (bindings-tests/scenarios.json) through the generated
# Python package against the same server-example binary, and that package packed into a wheel (scripts/pack-wheel.py,
# no compilation) installed with pip into a fresh virtualenv outside the repository (test_wheel.py).
bash scripts/gen-bindings.sh --no-build
python3 -m pip install --quiet -r bindings-uniffi/tests/python/requirements.txt 2>/dev/null ||
  python3 -m pip install --quiet --break-system-packages -r bindings-uniffi/tests/python/requirements.txt
python3 -m pytest -q bindings-uniffi/tests/python
# The same scenarios in Kotlin on the JVM, compiled from the generated source (installs its toolchain, cached).
bash scripts/test-kotlin.sh

phase "benchmark smoke test"
# The end-to-end benchmark as a smoke test (benches/e2e.sh; BENCHMARKS.md): 5,000 messages through sync-cli, the
# addon and the seed-style client from both server stores, the SQLite limit and the incremental syncs. It fails
# unless every client's row counts equal the server's; times are printed, not checked. PouchDB is left out here:
# its own npm install compiles sqlite3 from source, minutes on these machines.
node benches/js/e2e.mjs --size ci --no-pouch

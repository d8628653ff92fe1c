#!/usr/bin/env bash
# Builds every binary the JavaScript, Python and Kotlin tests, the benchmark and schemathesis run (server-example,
# sync-cli, sync-benches' sqlite-limit and live_latency) and the Node addon, then puts the addon where its package
# loads it. Usage: scripts/build-binaries.sh [release|debug] (default release).
# One cargo invocation each time: it resolves one feature set for the shared dependencies, where `napi build` (the
# addon alone) would resolve another and compile most of them a second time, minutes on these machines.
# - release: the benchmark's build (benches/e2e.sh).
# - debug: the build scripts/test.sh runs its tests on. It is the invocation of the workspace's test build (the
#   whole workspace, all targets), so it reuses that build instead of compiling the workspace a second time.
# `npm run build -w bindings-node` stays the way to rebuild the addon alone and to regenerate its index.js / index.d.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"
case "$profile" in
  release) cargo build --release -p server-example -p sync-cli -p sync-benches -p seqsync-node --bins --lib ;;
  debug) cargo build --workspace --all-targets ;;
  *) echo "usage: scripts/build-binaries.sh [release|debug]" >&2; exit 2 ;;
esac
target="${CARGO_TARGET_DIR:-target}/$profile"
case "$(uname -s)" in
  Linux) cp "$target/libseqsync_node.so" "bindings-node/seqsync.linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')-gnu.node" ;;
  Darwin) cp "$target/libseqsync_node.dylib" "bindings-node/seqsync.darwin-$(uname -m | sed 's/x86_64/x64/')".node ;;
  *) npm run build -w bindings-node ;;
esac

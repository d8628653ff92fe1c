#!/usr/bin/env bash
# Builds, in ONE cargo invocation, every release binary the tests, the benchmark and schemathesis run (server-example,
# sync-cli, sync-benches' sqlite-limit and live_latency) and the Node addon, then puts the addon where its package
# loads it. One invocation resolves one feature set for the shared dependencies; `napi build` (which builds the addon
# alone) would resolve another and compile most of them a second time, minutes on these machines. `npm run build -w
# bindings-node` stays the way to rebuild the addon alone and to regenerate its index.js / index.d.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p server-example -p sync-cli -p sync-benches -p seqsync-node --bins --lib
case "$(uname -s)" in
  Linux) cp target/release/libseqsync_node.so "bindings-node/seqsync.linux-$(uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')-gnu.node" ;;
  Darwin) cp target/release/libseqsync_node.dylib "bindings-node/seqsync.darwin-$(uname -m | sed 's/x86_64/x64/')".node ;;
  *) npm run build -w bindings-node ;;
esac

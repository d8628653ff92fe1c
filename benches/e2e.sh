#!/usr/bin/env bash
# The end-to-end benchmark, in one command: builds what it runs (release), then runs benches/js/e2e.mjs.
#   bash benches/e2e.sh --size full       # 1,000,000 messages (BENCHMARKS.md)
#   bash benches/e2e.sh --size quick      # 100,000 messages, a few minutes
#   bash benches/e2e.sh --size ci         # the smoke test .ci/run runs: counts must be exact
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres; it creates its own database) unless --stores sqlite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
# Every release binary it runs and the Node addon, in one cargo invocation (see the script).
bash scripts/build-binaries.sh release
case " $* " in
  *" --no-pouch "*) ;;
  *) [ -d benches/js/node_modules ] || npm ci --prefix benches/js --no-audit --no-fund ;;
esac
exec node benches/js/e2e.mjs "$@"

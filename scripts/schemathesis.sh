#!/usr/bin/env bash
# schemathesis (pinned below) against the OpenAPI document a running `server-example serve` publishes: every
# check (no 5xx, status codes, content types and bodies as documented, bad input refused, auth enforced).
# Usage: scripts/schemathesis.sh [MAX_EXAMPLES [schemathesis run options…]] (default 30 per operation; CI uses
# the default). E.g. `scripts/schemathesis.sh 500 --report har` keeps every request and answer.
set -euo pipefail
cd "$(dirname "$0")/.."
max_examples="${1:-30}"
shift || true
version=4.32.5

venv=target/schemathesis-venv
# CPython before 3.12 breaks hypothesis's descriptions of schemathesis's filters ("SystemError: AST constructor
# recursion depth mismatch", a run error on some operations): the venv takes the newest python3.1x there is, pyenv's
# installed versions included, and python3 when none is newer.
# (PYENV_VERSION lists them all for these two commands only: pyenv's shims run one version otherwise.)
pythons="$(command -v pyenv >/dev/null && pyenv versions --bare | paste -sd: -)" || pythons=
newest_python() {
  for py in python3.14 python3.13 python3.12; do
    PYENV_VERSION="${pythons:-${PYENV_VERSION:-}}" "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' \
      2>/dev/null && { echo "$py"; return; }
  done
  echo python3
}
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  rm -rf "$venv"
  PYENV_VERSION="${pythons:-${PYENV_VERSION:-}}" "$(newest_python)" -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

bash scripts/build-binaries.sh "${SEQSYNC_PROFILE:-release}"
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin="${CARGO_TARGET_DIR:-target}/${SEQSYNC_PROFILE:-release}/server-example"
"$bin" seed --db "$work/server.db" --integration wa-1 --conversations 30 --messages 600 --contacts 40 >/dev/null
"$bin" seed --db "$work/server.db" --integration wa-2 --conversations 5 --messages 50 --contacts 5 --seed 7 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A small maximum page size, so that the checked pages also say `has_more`.
"$bin" serve --db "$work/server.db" --listen "127.0.0.1:$port" --token st-token=wa-1 --max-limit 50 \
  >"$work/server.log" 2>&1 &
server_pid=$!

"$venv/bin/schemathesis" --config-file scripts/schemathesis/schemathesis.toml run \
  "http://127.0.0.1:$port/openapi.json" --wait-for-schema 30 \
  --header "Authorization: Bearer st-token" \
  --checks all --max-examples "$max_examples" --seed 1 --workers 2 --no-color "$@"

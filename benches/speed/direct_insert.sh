#!/usr/bin/env bash
# The client-side limit: the rows of a server-example SQLite store inserted straight into a new SQLite file with
# the client replica's schema, one transaction, no network, no decoding (the sqlite3 shell, all in C).
# Usage: direct_insert.sh SERVER_DB CLIENT_SCHEMA_DB OUT_DB (maintained|deferred)
#   CLIENT_SCHEMA_DB: any replica synced by sync-cli (its tables and indexes are copied, not its rows).
# Prints wall and CPU seconds. Same pragmas as the client's write connection (WAL, synchronous NORMAL, 32 MiB).
set -euo pipefail
server=$1 schema_db=$2 out=$3 mode=$4
rm -f "$out" "$out-wal" "$out-shm"
tables=(conversations messages contacts message_media conversation_participants)
ddl_tables=$(sqlite3 "$schema_db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'table' AND name IN ('conversations','messages','contacts','message_media','conversation_participants')")
ddl_indexes=$(sqlite3 "$schema_db" "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'")
inserts=""
for t in "${tables[@]}"; do
  cols=$(sqlite3 "$schema_db" "SELECT group_concat('\"' || name || '\"', ', ') FROM pragma_table_info('$t')")
  inserts+="INSERT INTO main.\"$t\" ($cols) SELECT $cols FROM server.\"$t\" WHERE deleted = 0 ORDER BY seq;"$'\n'
done
if [ "$mode" = maintained ]; then before=$ddl_indexes after=""; else before="" after=$ddl_indexes; fi
sqlite3 "$out" "PRAGMA journal_mode = WAL;" >/dev/null
/usr/bin/time -f "direct insert ($mode): %e s wall, %U user %S sys, %M KB maxrss" sqlite3 "$out" >/dev/null <<SQL
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -32768;
PRAGMA wal_autocheckpoint = 16384;
ATTACH '$server' AS server;
$ddl_tables
$before
BEGIN;
$inserts
$after
COMMIT;
SQL
echo "rows: $(sqlite3 "$out" "SELECT $(printf '(SELECT count(*) FROM %s)+' "${tables[@]}")0")"

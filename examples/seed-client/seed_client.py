#!/usr/bin/env python3
"""A client written exactly as the seed document's "Initial Sync" loop describes, with nothing but the standard
library: for conversations (100 per page), messages (1,500) and contacts (500), fetch
GET /sync/<collection>/<integration_id>?since_seq=X&limit=N, upsert the rows into SQLite in one transaction per
page, move since_seq to latest_seq while has_more, then record the cursor in sync_state.

It knows nothing of this project's engine: it is the compatibility test of the server's wire protocol.
Usage: seed_client.py --url URL --token TOKEN --integration ID --db FILE
"""

import argparse
import json
import sqlite3
import urllib.request

PLAN = [("conversations", 100, "last_conv_seq"), ("messages", 1500, "last_message_seq"), ("contacts", 500, "last_contact_seq")]

SCHEMA = """
CREATE TABLE IF NOT EXISTS sync_state (
  integration_id TEXT PRIMARY KEY, last_conv_seq INTEGER DEFAULT 0, last_message_seq INTEGER DEFAULT 0,
  last_contact_seq INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, integration_id TEXT, jid TEXT, name TEXT, is_group INTEGER, archived INTEGER,
  unread_count INTEGER, last_message_at INTEGER, seq INTEGER);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, integration_id TEXT, conversation_id TEXT, sender_jid TEXT, from_me INTEGER, body TEXT,
  message_type TEXT, status TEXT, sent_at INTEGER, metadata TEXT, seq INTEGER);
CREATE TABLE IF NOT EXISTS contacts (
  id TEXT PRIMARY KEY, integration_id TEXT, jid TEXT, phone TEXT, push_name TEXT, full_name TEXT, seq INTEGER);
CREATE INDEX IF NOT EXISTS idx_messages_seq ON messages(seq);
CREATE INDEX IF NOT EXISTS idx_conversations_seq ON conversations(seq);
"""

COLUMNS = {
    "conversations": ["id", "integration_id", "jid", "name", "is_group", "archived", "unread_count", "last_message_at", "seq"],
    "messages": ["id", "integration_id", "conversation_id", "sender_jid", "from_me", "body", "message_type", "status", "sent_at", "metadata", "seq"],
    "contacts": ["id", "integration_id", "jid", "phone", "push_name", "full_name", "seq"],
}


def fetch(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def cell(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def upsert(db, table, rows):
    columns = COLUMNS[table]
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
           f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in columns[1:])}")
    with db:  # one transaction per page, as the seed's sqlite.transaction(...)
        db.executemany(sql, [[cell(row.get(c)) for c in columns] for row in rows])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--integration", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()

    db = sqlite3.connect(args.db)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    db.execute("INSERT OR IGNORE INTO sync_state (integration_id) VALUES (?)", (args.integration,))
    for collection, limit, state_column in PLAN:
        since_seq = db.execute(f"SELECT {state_column} FROM sync_state WHERE integration_id = ?", (args.integration,)).fetchone()[0] or 0
        has_more = True
        while has_more:
            data = fetch(f"{args.url}/sync/{collection}/{args.integration}?since_seq={since_seq}&limit={limit}", args.token)
            upsert(db, collection, data[collection])
            since_seq = data["latest_seq"]
            has_more = data["has_more"]
        with db:
            db.execute(f"UPDATE sync_state SET {state_column} = ? WHERE integration_id = ?", (since_seq, args.integration))
    counts = {c: db.execute(f"SELECT COUNT(*) FROM {c}").fetchone()[0] for c, _, _ in PLAN}
    print(json.dumps(counts))


if __name__ == "__main__":
    main()

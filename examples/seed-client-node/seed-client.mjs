#!/usr/bin/env node
// A client written exactly as the seed document's sync loop, in Node with `fetch` and better-sqlite3, the way the
// seed's Electron app did it: for conversations (100 per page), messages (1,500) and contacts (500), fetch
// GET /sync/<collection>/<integration_id>?since_seq=X&limit=N, upsert the page's rows in one transaction, move
// since_seq to latest_seq while has_more, then record the cursor in sync_state.
//
// It knows nothing of the engine: it is a compatibility test of the server's wire protocol, and the baseline that
// the engine is compared against (its JSON.parse and upserts run on the JavaScript thread).
// Usage: node seed-client.mjs --url URL --token TOKEN --integration ID --db FILE
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

const Database = createRequire(import.meta.url)('better-sqlite3')

const PLAN = [
  ['conversations', 100, 'last_conv_seq'],
  ['messages', 1500, 'last_message_seq'],
  ['contacts', 500, 'last_contact_seq'],
]

const SCHEMA = `
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
`

const COLUMNS = {
  conversations: ['id', 'integration_id', 'jid', 'name', 'is_group', 'archived', 'unread_count', 'last_message_at', 'seq'],
  messages: ['id', 'integration_id', 'conversation_id', 'sender_jid', 'from_me', 'body', 'message_type', 'status', 'sent_at',
    'metadata', 'seq'],
  contacts: ['id', 'integration_id', 'jid', 'phone', 'push_name', 'full_name', 'seq'],
}

function cell(value) {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value !== null && typeof value === 'object') return JSON.stringify(value)
  return value ?? null
}

/** Syncs conversations, messages and contacts of one integration into `dbPath`; returns the row counts. */
export async function seedSync({ url, token, integrationId, dbPath }) {
  const db = new Database(dbPath)
  db.pragma('journal_mode = WAL')
  db.exec(SCHEMA)
  db.prepare('INSERT OR IGNORE INTO sync_state (integration_id) VALUES (?)').run(integrationId)
  try {
    for (const [collection, limit, stateColumn] of PLAN) {
      const columns = COLUMNS[collection]
      const upsert = db.prepare(
        `INSERT INTO ${collection} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ` +
        `ON CONFLICT(id) DO UPDATE SET ${columns.slice(1).map((c) => `${c}=excluded.${c}`).join(', ')}`)
      // One transaction per page, as the seed's sqlite.transaction(...).
      const insertMany = db.transaction((rows) => {
        for (const row of rows) upsert.run(columns.map((c) => cell(row[c])))
      })
      let sinceSeq = db.prepare(`SELECT ${stateColumn} AS s FROM sync_state WHERE integration_id = ?`).get(integrationId).s ?? 0
      let hasMore = true
      while (hasMore) {
        const response = await fetch(`${url}/sync/${collection}/${integrationId}?since_seq=${sinceSeq}&limit=${limit}`, {
          headers: { authorization: `Bearer ${token}` },
        })
        if (!response.ok) throw new Error(`GET /sync/${collection}: HTTP ${response.status}`)
        const data = await response.json()
        insertMany(data[collection])
        sinceSeq = data.latest_seq
        hasMore = data.has_more
      }
      db.prepare(`UPDATE sync_state SET ${stateColumn} = ? WHERE integration_id = ?`).run(sinceSeq, integrationId)
    }
    return Object.fromEntries(PLAN.map(([c]) => [c, db.prepare(`SELECT COUNT(*) AS n FROM ${c}`).get().n]))
  } finally {
    db.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, token: { type: 'string' }, integration: { type: 'string' }, db: { type: 'string' } },
  })
  const counts = await seedSync({ url: values.url, token: values.token, integrationId: values.integration, dbPath: values.db })
  console.log(JSON.stringify(counts))
}

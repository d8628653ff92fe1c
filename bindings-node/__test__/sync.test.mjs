// A full sync from the real server-example over loopback: counts, progress, reads, state, reset, close.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { cleanup, counts, loadPackage, seed, serverStatus, startServer, tempDir } from './support.mjs'

const { SyncEngine } = loadPackage()
const TOKEN = 'secret'
const INTEGRATION = 'wa-node'
let dir, server, expected

before(async () => {
  dir = tempDir()
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 40, messages: 6000, contacts: 60 })
  server = await startServer(db, { [TOKEN]: INTEGRATION })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

function open(name, extra = {}) {
  return SyncEngine.open({ dbPath: path.join(dir, name), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION, ...extra })
}

test('a full sync ends with the server counts, and progress only moves forward to the totals', async () => {
  const engine = await open('full.db', { pageSizes: { conversations: 100, messages: 1500, contacts: 500 } })
  const events = []
  const report = await engine.syncAll({ onProgress: (p) => events.push(p) })
  // Events are delivered on the event loop: let the queue drain.
  await new Promise((resolve) => setImmediate(resolve))

  const stats = await engine.stats()
  assert.deepEqual(stats.counts, expected)
  assert.equal(report.rows, Object.values(expected).reduce((a, b) => a + b, 0))
  assert.equal(stats.path, path.join(dir, 'full.db'))
  assert.ok(stats.fileSizeBytes > 0)

  assert.equal(events[0].stage, 'started')
  assert.equal(events.at(-1).stage, 'finished')
  assert.equal(events.at(-1).applied, report.rows)
  const last = new Map()
  for (const e of events.filter((e) => e.collection)) {
    const previous = last.get(e.collection)
    if (previous) {
      assert.notEqual(previous.stage, 'collection_done', `no event of ${e.collection} after it is done`)
      assert.ok(e.applied >= previous.applied && e.pages >= previous.pages && e.cursor >= previous.cursor, 'forward only')
    }
    last.set(e.collection, e)
  }
  assert.deepEqual([...last.keys()].sort(), Object.keys(expected).sort())
  for (const [collection, e] of last) {
    assert.equal(e.stage, 'collection_done')
    assert.equal(e.applied, expected[collection], `${collection} ends at its total`)
    assert.equal(e.total, expected[collection])
    assert.equal(e.cursor, e.targetSeq)
  }
  const messages = events.filter((e) => e.collection === 'messages')
  assert.ok(messages.length >= 2, 'the messages bar moves at least once before it is done')

  const state = await engine.syncState()
  const status = await serverStatus(server.url, TOKEN, INTEGRATION)
  for (const c of state) assert.equal(c.lastSeq, status.collections[c.collection].latest_seq)

  // A second sync has nothing to do.
  const again = await engine.syncAll()
  assert.equal(again.rows, 0)
  await engine.close()
})

test('reads for a UI: paged conversations, messages of one conversation, read-only queries', async () => {
  const engine = await open('reads.db')
  await engine.syncAll()

  const page1 = await engine.listRows('conversations', { orderBy: 'last_message_at', descending: true, limit: 10 })
  const page2 = await engine.listRows('conversations', { orderBy: 'last_message_at', descending: true, limit: 10, offset: 10 })
  assert.equal(page1.length, 10)
  assert.equal(page2.length, 10)
  const times = [...page1, ...page2].map((c) => c.last_message_at ?? 0)
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first')
  assert.equal(new Set([...page1, ...page2].map((c) => c.id)).size, 20, 'pages do not overlap')
  assert.equal(typeof page1[0].is_group, 'boolean')

  const conversation = page1[0].id
  const messages = await engine.listRows('messages', { where: { conversation_id: conversation }, orderBy: 'sent_at', limit: 1000 })
  const { rows: [[count]] } = await engine.query(
    'SELECT COUNT(*) FROM messages WHERE integration_id = ? AND conversation_id = ?', [INTEGRATION, conversation])
  assert.equal(messages.length, count)
  assert.ok(messages.every((m) => m.conversation_id === conversation))

  const grouped = await engine.query(
    'SELECT message_type, COUNT(*) AS n FROM messages WHERE integration_id = ?1 GROUP BY message_type ORDER BY n DESC', [INTEGRATION])
  assert.deepEqual(grouped.columns, ['message_type', 'n'])
  assert.equal(grouped.rows.reduce((sum, [, n]) => sum + n, 0), expected.messages)

  await assert.rejects(engine.query('DELETE FROM messages'), { code: 'invalid_query' })
  await assert.rejects(engine.listRows('messages', { orderBy: 'nope' }), (e) => e.code === 'invalid_query' && /nope/.test(e.message))
  await assert.rejects(engine.listRows('nothing'), { code: 'schema' })
  assert.equal((await engine.stats()).counts.messages, expected.messages, 'nothing was deleted')
  await engine.close()
})

test('reset empties the integration and the next sync brings everything back; close is final', async () => {
  const engine = await open('reset.db')
  await engine.syncCollection('contacts')
  assert.deepEqual((await engine.syncState()).map((c) => c.collection), ['contacts'])
  assert.equal((await engine.stats()).counts.contacts, expected.contacts)
  await engine.reset()
  assert.deepEqual(await engine.syncState(), [])
  assert.equal((await engine.stats()).counts.contacts, 0)
  await engine.syncAll()
  assert.deepEqual((await engine.stats()).counts, expected)

  await engine.close()
  assert.equal(engine.closed, true)
  await assert.rejects(engine.stats(), { code: 'closed' })
  await assert.rejects(engine.syncAll(), { code: 'closed' })
  await engine.close()
})

// engine.search(): full-text search of the replica after a sync from the real server-example, compared with the
// server's own data (its messages read over HTTP and matched in JavaScript), with highlights escaped for HTML.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { cleanup, loadPackage, seed, serverBinary, startServer, tempDir } from './support.mjs'

const { SyncEngine } = loadPackage()
const TOKEN = 'secret'
const INTEGRATION = 'wa-search'
// A chat with diacritics, a prefix to complete and markup that must stay text.
const EXPORT = [
  '1/5/24, 9:41 PM - Ana: Le café est prêt <script>alert(1)</script>',
  '1/5/24, 9:42 PM - Ben: cafeteria tomorrow?',
  '1/5/24, 9:43 PM - Ana: The quokka smiles & waves',
].join('\n')
let dir, server, engine, messages

/** Every message of the integration as the server has it, over its sync endpoint. */
async function serverMessages(url) {
  const response = await fetch(`${url}/sync/messages/${INTEGRATION}?since_seq=0&limit=10000`,
    { headers: { authorization: `Bearer ${TOKEN}` } })
  assert.equal(response.status, 200)
  const page = await response.json()
  assert.equal(page.has_more, false)
  return page.messages.filter((m) => !m.deleted)
}

/** The words of a text as the index sees them: diacritics removed, lower-cased, split on all but letters and digits. */
function words(text) {
  return (text ?? '').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)
}

/** The ids of the server's messages holding every word of `query` (the last one as a prefix, if asked). */
function expected(query, { prefix = false, conversation } = {}) {
  const wanted = words(query)
  return messages
    .filter((m) => conversation === undefined || m.conversation_id === conversation)
    .filter((m) => {
      const have = words(m.body)
      return wanted.every((w, i) => have.some((h) => (prefix && i === wanted.length - 1 ? h.startsWith(w) : h === w)))
    })
    .map((m) => m.id)
    .sort()
}

async function found(query, options = {}) {
  const hits = await engine.search(query, { limit: 10_000, ...options })
  return hits.map((h) => h.id).sort()
}

before(async () => {
  dir = tempDir()
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 4, messages: 300, contacts: 4 })
  writeFileSync(path.join(dir, 'WhatsApp Chat with Ana.txt'), EXPORT)
  const imported = spawnSync(serverBinary, ['import', '--db', db, '--integration', INTEGRATION, '--me', 'Ben',
    path.join(dir, 'WhatsApp Chat with Ana.txt')], { encoding: 'utf8' })
  assert.equal(imported.status, 0, imported.stderr)
  server = await startServer(db, { [TOKEN]: INTEGRATION })
  engine = await SyncEngine.open({ dbPath: path.join(dir, 'client.db'), serverUrl: server.url, token: TOKEN,
    integrationId: INTEGRATION })
  await engine.syncAll()
  messages = await serverMessages(server.url)
})

after(async () => {
  await engine?.close()
  await server?.stop()
  cleanup(dir)
})

test('search finds exactly the server messages holding the words, newest or best first, in one conversation if asked', async () => {
  const seeded = messages.find((m) => words(m.body).length >= 3)
  const [one, two] = words(seeded.body)
  for (const query of [one, `${one} ${two}`, one.toUpperCase()]) {
    assert.deepEqual(await found(query), expected(query), query)
  }
  const conversation = seeded.conversation_id
  assert.deepEqual(await found(one, { where: { conversation_id: conversation } }), expected(one, { conversation }))
  const hits = await engine.search(one, { limit: 5, order: 'relevance' })
  assert.ok(hits.length > 0 && hits.length <= 5)
  assert.ok(hits.every((h, i) => h.collection === 'messages' && (i === 0 || hits[i - 1].rank <= h.rank)))
  assert.ok(hits.every((h) => h.snippet.includes('<mark>')), 'each snippet marks its match')
  // The default order: newest first, which in a replica synced in order is the server's seq order.
  const matching = new Set(expected(one))
  const newest = messages.filter((m) => matching.has(m.id)).sort((a, b) => b.seq - a.seq).slice(0, 5).map((m) => m.id)
  const recent = await engine.search(one, { limit: 5 })
  assert.deepEqual(recent.map((h) => h.id), newest)
  assert.ok(recent.every((h) => h.rank === undefined), 'recent order computes no rank')
})

test('diacritics fold, prefixes complete, and snippets escape the text around the marks', async () => {
  const cafe = await engine.search('CAFE')
  assert.deepEqual(cafe.map((h) => h.id).sort(), expected('cafe'))
  assert.equal(cafe.length, 1)
  assert.equal(cafe[0].snippet, 'Le <mark>café</mark> est prêt &lt;script&gt;alert(1)&lt;/script&gt;')
  assert.deepEqual(await found('caf', { mode: 'prefix' }), expected('caf', { prefix: true }))
  assert.equal((await found('caf', { mode: 'prefix' })).length, 2, 'café and cafeteria')
  const custom = await engine.search('quokka', { highlightOpen: '[', highlightClose: ']', escapeHtml: false })
  assert.equal(custom[0].snippet, 'The [quokka] smiles & waves')
})

test('any typed text is a plain query; a bad advanced query or mode rejects with invalid_query', async () => {
  for (const text of ['"', 'cafe AND (', '-*', '🎉', 'NEAR(', "l'café\"s"]) {
    assert.ok(Array.isArray(await engine.search(text)), text)
  }
  assert.deepEqual(await found('cafe AND (', { mode: 'plain' }), expected('cafe AND ('), '"AND" and "(" are plain text')
  await assert.rejects(engine.search('cafe AND (', { mode: 'advanced' }), (e) => e.code === 'invalid_query' && /FTS5/.test(e.message))
  await assert.rejects(engine.search('cafe', { mode: 'fuzzy' }), (e) => e.code === 'invalid_query' && /advanced/.test(e.message))
  await assert.rejects(engine.search('cafe', { collections: ['messages'], where: { nope: 1 } }), (e) => e.code === 'invalid_query')
  await assert.rejects(engine.search('cafe', { collections: ['nope'] }), (e) => e.code === 'schema')
})

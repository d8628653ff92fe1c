// Each error code on a real failure, and cancellation through AbortSignal leaving a resumable database.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { cleanup, counts, loadPackage, seed, serverStatus, startServer, tempDir } from './support.mjs'

const { SyncEngine } = loadPackage()
const TOKEN = 'secret'
const ADMIN = 'admin'
const INTEGRATION = 'wa-err'
let dir, server, expected

before(async () => {
  dir = tempDir()
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 30, messages: 6000, contacts: 40 })
  seed(db, 'wa-other', { conversations: 2, messages: 10, contacts: 2 })
  server = await startServer(db, { [TOKEN]: INTEGRATION, [ADMIN]: '*' })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

function open(name, extra = {}) {
  return SyncEngine.open({
    dbPath: path.join(dir, name), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION, maxRetries: 0, ...extra,
  })
}

test('a server that is down: network', async () => {
  const down = await startServer(path.join(dir, 'down.db'), { x: 'y' })
  await down.stop()
  const engine = await open('down-client.db', { serverUrl: down.url })
  await assert.rejects(engine.syncAll(), (e) => {
    assert.ok(e instanceof Error)
    assert.equal(e.code, 'network')
    assert.match(e.message, /could not reach the server/)
    return true
  })
  await engine.close()
})

test('a wrong token: unauthorized', async () => {
  const engine = await open('token.db', { token: 'wrong' })
  await assert.rejects(engine.syncAll(), (e) => e.code === 'unauthorized' && /401/.test(e.message))
  await engine.close()
})

test('an integration the server does not have, or the token may not read: not_found, forbidden', async () => {
  const unknown = await open('unknown.db', { token: ADMIN, integrationId: 'wa-nope' })
  await assert.rejects(unknown.syncAll(), (e) => e.code === 'not_found' && /404/.test(e.message))
  await unknown.close()

  // What the server answers for another tenant's integration decides the code.
  const answer = await fetch(`${server.url}/sync/status/wa-other`, { headers: { authorization: `Bearer ${TOKEN}` } })
  const code = { 403: 'forbidden', 404: 'not_found' }[answer.status]
  assert.ok(code, `the server answers 403 or 404 for another tenant, not ${answer.status}`)
  const other = await open('other.db', { integrationId: 'wa-other' })
  await assert.rejects(other.syncAll(), { code })
  assert.equal((await other.stats()).counts.messages ?? 0, 0, 'no data of another tenant')
  await other.close()
})

test('a bad schema or URL when opening: schema, invalid_argument', async () => {
  await assert.rejects(open('bad.db', { schema: '{"collections": 3}' }), { code: 'schema' })
  await assert.rejects(open('bad.db', { serverUrl: 'not a url' }), { code: 'invalid_argument' })
})

test('AbortSignal cancels a sync between pages; the next sync resumes and ends exact', async () => {
  const engine = await open('cancel.db', { pageSizes: { messages: 50 }, progressIntervalMs: 0 })
  const controller = new AbortController()
  let seen = 0
  await assert.rejects(
    engine.syncAll({
      signal: controller.signal,
      onProgress: (p) => {
        if (p.collection === 'messages' && p.applied > 0 && ++seen === 1) controller.abort()
      },
    }),
    (e) => e.code === 'cancelled' && /resumes/.test(e.message),
  )
  const cursor = (await engine.syncState()).find((c) => c.collection === 'messages')?.lastSeq ?? 0
  const partial = (await engine.stats()).counts.messages
  assert.ok(partial > 0 && partial < expected.messages, `stopped part way (${partial} of ${expected.messages})`)
  assert.ok(cursor > 0)
  // Rows and cursor agree: the sync stopped on a page boundary.
  const { rows: [[behind]] } = await engine.query('SELECT COUNT(*) FROM messages WHERE seq <= ?', [cursor])
  assert.equal(behind, partial)

  const report = await engine.syncAll()
  assert.equal(report.collections.find((c) => c.collection === 'messages').cursorBefore, cursor, 'resumed from the cursor')
  assert.deepEqual((await engine.stats()).counts, expected)

  // An already aborted signal cancels before anything is fetched.
  await assert.rejects(engine.syncAll({ signal: AbortSignal.abort() }), { code: 'cancelled' })
  await engine.close()
})

test('close() cancels a running sync', async () => {
  const engine = await open('close.db', { pageSizes: { messages: 20 } })
  const outcome = engine.syncAll().then(() => 'finished', (e) => e.code)
  await new Promise((resolve) => setTimeout(resolve, 20))
  await engine.close()
  assert.equal(await outcome, 'cancelled')
})

// follow(): the replica follows the real server-example live. Another process writes the server's file (a seed
// run); the change reaches onChange on the event loop, which keeps turning meanwhile; aborting resolves.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { cleanup, counts, loadPackage, seed, serverStatus, startServer, tempDir, until } from './support.mjs'

const { SyncEngine } = loadPackage()
const TOKEN = 'secret'
const INTEGRATION = 'wa-live'
let dir, server

before(async () => {
  dir = tempDir()
  seed(path.join(dir, 'server.db'), INTEGRATION, { conversations: 5, messages: 200, contacts: 5 })
  server = await startServer(path.join(dir, 'server.db'), { [TOKEN]: INTEGRATION })
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

// Every collection with rows has reported a change at the server's latest seq: all of them are synced (waiting for
// one collection alone races the others' pages).
function caughtUp(changes, status) {
  return Object.entries(status.collections).every(([name, c]) =>
    c.latest_seq === 0 || changes.some((e) => e.collection === name && e.cursor >= c.latest_seq))
}

test('a write by another process reaches onChange without polling, and abort resolves follow()', async () => {
  const engine = await SyncEngine.open({ dbPath: path.join(dir, 'live.db'), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION })
  const changes = []
  let ticks = 0
  const ticker = setInterval(() => { ticks += 1 }, 10)
  const controller = new AbortController()
  const following = engine.follow({ signal: controller.signal, onChange: (c) => changes.push(c) })
  try {
    const first = await serverStatus(server.url, TOKEN, INTEGRATION)
    await until(() => caughtUp(changes, first), 'the first sync')
    const initial = await engine.stats()
    assert.deepEqual(initial.counts, counts(first))

    // A second seed run by another process: more messages on the server.
    const before = changes.length
    seed(path.join(dir, 'server.db'), INTEGRATION, { conversations: 5, messages: 260, contacts: 5 })
    ticks = 0 // seed() blocked this thread (spawnSync): count from here, while follow() works
    const status = await serverStatus(server.url, TOKEN, INTEGRATION)
    const expected = counts(status)
    assert.ok(expected.messages > initial.counts.messages, "the second seed added messages")
    await until(() => caughtUp(changes, status), 'the live change')
    const stats = await engine.stats()
    assert.ok(ticks > 0, 'the event loop kept turning while the change was fetched and applied')
    const fresh = changes.slice(before)
    assert.ok(fresh.every((c) => c.integrationId === INTEGRATION && Array.isArray(c.upserted) && typeof c.cursor === 'number'))
    assert.ok(fresh.some((c) => c.collection === 'messages' && c.upserted.length > 0), JSON.stringify(fresh.map((c) => c.collection)))
    assert.deepEqual(stats.counts, expected, 'the replica followed the server')

    // A reset the app asks for reaches the listener too: an event without a collection (re-read everything).
    const beforeReset = changes.length
    await engine.reset()
    await until(() => changes.slice(beforeReset).some((c) => c.collection == null), 'the reset event')
  } finally {
    controller.abort()
    clearInterval(ticker)
  }
  assert.equal(await following, undefined, 'aborting resolves follow()')
  await engine.close()
})

// The seed-style client against the real server-example, unchanged: its counts equal the server's. Then the same data
// through the engine, to compare time and how long each blocks the event loop.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { cleanup, counts, loadPackage, seed, serverStatus, startServer, tempDir } from '../../../bindings-node/__test__/support.mjs'
import { seedSync } from '../seed-client.mjs'

const TOKEN = 'secret'
const INTEGRATION = 'wa-seed'
const MESSAGES = Number(process.env.SEQSYNC_SEED_MESSAGES ?? 30_000)
let dir, server, expected

before(async () => {
  dir = tempDir()
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 300, messages: MESSAGES, contacts: 300 })
  server = await startServer(db, { [TOKEN]: INTEGRATION })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

/** Runs `work` while a 5 ms interval measures the longest gap between its ticks. */
async function timed(work) {
  let maxGap = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    maxGap = Math.max(maxGap, now - last)
    last = now
  }, 5)
  const started = performance.now()
  const result = await work()
  const elapsed = performance.now() - started
  clearInterval(timer)
  return { result, elapsed, maxGap }
}

test('the seed-style client syncs from our server unchanged, and the engine ends with the same counts', async () => {
  const seedRun = await timed(() => seedSync({ url: server.url, token: TOKEN, integrationId: INTEGRATION, dbPath: path.join(dir, 'seed.db') }))
  assert.deepEqual(seedRun.result, { conversations: expected.conversations, messages: expected.messages, contacts: expected.contacts })

  // Incremental: nothing new, nothing changes.
  const again = await seedSync({ url: server.url, token: TOKEN, integrationId: INTEGRATION, dbPath: path.join(dir, 'seed.db') })
  assert.deepEqual(again, seedRun.result)

  const { SyncEngine } = loadPackage()
  const engine = await SyncEngine.open({
    dbPath: path.join(dir, 'engine.db'), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION,
    pageSizes: { conversations: 100, messages: 1500, contacts: 500 },
  })
  const engineRun = await timed(() => engine.syncAll())
  const stats = await engine.stats()
  await engine.close()
  assert.deepEqual(stats.counts, expected)

  console.log(`# ${MESSAGES} messages: seed-style client ${(seedRun.elapsed / 1000).toFixed(2)} s (3 collections), ` +
    `event loop blocked up to ${seedRun.maxGap.toFixed(1)} ms; engine ${(engineRun.elapsed / 1000).toFixed(2)} s ` +
    `(${Object.keys(expected).length} collections), blocked up to ${engineRun.maxGap.toFixed(1)} ms`)
})

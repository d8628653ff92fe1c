// A large sync (100,000 messages by default; SEQSYNC_LARGE_MESSAGES to change) keeps the event loop free, and another
// process reading the same file with better-sqlite3 during the sync always sees a consistent state.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { cleanup, counts, forkReader, loadPackage, seed, serverStatus, startServer, tempDir } from './support.mjs'

const { SyncEngine } = loadPackage()
const TOKEN = 'secret'
const INTEGRATION = 'wa-large'
const MESSAGES = Number(process.env.SEQSYNC_LARGE_MESSAGES ?? 100_000)
let dir, server, expected

before(async () => {
  dir = tempDir()
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 1000, messages: MESSAGES, contacts: 800 })
  server = await startServer(db, { [TOKEN]: INTEGRATION })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

test(`syncing ${MESSAGES} messages: timers keep firing and better-sqlite3 reads a consistent state throughout`, async () => {
  const dbPath = path.join(dir, 'client.db')
  const engine = await SyncEngine.open({
    dbPath, serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION,
    pageSizes: { conversations: 100, messages: 1500, contacts: 500 },
    // Commits every few pages, so that the reader sees the messages part way (by default a first sync into empty
    // tables commits every 400,000 rows or 2 s: at 100,000 messages, all at once).
    commitRows: 6000,
  })
  // Let the engine create the file and its tables (the schema comes from the server) before another library opens it.
  await engine.syncCollection('conversations')

  // In another process: see consistency-reader.cjs for why not in this one.
  const script = fileURLToPath(new URL('./consistency-reader.cjs', import.meta.url))
  const { child: reader, next: nextMessage } = forkReader(script, {
    dbPath, integration: INTEGRATION, collections: Object.keys(expected), expectedMessages: expected.messages,
  })
  assert.deepEqual(await nextMessage(), { ready: true })

  let maxGap = 0
  let ticks = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    maxGap = Math.max(maxGap, now - last)
    last = now
    ticks++
  }, 10)

  const started = performance.now()
  const events = []
  const report = await engine.syncAll({ onProgress: (p) => events.push(p) })
  const elapsed = performance.now() - started
  clearInterval(timer)
  reader.send('stop')
  const { error, checks, reads, partial, last: seen } = await nextMessage()

  const good = checks ?? reads
  assert.equal(error, undefined, `better-sqlite3 saw an inconsistent state after ${good} good reads: ${error}`)
  assert.deepEqual(seen, expected, 'better-sqlite3 sees the server counts at the end')
  assert.deepEqual((await engine.stats()).counts, expected)
  await engine.close()

  console.log(`# synced ${report.rows} rows (${MESSAGES} messages) in ${(elapsed / 1000).toFixed(2)} s; ` +
    `setInterval(10 ms) fired ${ticks} times, max gap ${maxGap.toFixed(1)} ms; ${checks} consistent reads by better-sqlite3`)
  assert.ok(ticks > elapsed / 10 / 4, `the 10 ms timer fired ${ticks} times in ${elapsed.toFixed(0)} ms`)
  assert.ok(maxGap < 250, `the event loop was blocked for ${maxGap.toFixed(1)} ms`)
  assert.ok(checks >= 5, `${checks} reads during the sync`)
  assert.ok(partial > 0, 'reads saw the messages part way (the sync was observed while it wrote)')
  assert.ok(events.some((e) => e.collection === 'messages' && e.applied > 0 && e.applied < expected.messages))
})

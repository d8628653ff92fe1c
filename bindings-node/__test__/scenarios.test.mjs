// The bindings' shared scenarios (bindings-tests/scenarios.json) through the package, against the real server-example
// over loopback: full sync, progress, reads, reset, cancellation, and each error code on a real failure. The uniffi
// binding runs the same list from Python (bindings-uniffi/tests/python/test_scenarios.py).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { mediaScenarios } from './media-scenarios.mjs'
import { searchScenarios } from './search-scenarios.mjs'
import { cleanup, counts, loadPackage, repoDir, seed, serverStatus, startServer, tempDir } from './support.mjs'

const { SyncEngine } = loadPackage()
const { server: config, scenarios } = JSON.parse(readFileSync(path.join(repoDir, 'bindings-tests', 'scenarios.json'), 'utf8'))
const TOKEN = config.token
const INTEGRATION = config.integration
let dir, server, expected

before(async () => {
  dir = tempDir()
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, config.seed)
  seed(db, config.other_integration, config.other_seed)
  server = await startServer(db, { [TOKEN]: INTEGRATION, [config.admin_token]: '*' })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

/** The scenarios' snake_case option names as the package's camelCase ones. */
function camel(options = {}) {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k.replace(/_(\w)/g, (_, c) => c.toUpperCase()), v]))
}

function open(name, extra = {}) {
  return SyncEngine.open({
    dbPath: path.join(dir, name), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION, maxRetries: 0, ...extra,
  })
}

const implementations = {
  async full_sync() {
    const engine = await open('full.db', { pageSizes: { conversations: 100, messages: 1500, contacts: 500 } })
    const report = await engine.syncAll()
    const stats = await engine.stats()
    assert.deepEqual(stats.counts, expected)
    assert.equal(report.rows, Object.values(expected).reduce((a, b) => a + b, 0))
    assert.equal(stats.path, path.join(dir, 'full.db'))
    assert.ok(stats.fileSizeBytes > 0)
    const status = await serverStatus(server.url, TOKEN, INTEGRATION)
    const state = await engine.syncState()
    assert.deepEqual(Object.fromEntries(state.map((c) => [c.collection, c.lastSeq])),
      Object.fromEntries(Object.entries(status.collections).map(([name, c]) => [name, c.latest_seq])))
    const again = await engine.syncAll()
    assert.equal(again.rows, 0, 'a second sync has nothing to do')
    await engine.close()
  },

  async progress_in_order() {
    const engine = await open('progress.db', { pageSizes: { conversations: 100, messages: 1500, contacts: 500 } })
    const events = []
    const report = await engine.syncAll({ onProgress: (p) => events.push(p) })
    // Events are delivered on the event loop: let the queue drain.
    await new Promise((resolve) => setImmediate(resolve))
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
    assert.ok(events.filter((e) => e.collection === 'messages').length >= 2, 'the messages bar moves before it is done')
    await engine.close()
  },

  async reads() {
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
    await engine.close()
  },

  async reset() {
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
  },

  // AbortSignal cancels a sync between pages; the next sync resumes and ends exact.
  async cancel_resume(scenario) {
    const engine = await open('cancel.db', camel(scenario.setup))
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
  },

  async write_insert(scenario) {
    const { engine, sample } = await synced(scenario)
    const mutation = await engine.mutate(newMessage(`${scenario.id}-m`, sample.conversation_id))
    assert.equal((await first(engine, 'messages', mutation.id)).body, 'written by a scenario', 'shown at once')
    assert.deepEqual((await engine.pendingWrites()).map((w) => [w.mutation.mutationId, w.state, w.mutation.baseSeq]),
      [[mutation.mutationId, 'pending', undefined]])
    const [outcome] = await pushed(engine, mutation, 'applied')
    assert.ok(outcome.seq > 0)
    await engine.close()
    const other = await readBack(scenario)
    assert.equal((await first(other, 'messages', mutation.id)).body, 'written by a scenario')
    await other.close()
  },

  async write_offline(scenario) {
    const db = `${scenario.id}.db`
    const synced_ = await open(db)
    await synced_.syncAll()
    const [sample] = await synced_.listRows('messages', { limit: 1 })
    await synced_.close()
    const down = await startServer(path.join(dir, 'down.db'), { x: 'y' })
    await down.stop()
    const offline = await open(db, { serverUrl: down.url })
    const mutation = await offline.mutate(newMessage(`${scenario.id}-m`, sample.conversation_id))
    assert.ok(await first(offline, 'messages', mutation.id), 'shown at once, offline')
    await assert.rejects(offline.syncAll(), { code: 'network' })
    assert.deepEqual((await offline.pendingWrites()).map((w) => w.state), ['pending'])
    await offline.close()
    const online = await open(db)
    await pushed(online, mutation, 'applied')
    await online.close()
    const other = await readBack(scenario)
    assert.ok(await first(other, 'messages', mutation.id), 'the second client reads it')
    await other.close()
  },

  async write_rejected(scenario) {
    const { engine, messages } = await synced(scenario)
    const mutation = await engine.mutate(newMessage(`${scenario.id}-m`, 'no-such-conversation'))
    assert.equal((await engine.stats()).counts.messages, messages + 1, 'shown at once')
    const [outcome] = await pushed(engine, mutation, 'rejected')
    assert.equal(outcome.code, 'conversation_missing')
    assert.match(outcome.message, /no-such-conversation/)
    assert.equal(await first(engine, 'messages', mutation.id), undefined, 'rolled back')
    assert.equal((await engine.stats()).counts.messages, messages)
    await engine.close()
  },

  async write_update_patch(scenario) {
    const { engine, sample } = await synced(scenario)
    const mutation = await engine.mutate({ collection: 'messages', id: sample.id, op: 'update', fields: { body: 'patched' } })
    assert.equal(mutation.baseSeq, sample.seq)
    assert.deepEqual(await first(engine, 'messages', sample.id), { ...sample, body: 'patched' }, 'that field only, at once')
    await pushed(engine, mutation, 'applied')
    await engine.close()
    const other = await readBack(scenario)
    const read = await first(other, 'messages', sample.id)
    assert.deepEqual([read.body, read.wa_message_id, read.sent_at], ['patched', sample.wa_message_id, sample.sent_at])
    await other.close()
  },

  async write_delete(scenario) {
    const { engine, sample, messages } = await synced(scenario)
    const mutation = await engine.mutate({ collection: 'messages', id: sample.id, op: 'delete' })
    assert.equal(await first(engine, 'messages', sample.id), undefined, 'gone at once')
    assert.equal((await engine.stats()).counts.messages, messages - 1)
    await pushed(engine, mutation, 'applied')
    await engine.close()
    const other = await readBack(scenario)
    assert.equal(await first(other, 'messages', sample.id), undefined)
    await other.close()
  },

  async close_cancels(scenario) {
    const engine = await open('close.db', camel(scenario.setup))
    const outcome = engine.syncAll().then(() => 'finished', (e) => e.code)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await engine.close()
    assert.equal(await outcome, 'cancelled')
  },

  ...mediaScenarios({ open, dir: () => dir }),
}

/** A client synced with the server, and a message of its replica. */
async function synced(scenario) {
  const engine = await open(`${scenario.id}.db`)
  await engine.syncAll()
  const [sample] = await engine.listRows('messages', { orderBy: 'seq', descending: true, limit: 1 })
  // The server has what earlier write scenarios pushed: counts are taken from here, not from `expected`.
  return { engine, sample, messages: (await engine.stats()).counts.messages }
}

/** A new message of `conversation`, every required field given. */
function newMessage(id, conversation) {
  return {
    collection: 'messages', id, op: 'insert',
    fields: { conversation_id: conversation, wa_message_id: `wa-${id}`, from_me: true, body: 'written by a scenario',
      message_type: 'text', status: 'pending', sent_at: 1_700_000_000_000 },
  }
}

async function first(engine, collection, id) {
  return (await engine.listRows(collection, { where: { id } }))[0]
}

/** syncAll pushes `mutation` with outcome `status` and leaves nothing pending. */
async function pushed(engine, mutation, status) {
  const outcomes = []
  await engine.syncAll({ onWrite: (o) => outcomes.push(o) })
  assert.deepEqual(outcomes.map((o) => [o.mutationId, o.id, o.status]), [[mutation.mutationId, mutation.id, status]])
  assert.deepEqual(await engine.pendingWrites(), [])
  return outcomes
}

/** A second client, synced: it reads what the first pushed. */
async function readBack(scenario) {
  const other = await open(`${scenario.id}-other.db`)
  await other.syncAll()
  return other
}

/** Any `kind: error` scenario: open with its setup, do `at`, expect `code` and `message`. */
async function error(scenario) {
  const { server: where, token, integration, schema, server_url: serverUrl, synced, closed } = scenario.setup ?? {}
  const options = {}
  if (where === 'down') {
    const down = await startServer(path.join(dir, 'down.db'), { x: 'y' })
    await down.stop()
    options.serverUrl = down.url
  }
  if (token) options.token = token === 'admin' ? config.admin_token : token
  if (integration) options.integrationId = integration
  if (schema) options.schema = schema
  if (serverUrl) options.serverUrl = serverUrl

  const act = async () => {
    const engine = await open(`${scenario.id}.db`, options)
    if (synced) await engine.syncAll()
    if (closed) await engine.close()
    try {
      if (scenario.at === 'sync') await engine.syncAll()
      else if (scenario.at === 'query') await engine.query(scenario.sql)
      else if (scenario.at === 'list_rows') await engine.listRows(scenario.collection, { orderBy: scenario.order_by })
      else if (scenario.at === 'mutate') await engine.mutate(scenario.write)
      else if (scenario.at !== 'open') throw new Error(`unknown \`at\`: ${scenario.at}`)
    } finally {
      if (!closed) {
        const stats = await engine.stats()
        const pending = await engine.pendingWrites()
        await engine.close()
        if (scenario.at === 'mutate') assert.deepEqual(pending, [], 'nothing was written')
        if (scenario.id === 'error_write_read_only') assert.equal(stats.counts.contacts, expected.contacts)
        if (scenario.id === 'error_forbidden') assert.equal(stats.counts.messages ?? 0, 0, 'no data of another tenant')
        if (scenario.id === 'error_write_query') assert.equal(stats.counts.messages, expected.messages, 'nothing was deleted')
      }
    }
  }
  await assert.rejects(act(), (e) => {
    assert.ok(e instanceof Error)
    assert.equal(e.code, scenario.code, e.message)
    assert.match(e.message, new RegExp(scenario.message))
    return true
  })
}

// Selective sync and recent first (issue 17).
Object.assign(implementations, {
  async subscribe_archive() {
    const engine = await open('subscribe.db')
    await engine.syncAll()
    const full = (await engine.stats()).counts
    const { rows } = await engine.query(
      'SELECT conversation_id, COUNT(*) FROM messages GROUP BY conversation_id ORDER BY conversation_id LIMIT 2')
    const [[a, countA], [b, countB]] = rows
    let subscription = await engine.subscribe([a, b])
    assert.equal(subscription.everything, false)
    assert.deepEqual(subscription.values.map((v) => [v.value, v.archived]), [[a, false], [b, false]])
    assert.equal((await engine.syncAll()).rows, 0, 'the kept conversations are current')
    const held = (await engine.stats()).counts
    assert.deepEqual([held.conversations, held.messages, held.contacts], [2, countA + countB, full.contacts])
    subscription = await engine.archive([a])
    assert.deepEqual(subscription.values.map((v) => v.archived), [true, false])
    assert.equal((await engine.syncAll()).rows, 0)
    await engine.unsubscribe([b])
    assert.equal((await engine.stats()).counts.messages, countA, 'evicted at once; the archived one stays')
    await assert.rejects(engine.archive([b]), (e) => e.code === 'invalid_argument')
    assert.equal((await engine.subscribeEverything()).everything, true)
    assert.equal((await engine.stats()).counts.messages, 0)
    await engine.syncAll()
    assert.deepEqual((await engine.stats()).counts, counts(await serverStatus(server.url, TOKEN, INTEGRATION)))
    await engine.close()
  },

  async recent_first() {
    const lister = await open('recent-list.db')
    await lister.syncCollection('conversations')
    const { rows } = await lister.query('SELECT id FROM conversations ORDER BY id DESC LIMIT 1')
    await lister.close()
    const prioritized = rows[0][0]
    const engine = await open('recent.db')
    engine.prioritize(prioritized)
    const events = []
    await engine.syncRecentFirst({ perValue: 5, onEvent: (e) => events.push(e) })
    await new Promise((resolve) => setImmediate(resolve))
    const status = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
    assert.deepEqual([events[0].kind, events[0].values], ['chat_list_ready', status.conversations])
    const heads = events.filter((e) => e.kind === 'head_landed').map((e) => e.value)
    assert.equal(new Set(heads).size, heads.length, 'each conversation once')
    assert.equal(heads.length, status.conversations)
    assert.deepEqual(events.filter((e) => e.kind === 'history_landed').map((e) => e.value), [prioritized])
    assert.deepEqual((await engine.stats()).counts, status)
    assert.equal((await engine.syncAll()).rows, 0)
    await engine.close()
  },
})
Object.assign(implementations, searchScenarios({ open, newMessage, pushed }))

const implementation = (scenario) => (scenario.kind === 'error' ? error : implementations[scenario.id])

test('every scenario of bindings-tests/scenarios.json has a Node implementation', () => {
  assert.deepEqual(scenarios.filter((s) => !implementation(s)).map((s) => s.id), [], 'scenarios without an implementation')
  const ids = new Set(scenarios.map((s) => s.id))
  assert.deepEqual(Object.keys(implementations).filter((id) => !ids.has(id)), [], 'implementations of no scenario')
})

for (const scenario of scenarios) {
  test(scenario.id, async () => {
    const run = implementation(scenario)
    assert.ok(run, `scenario ${scenario.id} has no Node implementation`)
    await run(scenario)
  })
}

// Local writes through the package against the real server-example over loopback: writes made while the server is
// down show at once and wait in the outbox, are pushed when it is back (another client then reads them), a write the
// server's hook refuses is rolled back and reported, follow() pushes a write by itself, and a write the schema
// refuses rejects with `invalid_write` and changes nothing.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { cleanup, loadPackage, seed, startServer, tempDir, until } from './support.mjs'

const { SyncEngine } = loadPackage()
const TOKEN = 'secret'
const INTEGRATION = 'wa-writes'
let dir, db, server

before(async () => {
  dir = tempDir()
  db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 4, messages: 60, contacts: 3 })
  server = await startServer(db, { [TOKEN]: INTEGRATION })
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

function open(name) {
  return SyncEngine.open({ dbPath: path.join(dir, name), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION, maxRetries: 0 })
}

/** A new message of `conversation`, every required field given. */
function message(id, conversation, body) {
  return {
    collection: 'messages', id, op: 'insert',
    fields: { conversation_id: conversation, wa_message_id: `wa-${id}`, from_me: true, body, message_type: 'text', status: 'pending', sent_at: Date.now() },
  }
}

async function row(engine, collection, id) {
  const [found] = await engine.listRows(collection, { where: { id } })
  return found
}

test('writes made offline show at once, are pushed when the server is back, and reach another client', async () => {
  const engine = await open('offline.db')
  await engine.syncAll()
  const [edited, removed] = await engine.listRows('messages', { limit: 2 })
  const conversation = edited.conversation_id
  const restart = async () => { server = await startServer(db, { [TOKEN]: INTEGRATION }, { listen: new URL(server.url).host }) }
  await server.stop()
  try {
    await offline(engine, edited, removed, conversation, restart)
  } finally {
    // The next tests need the server, whatever happened here.
    if (server.stopped) await restart()
  }
  await engine.close()
})

async function offline(engine, edited, removed, conversation, restart) {

  const written = [
    await engine.mutate(message('m-offline', conversation, 'sent while offline')),
    await engine.mutate({ collection: 'messages', id: edited.id, op: 'update', fields: { body: 'edited offline' } }),
    await engine.mutate({ collection: 'messages', id: removed.id, op: 'delete' }),
  ]
  assert.deepEqual(written.map((m) => m.op), ['insert', 'update', 'delete'])
  assert.ok(written[0].mutationId < written[1].mutationId && written[1].mutationId < written[2].mutationId, 'ids only grow')
  assert.equal(written[0].baseSeq, undefined, 'a new row has no server version')
  assert.equal(written[1].baseSeq, edited.seq)
  assert.deepEqual(written[1].fields, { body: 'edited offline' }, 'an update is a patch of the given fields')
  // Optimistic: the replica shows the writes before any server saw them.
  assert.equal((await row(engine, 'messages', 'm-offline')).body, 'sent while offline')
  const patched = await row(engine, 'messages', edited.id)
  assert.equal(patched.body, 'edited offline')
  assert.equal(patched.wa_message_id, edited.wa_message_id, 'the other fields are kept')
  assert.equal(await row(engine, 'messages', removed.id), undefined)
  const pending = await engine.pendingWrites()
  assert.deepEqual(pending.map((w) => [w.mutation.mutationId, w.state]), written.map((m) => [m.mutationId, 'pending']))

  // Still offline: the sync fails, the writes stay queued.
  await assert.rejects(engine.syncAll(), { code: 'network' })
  assert.equal((await engine.pendingWrites()).length, 3)

  await restart()
  const outcomes = []
  await engine.syncAll({ onWrite: (o) => outcomes.push(o) })
  assert.deepEqual(outcomes.map((o) => [o.mutationId, o.status]), written.map((m) => [m.mutationId, 'applied']))
  assert.ok(outcomes.every((o) => o.integrationId === INTEGRATION && o.seq > 0 && o.code === undefined), JSON.stringify(outcomes))
  assert.deepEqual(await engine.pendingWrites(), [], 'the pull brought the writes back: nothing is pending')
  assert.equal((await row(engine, 'messages', edited.id)).seq, outcomes[1].seq, "the row is the server's version now")

  const other = await open('other.db')
  await other.syncAll()
  assert.equal((await row(other, 'messages', 'm-offline')).body, 'sent while offline')
  assert.equal((await row(other, 'messages', edited.id)).body, 'edited offline')
  assert.equal(await row(other, 'messages', removed.id), undefined)
  assert.deepEqual((await other.stats()).counts, (await engine.stats()).counts, 'both replicas equal')
  await other.close()
}

test('a write the server refuses is rolled back locally and reported with its code', async () => {
  const engine = await open('rejected.db')
  await engine.syncAll()
  const before = (await engine.stats()).counts.messages
  const mutation = await engine.mutate(message('m-orphan', 'no-such-conversation', 'into the void'))
  assert.equal((await engine.stats()).counts.messages, before + 1, 'shown at once')

  const outcomes = []
  await engine.syncAll({ onWrite: (o) => outcomes.push(o) })
  assert.equal(outcomes.length, 1)
  assert.equal(outcomes[0].mutationId, mutation.mutationId)
  assert.equal(outcomes[0].status, 'rejected')
  assert.equal(outcomes[0].code, 'conversation_missing')
  assert.match(outcomes[0].message, /no-such-conversation/)
  assert.equal(await row(engine, 'messages', 'm-orphan'), undefined, 'rolled back')
  assert.equal((await engine.stats()).counts.messages, before)
  assert.deepEqual(await engine.pendingWrites(), [])
  await engine.close()
})

test('follow() pushes a local write by itself and reports it to onWrite', async () => {
  const engine = await open('follow.db')
  await engine.syncAll()
  const [conversation] = await engine.listRows('conversations', { limit: 1 })
  const outcomes = []
  const changes = []
  const controller = new AbortController()
  const following = engine.follow({ signal: controller.signal, onWrite: (o) => outcomes.push(o), onChange: (c) => changes.push(c) })
  try {
    const mutation = await engine.mutate({ collection: 'conversations', id: conversation.id, op: 'update', fields: { archived: !conversation.archived } })
    await until(() => outcomes.length === 1, 'the outcome of the write')
    assert.equal(outcomes[0].mutationId, mutation.mutationId)
    assert.equal(outcomes[0].status, 'applied')
    await until(() => changes.some((c) => c.collection === 'conversations' && c.cursor >= outcomes[0].seq), 'the pull of its seq')
  } finally {
    controller.abort()
  }
  await following
  assert.equal((await row(engine, 'conversations', conversation.id)).archived, !conversation.archived)
  assert.deepEqual(await engine.pendingWrites(), [])
  await engine.close()
})

test('a write the schema refuses rejects with invalid_write and changes nothing', async () => {
  const engine = await open('invalid.db')
  await engine.syncAll()
  const counts = (await engine.stats()).counts
  const [existing] = await engine.listRows('messages', { limit: 1 })
  const refused = [
    [{ collection: 'nothing', id: 'x', op: 'insert', fields: {} }, /nothing/],
    [{ collection: 'contacts', id: 'x', op: 'insert', fields: { jid: 'j', is_business: false, updated_at: 1 } }, /writable/],
    [{ collection: 'messages', id: existing.id, op: 'update', fields: { nope: 1 } }, /nope/],
    [{ collection: 'messages', id: existing.id, op: 'update', fields: { sent_at: 'yesterday' } }, /sent_at/],
    [{ collection: 'messages', id: existing.id, op: 'upsert', fields: {} }, /upsert/],
  ]
  for (const [write, message] of refused) {
    await assert.rejects(engine.mutate(write), (e) => {
      assert.equal(e.code, 'invalid_write', e.message)
      assert.match(e.message, message)
      return true
    })
  }
  assert.deepEqual(await engine.pendingWrites(), [])
  assert.deepEqual((await engine.stats()).counts, counts)
  assert.deepEqual(await row(engine, 'messages', existing.id), existing)
  await engine.close()
})

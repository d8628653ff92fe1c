// The shared search scenarios (bindings-tests/scenarios.json, `kind: search`) in JavaScript: highlights with the
// text escaped, any typed text a valid plain query, advanced-mode and filter errors by code, newest-first order
// with filters and paging, and edits and deletes arriving by sync changing the results. scenarios.test.mjs runs them.
import assert from 'node:assert/strict'

/** A query holds a word only if it has a letter or a digit; one without finds nothing. */
const hasWord = (text) => /[\p{L}\p{N}]/u.test(text)

/** The ids `engine.search` finds, in order. */
async function ids(engine, query, options) {
  return (await engine.search(query, options)).map((h) => h.id)
}

/**
 * The implementations, keyed by scenario id. `open(name)` opens a client on the scenario server, `newMessage(id,
 * conversation)` is an insert of a message, `pushed(engine, mutation, status)` syncs and checks the write's outcome.
 */
export function searchScenarios({ open, newMessage, pushed }) {
  /** A client synced with the server, and two conversations of its replica. */
  async function synced(scenario) {
    const engine = await open(`${scenario.id}.db`)
    await engine.syncAll()
    const conversations = await engine.listRows('conversations', { orderBy: 'id', limit: 2 })
    return { engine, conversations: conversations.map((c) => c.id) }
  }

  /** Inserts a message of `conversation` with `body`, locally. */
  async function insert(engine, id, conversation, body) {
    const write = newMessage(id, conversation)
    return engine.mutate({ ...write, fields: { ...write.fields, body } })
  }

  return {
    async search_plain(scenario) {
      const { engine, conversations } = await synced(scenario)
      const id = `${scenario.id}-m`
      await insert(engine, id, conversations[0], scenario.body)
      const hits = await engine.search(scenario.query)
      assert.deepEqual(hits.map((h) => [h.collection, h.id, h.snippet]), [['messages', id, scenario.snippet]])
      assert.equal(hits[0].rank, undefined, 'recent order computes no rank')
      const custom = await engine.search(scenario.query, { highlightOpen: '[', highlightClose: ']', escapeHtml: false })
      assert.deepEqual(custom.map((h) => h.snippet), [scenario.custom_snippet])
      assert.deepEqual(await ids(engine, scenario.prefix, { mode: 'prefix' }), [id])
      assert.deepEqual(await ids(engine, scenario.prefix), [], 'a plain word is a whole word')
      await engine.close()
    },

    async search_hostile(scenario) {
      const { engine } = await synced(scenario)
      for (const query of scenario.queries) {
        for (const mode of ['plain', 'prefix']) {
          for (const order of ['recent', 'relevance']) {
            const hits = await engine.search(query, { mode, order })
            assert.ok(Array.isArray(hits), `${JSON.stringify(query)} ${mode} ${order}`)
            if (!hasWord(query)) assert.deepEqual(hits, [], `${JSON.stringify(query)} has no word`)
          }
        }
      }
      await engine.close()
    },

    async search_advanced_error(scenario) {
      const { engine } = await synced(scenario)
      const fails = (promise, message) => assert.rejects(promise, (e) => {
        assert.equal(e.code, scenario.code, e.message)
        assert.match(e.message, new RegExp(message))
        return true
      })
      await fails(engine.search(scenario.query, { mode: 'advanced' }), scenario.message)
      await fails(engine.search('zanzibar OR NOT', { mode: 'advanced' }), scenario.message)
      const where = { [scenario.filter_column]: 'x' }
      await fails(engine.search('message', { collections: ['messages'], where }), scenario.filter_column)
      assert.ok(Array.isArray(await engine.search('message OR text', { mode: 'advanced' })))
      await fails(engine.search('message', { order: 'best' }), 'relevance')
      await engine.close()
    },

    async search_filter(scenario) {
      const { engine, conversations } = await synced(scenario)
      const [first, second] = [`${scenario.id}-1`, `${scenario.id}-2`]
      await insert(engine, first, conversations[0], scenario.bodies[0])
      await insert(engine, second, conversations[1], scenario.bodies[1])
      const recent = await engine.search('platypus')
      assert.deepEqual(recent.map((h) => [h.id, h.rank]), [[second, undefined], [first, undefined]], 'newest first')
      assert.deepEqual(await ids(engine, 'platypus', { where: { conversation_id: conversations[0] } }), [first])
      assert.deepEqual(await ids(engine, 'platypus', { limit: 1, offset: 1 }), [first])
      const relevance = await engine.search('platypus', { order: 'relevance' })
      assert.deepEqual(relevance.map((h) => h.id).sort(), [first, second])
      assert.ok(relevance.every((h) => typeof h.rank === 'number'), 'relevance computes the rank')
      assert.ok(relevance[0].rank <= relevance[1].rank, 'best first')
      await engine.close()
    },

    async search_after_edit(scenario) {
      const { engine: writer, conversations } = await synced(scenario)
      const reader = await open(`${scenario.id}-reader.db`)
      const [before, after] = scenario.bodies
      const id = `${scenario.id}-m`
      const word = (body) => body.split(' ')[0]
      await pushed(writer, await insert(writer, id, conversations[0], before), 'applied')
      await reader.syncAll()
      assert.deepEqual(await ids(reader, word(before)), [id])
      const update = { collection: 'messages', id, op: 'update', fields: { body: after } }
      await pushed(writer, await writer.mutate(update), 'applied')
      await reader.syncAll()
      assert.deepEqual(await ids(reader, word(before)), [], 'the edit replaced the old text')
      assert.deepEqual(await ids(reader, word(after)), [id])
      await pushed(writer, await writer.mutate({ collection: 'messages', id, op: 'delete' }), 'applied')
      await reader.syncAll()
      assert.deepEqual(await ids(reader, word(after)), [], 'the delete removed it')
      await Promise.all([writer.close(), reader.close()])
    },
  }
}

// The media scenarios of bindings-tests/scenarios.json (`kind: media`), for scenarios.test.mjs: downloads of seeded
// media files through `engine.media`, checked byte for byte against the server's files, and the queue's controls.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'

import { until } from './support.mjs'

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex')

/** Polls `engine.media.item(id)` until `ok(item)`. */
async function itemWhen(engine, mediaId, ok, what) {
  let item
  const started = Date.now()
  while (!(item && ok(item))) {
    if (Date.now() - started > 20_000) throw new Error(`timed out waiting for ${mediaId} ${what}: ${JSON.stringify(item)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    item = await engine.media.item(mediaId)
  }
  return item
}

/** `count` media rows of distinct files, first by sha256. */
async function mediaRows(engine, count) {
  const { rows } = await engine.query(
    // Bare columns with min(): those of the row with the least id.
    'SELECT min(id), sha256, size_bytes, conversation_id FROM message_media GROUP BY sha256 ORDER BY sha256 LIMIT ?',
    [count])
  return rows.map(([id, sha, size, conversation]) => ({ id, sha, size, conversation }))
}

/** The scenarios, given `ctx.open(name, options)` (an engine on the seeded server) and `ctx.dir()` (the test's folder). */
export function mediaScenarios(ctx) {
  return {
    async media_download() {
      const engine = await ctx.open('media-download.db')
      await engine.syncAll()
      const target = path.join(ctx.dir(), 'downloads-node')
      const events = []
      await engine.media.onEvent((e) => events.push(e))
      assert.equal(await engine.media.configure({ targetDir: target, autoDownload: [] }), target)
      const rows = await mediaRows(engine, 3)
      assert.equal(rows.length, 3)
      for (const row of rows) assert.equal((await engine.media.download(row.id)).mediaId, row.id)
      for (const row of rows) {
        const item = await itemWhen(engine, row.id, (i) => i.state === 'done' || i.state === 'failed', 'done')
        assert.equal(item.state, 'done', item.lastError)
        assert.equal(item.bytes, row.size)
        assert.equal(item.total, row.size)
        assert.equal(path.dirname(item.path), target)
        assert.deepEqual(readFileSync(item.path), readFileSync(path.join(ctx.dir(), 'server-media', row.sha)))
        assert.equal(sha256(item.path), row.sha)
      }
      await until(() => rows.every((row) => events.some((e) => e.kind === 'state' && e.mediaId === row.id && e.state === 'done')),
        'the done events')
      for (const row of rows) {
        const progress = events.filter((e) => e.kind === 'progress' && e.mediaId === row.id)
        assert.ok(progress.length > 0, `progress events of ${row.id}`)
        assert.ok(progress.every((e) => e.bytes <= e.total && e.total === row.size && e.rate >= 0))
        assert.equal(progress.at(-1).bytes, row.size)
        const done = events.find((e) => e.kind === 'state' && e.mediaId === row.id && e.state === 'done')
        assert.equal(path.dirname(done.path), target)
      }
      assert.equal((await engine.media.totals()).done, 3)
      assert.deepEqual((await engine.media.list()).map((i) => i.mediaId).sort(), rows.map((r) => r.id).sort())
      await engine.close()
    },

    async media_control() {
      const synced = await ctx.open('media-control.db')
      await synced.syncAll()
      const [a, b, c] = await mediaRows(synced, 3)
      await synced.close()
      const target = path.join(ctx.dir(), 'control-node')
      const settings = { targetDir: target, autoDownload: [], concurrency: 1 }
      const engine = await ctx.open('media-control.db', { serverUrl: 'http://127.0.0.1:9' })
      await engine.media.configure(settings)
      const waiting = (i) => i.state === 'queued' || i.state === 'downloading'
      assert.ok(waiting(await engine.media.download(a.id)))
      assert.ok(waiting(await engine.media.download(b.id, { priority: 1 })))
      assert.ok(waiting(await engine.media.download(c.id, { priority: 5 })))
      await engine.media.pause(a.id)
      await itemWhen(engine, a.id, (i) => i.state === 'paused', 'paused')
      assert.equal((await engine.media.prioritize(b.id, 50)).priority, 50)
      assert.equal((await engine.media.list())[0].mediaId, b.id)
      assert.ok(await engine.media.prioritizeConversation(b.conversation, 70) >= 1)
      await engine.media.cancel(c.id)
      await itemWhen(engine, c.id, (i) => i.state === 'cancelled', 'cancelled')
      const resumed = await engine.media.resume(a.id)
      assert.ok(waiting(resumed), JSON.stringify(resumed))
      for (const call of [() => engine.media.download('no-such-media'), () => engine.media.pause('no-such-media')]) {
        await assert.rejects(call(), (e) => e.code === 'not_found' && /no-such-media/.test(e.message))
      }
      assert.ok((await engine.media.list()).every((i) => i.state !== 'failed'))
      await engine.close()

      const live = await ctx.open('media-control.db')
      await live.media.configure(settings)
      for (const row of [a, b]) {
        const item = await itemWhen(live, row.id, (i) => i.state === 'done', 'done')
        assert.equal(sha256(item.path), row.sha)
      }
      assert.equal((await live.media.item(c.id)).state, 'cancelled')
      await live.close()
    },
  }
}

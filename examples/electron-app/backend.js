'use strict'
// What the main process does for the sync screen, apart from Electron: owns one engine, runs a sync at a time, and
// reports its progress to a listener. main.js serves it over IPC; harness/server.mjs over HTTP for a browser test.

const { randomUUID } = require('node:crypto')
const { SyncEngine } = require('@seqsync/node')

/**
 * The sync screen's backend over one engine. `emit(channel, payload)` sends events to the renderer. `media.appDir`
 * is where downloaded media go on a system without a Downloads folder (`media.targetDir` overrides both).
 */
async function createBackend(appOptions, emit, media = {}) {
  // `recentFirst` (default true) is the app's, not the engine's: false makes a first sync a plain `syncAll` with a
  // progress bar per collection (recent-first reports readiness events instead).
  const { recentFirst = true, ...options } = appOptions
  const engine = await SyncEngine.open(options)
  let running = null
  let filling = false
  let live = null
  // Media downloads: the queue starts now (it resumes what the last run left), its events go to the renderer. A
  // folder that cannot be used leaves the screen working without media, saying why.
  let mediaFolder = null
  let mediaError = null
  await engine.media.onEvent((event) => emit('media', event))
  try {
    mediaFolder = await engine.media.configure({ targetDir: media.targetDir, fallbackDir: media.appDir, autoDownload: [] })
  } catch (error) {
    mediaError = { code: error.code ?? 'unknown', message: error.message }
  }
  const withMedia = (call) => {
    if (mediaError) throw Object.assign(new Error(mediaError.message), { code: mediaError.code })
    return call()
  }

  /** The outcome of each pushed write ("sent", or "failed" and rolled back) arrives as a `write` event. */
  const onWrite = (outcome) => emit('write', outcome)

  /**
   * After a first sync, the screen follows the server: each committed change arrives as a `change` event, and local
   * writes are pushed within a few ms (or when the server is back).
   */
  function follow() {
    if (live) return
    live = new AbortController()
    engine
      .follow({ signal: live.signal, onChange: (change) => emit('change', change), onWrite })
      .catch((error) => emit('done', { ok: false, code: error.code ?? 'unknown', message: error.message }))
      .finally(() => { live = null })
  }

  return {
    stats: () => engine.stats(),

    conversations: (limit = 20) =>
      engine.listRows('conversations', { orderBy: 'last_message_at', descending: true, limit }),

    /**
     * Starts a sync unless one runs; progress and the outcome arrive as `progress` and `done` events. The first sync
     * of an empty replica goes recent first: its `recent` events (`chat_list_ready`, then `head_landed` and
     * `history_landed` per conversation) let the screen show the chat list long before the history is in.
     */
    async startSync() {
      if (running) return { started: false }
      const controller = new AbortController()
      running = controller
      const empty = recentFirst && !(await engine.stats()).counts.conversations
      filling = empty
      const sync = empty
        ? engine.syncRecentFirst({ signal: controller.signal, onEvent: (event) => emit('recent', event) })
        : engine.syncAll({ signal: controller.signal, onProgress: (p) => emit('progress', p), onWrite })
      sync
        .then(
          (report) => {
            emit('done', { ok: true, rows: report.rows, elapsedMs: report.elapsedMs })
            follow()
          },
          (error) => emit('done', { ok: false, code: error.code ?? 'unknown', message: error.message }),
        )
        .finally(() => { running = null; filling = false })
      return { started: true, recentFirst: empty }
    },

    /** The user opened a conversation: while history fills, its whole history is pulled next. */
    prioritize(conversationId) {
      if (filling) engine.prioritize(conversationId)
      return { prioritized: filling }
    },

    /** The archived conversations' rows (frozen, still readable), newest first. */
    async archived() {
      const { values } = await engine.subscription()
      const ids = values.filter((v) => v.archived).map((v) => v.value)
      if (ids.length === 0) return []
      const rows = await Promise.all(ids.map((id) => engine.listRows('conversations', { where: { id }, limit: 1 })))
      return rows.flat().sort((a, b) => (b.last_message_at ?? 0) - (a.last_message_at ?? 0))
    },

    /**
     * Archives a conversation: its rows stay readable and searchable, frozen, and syncs skip it. The engine archives
     * only within a subscription (from "everything" it refuses with invalid_argument), so the first archive
     * subscribes to every conversation the replica holds, keeping all of them. The choice has a cost, said in the
     * README: a conversation created on the server later is not synced until it is subscribed too.
     */
    async archive(conversationId) {
      if ((await engine.subscription()).everything) {
        const { rows } = await engine.query('SELECT id FROM conversations WHERE integration_id = ?', [options.integrationId])
        await engine.subscribe(rows.map(([id]) => id))
      }
      return engine.archive([conversationId])
    },

    /** Unarchives a conversation: the next sync catches it up. */
    unarchive: (conversationId) => engine.unarchive([conversationId]),

    /**
     * Search as the user types: the best 20 messages holding the words (the last one completed as a prefix), each
     * with its conversation and a snippet whose text the engine escaped for HTML around its `<mark>`s.
     */
    async search(text) {
      const hits = await engine.search(text, { mode: 'prefix', collections: ['messages'], limit: 20 })
      if (hits.length === 0) return []
      const ids = hits.map((h) => h.id)
      const { rows } = await engine.query(
        `SELECT m.id, m.conversation_id, c.name FROM messages m LEFT JOIN conversations c
           ON c.id = m.conversation_id AND c.integration_id = m.integration_id
         WHERE m.integration_id = ? AND m.id IN (${ids.map(() => '?').join(', ')})`,
        [options.integrationId, ...ids],
      )
      const where = new Map(rows.map(([id, conversationId, name]) => [id, { conversationId, conversationName: name }]))
      return hits.map((h) => ({ id: h.id, snippet: h.snippet, ...where.get(h.id) }))
    },

    /**
     * The newest messages of a conversation (30; opened at a search result, the 1,000, newest first, among which
     * it is, wherever it lies in the history), oldest first, each with `delivery`: `sending` (not acknowledged by
     * the server yet), `sent` (one of ours the server has) or null (someone else's).
     */
    async messages(conversationId, atMessage) {
      const newest = (limit, offset = 0) => engine.listRows('messages',
        { where: { conversation_id: conversationId }, orderBy: 'sent_at', descending: true, limit, offset })
      let rows = null
      for (let offset = 0; atMessage && !rows; offset += 1000) {
        const page = await newest(1000, offset)
        if (page.length === 0) break
        if (page.some((m) => m.id === atMessage)) rows = page
      }
      rows ??= await newest(30)
      const pending = await engine.pendingWrites()
      const sending = new Set(pending.filter((w) => w.state === 'pending').map((w) => w.mutation.id))
      return rows.reverse().map((m) => ({ ...m, delivery: sending.has(m.id) ? 'sending' : m.from_me ? 'sent' : null }))
    },

    /** Sends a message into a conversation: shown at once (offline too), pushed by `follow`. */
    send(conversationId, body) {
      const id = `local-${randomUUID()}`
      const fields = { conversation_id: conversationId, wa_message_id: id, from_me: true, body, message_type: 'text',
        status: 'sent', sent_at: Date.now() }
      return engine.mutate({ collection: 'messages', id, op: 'insert', fields })
    },

    edit: (id, body) => engine.mutate({ collection: 'messages', id, op: 'update', fields: { body, edited_at: Date.now() } }),

    remove: (id) => engine.mutate({ collection: 'messages', id, op: 'delete' }),

    cancelSync() {
      running?.abort()
    },

    /** Where downloads go (null, with why, when media are unavailable). */
    mediaFolder: () => ({ folder: mediaFolder, error: mediaError }),

    /** The first media rows of the replica with their downloads' state (`none` when not queued). */
    async mediaList(limit = 12) {
      const { rows } = await engine.query(
        'SELECT id, file_name, mime_type, size_bytes FROM message_media WHERE integration_id = ? ORDER BY id LIMIT ?',
        [options.integrationId, limit])
      const items = new Map((mediaError ? [] : await engine.media.list()).map((i) => [i.mediaId, i]))
      return rows.map(([mediaId, fileName, mimeType, size]) => {
        const item = items.get(mediaId)
        return { mediaId, fileName, mimeType, size, state: item?.state ?? 'none', bytes: item?.bytes ?? 0,
          path: item?.path ?? null, error: item?.lastError ?? null }
      })
    },

    mediaDownload: (mediaId) => withMedia(() => engine.media.download(mediaId)),
    mediaPause: (mediaId) => withMedia(() => engine.media.pause(mediaId)),
    mediaResume: (mediaId) => withMedia(() => engine.media.resume(mediaId)),
    mediaCancel: (mediaId) => withMedia(() => engine.media.cancel(mediaId)),

    /** The finished file of a media row (what "Open" opens), or null. */
    async mediaPath(mediaId) {
      const item = mediaError ? null : await engine.media.item(mediaId)
      return item?.state === 'done' ? item.path : null
    },

    close() {
      live?.abort()
      return engine.close()
    },
  }
}

module.exports = { createBackend }

'use strict'
// What the main process does for the sync screen, apart from Electron: owns one engine, runs a sync at a time, and
// reports its progress to a listener. main.js serves it over IPC; harness/server.mjs over HTTP for a browser test.

const { SyncEngine } = require('@seqsync/node')

/** The sync screen's backend over one engine. `emit(channel, payload)` sends events to the renderer. */
async function createBackend(options, emit) {
  const engine = await SyncEngine.open(options)
  let running = null
  let live = null

  /** After a first sync, the screen follows the server: each committed change arrives as a `change` event. */
  function follow() {
    if (live) return
    live = new AbortController()
    engine
      .follow({ signal: live.signal, onChange: (change) => emit('change', change) })
      .catch((error) => emit('done', { ok: false, code: error.code ?? 'unknown', message: error.message }))
      .finally(() => { live = null })
  }

  return {
    stats: () => engine.stats(),

    conversations: (limit = 20) =>
      engine.listRows('conversations', { orderBy: 'last_message_at', descending: true, limit }),

    /** Starts a sync unless one runs; progress and the outcome arrive as `progress` and `done` events. */
    startSync() {
      if (running) return { started: false }
      const controller = new AbortController()
      running = controller
      engine
        .syncAll({ signal: controller.signal, onProgress: (p) => emit('progress', p) })
        .then(
          (report) => {
            emit('done', { ok: true, rows: report.rows, elapsedMs: report.elapsedMs })
            follow()
          },
          (error) => emit('done', { ok: false, code: error.code ?? 'unknown', message: error.message }),
        )
        .finally(() => { running = null })
      return { started: true }
    },

    cancelSync() {
      running?.abort()
    },

    close() {
      live?.abort()
      return engine.close()
    },
  }
}

module.exports = { createBackend }

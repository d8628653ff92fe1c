'use strict'
// The public class of @seqsync/node: the native engine with option objects and AbortSignal. Kept tiny on purpose:
// everything else happens in Rust (see src/).

const native = require('./index.js')
const { drizzleSchema } = require('./drizzle.js')

class SyncEngine {
  #native

  /** @internal use SyncEngine.open */
  constructor(nativeEngine) {
    this.#native = nativeEngine
  }

  static async open(options) {
    return new SyncEngine(await native.openEngine(options))
  }

  syncAll(options = {}) {
    return this.#sync(options, (onProgress, token, onWrite) => this.#native.syncAll(onProgress, token, onWrite))
  }

  syncCollection(collection, options = {}) {
    return this.#sync(options, (onProgress, token, onWrite) =>
      this.#native.syncCollection(collection, onProgress, token, onWrite))
  }

  follow({ onChange, onWrite, signal, waitMs } = {}) {
    return this.#native.follow(onChange ?? null, this.#token(signal), waitMs ?? null, onWrite ?? null)
  }

  async #sync({ onProgress, onWrite, signal } = {}, start) {
    return start(onProgress ?? null, this.#token(signal), onWrite ?? null)
  }

  #token(signal) {
    const token = this.#native.cancelToken()
    if (signal) {
      if (signal.aborted) token.cancel()
      else signal.addEventListener('abort', () => token.cancel(), { once: true })
    }
    return token
  }

  stats() { return this.#native.stats() }
  syncState() { return this.#native.syncState() }
  reset() { return this.#native.reset() }
  listRows(collection, options) { return this.#native.listRows(collection, options) }
  query(sql, params = []) { return this.#native.query(sql, params) }
  search(query, options) { return this.#native.search(query, options) }
  mutate(write) { return this.#native.mutate(write) }
  pendingWrites() { return this.#native.pendingWrites() }
  /** The media download queue: `engine.media.download(id)`, `.pause(id)`, ... (see sync.d.ts). */
  get media() {
    const n = this.#native
    return {
      configure: (settings) => n.mediaConfigure(settings ?? null),
      onEvent: (listener) => n.mediaListen(listener ?? null),
      download: (mediaId, { priority } = {}) => n.mediaDownload(mediaId, priority ?? null),
      pause: (mediaId) => n.mediaControl(mediaId, 'pause'),
      resume: (mediaId) => n.mediaControl(mediaId, 'resume'),
      cancel: (mediaId) => n.mediaControl(mediaId, 'cancel'),
      prioritize: (mediaId, priority) => n.mediaPrioritize(mediaId, priority),
      prioritizeConversation: (conversationId, priority) => n.mediaPrioritizeConversation(conversationId, priority),
      item: (mediaId) => n.mediaItem(mediaId),
      list: () => n.mediaItems(),
      totals: () => n.mediaTotals(),
      reconcile: () => n.mediaReconcile(),
    }
  }

  subscription() { return this.#native.subscription() }
  subscribe(values) { return this.#native.subscribe(values) }
  unsubscribe(values) { return this.#native.unsubscribe(values) }
  archive(values) { return this.#native.archive(values) }
  unarchive(values) { return this.#native.unarchive(values) }
  subscribeEverything() { return this.#native.subscribeEverything() }
  syncRecentFirst({ perValue, onEvent, signal } = {}) {
    return this.#native.syncRecentFirst(perValue ?? null, onEvent ?? null, this.#token(signal))
  }
  prioritize(value) { this.#native.prioritize(value) }
  close() { return this.#native.close() }
  get closed() { return this.#native.closed }
}

module.exports = { SyncEngine, drizzleSchema }

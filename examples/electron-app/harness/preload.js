'use strict'
// The harness's stand-in for ../preload.js: the same window.seqsync, over HTTP and server-sent events.
;(() => {
  const listeners = { progress: new Set(), done: new Set(), change: new Set(), write: new Set(), media: new Set(), recent: new Set() }
  const events = new EventSource('/api/events')
  const ready = new Promise((resolve) => { events.onopen = resolve })
  events.onmessage = (message) => {
    const { channel, payload } = JSON.parse(message.data)
    for (const callback of listeners[channel] ?? []) callback(payload)
  }
  const call = async (name, ...args) => {
    const response = await fetch(`/api/${name}`, { method: 'POST', body: JSON.stringify(args) })
    const body = await response.json()
    if (!response.ok) throw Object.assign(new Error(body.error), { code: body.code })
    return body
  }
  const subscribe = (channel, callback) => {
    listeners[channel].add(callback)
    return () => listeners[channel].delete(callback)
  }
  window.seqsync = Object.freeze({
    stats: () => call('stats'),
    conversations: (limit) => call('conversations', limit),
    // Events of a sync must not be missed: start only once the event stream is open.
    startSync: async () => { await ready; return call('startSync') },
    cancelSync: () => call('cancelSync'),
    onProgress: (callback) => subscribe('progress', callback),
    onDone: (callback) => subscribe('done', callback),
    onChange: (callback) => subscribe('change', callback),
    onRecent: (callback) => subscribe('recent', callback),
    prioritize: (conversationId) => call('prioritize', conversationId),
    archived: () => call('archived'),
    archive: (conversationId) => call('archive', conversationId),
    unarchive: (conversationId) => call('unarchive', conversationId),
    messages: (conversationId, atMessage) => call('messages', conversationId, atMessage),
    search: (text) => call('search', text),
    send: (conversationId, body) => call('send', conversationId, body),
    edit: (id, body) => call('edit', id, body),
    remove: (id) => call('remove', id),
    onWrite: (callback) => subscribe('write', callback),
    mediaFolder: () => call('mediaFolder'),
    mediaList: () => call('mediaList'),
    // Events of a download must not be missed: start only once the event stream is open.
    mediaDownload: async (mediaId) => { await ready; return call('mediaDownload', mediaId) },
    mediaPause: (mediaId) => call('mediaPause', mediaId),
    mediaResume: (mediaId) => call('mediaResume', mediaId),
    mediaCancel: (mediaId) => call('mediaCancel', mediaId),
    // A browser has no shell to open a file with: the harness serves the finished file in a new tab.
    mediaOpen: (mediaId) => { window.open(`/media-file/${encodeURIComponent(mediaId)}`, '_blank') },
    onMedia: (callback) => subscribe('media', callback),
  })
})()

// The browser harness: serves the Electron app's renderer unchanged to a plain browser, and answers what preload.js
// would expose (window.seqsync) from the real addon through backend.js: calls are POST /api/<name>, events come as
// server-sent events. Usage: node harness/server.mjs (same SEQSYNC_* variables as main.js; SEQSYNC_DB required),
// or startHarness() from a test.
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { createBackend } = require('../backend.js')
const here = path.dirname(fileURLToPath(import.meta.url))
const rendererDir = path.join(here, '..', 'renderer')
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' }

/** Starts the harness on 127.0.0.1:`port` (0: any); resolves to { url, close() }. */
export async function startHarness(engineOptions, port = 0, media = {}) {
  const clients = new Set()
  const emit = (channel, payload) => {
    const data = `data: ${JSON.stringify({ channel, payload })}\n\n`
    for (const response of clients) response.write(data)
  }
  // Media go to the Downloads folder, or, on a system without one, to a folder beside the replica.
  const appDir = path.join(path.dirname(path.resolve(engineOptions.dbPath)), 'downloads')
  const backend = await createBackend(engineOptions, emit, { appDir, ...media })
  const calls = {
    stats: () => backend.stats(),
    conversations: ([limit]) => backend.conversations(limit),
    startSync: () => backend.startSync(),
    cancelSync: () => backend.cancelSync() ?? null,
    messages: ([conversationId, atMessage]) => backend.messages(conversationId, atMessage),
    search: ([text]) => backend.search(text),
    prioritize: ([conversationId]) => backend.prioritize(conversationId),
    archived: () => backend.archived(),
    archive: ([conversationId]) => backend.archive(conversationId),
    unarchive: ([conversationId]) => backend.unarchive(conversationId),
    send: ([conversationId, body]) => backend.send(conversationId, body),
    edit: ([id, body]) => backend.edit(id, body),
    remove: ([id]) => backend.remove(id),
    mediaFolder: () => backend.mediaFolder(),
    mediaList: () => backend.mediaList(),
    mediaDownload: ([id]) => backend.mediaDownload(id),
    mediaPause: ([id]) => backend.mediaPause(id),
    mediaResume: ([id]) => backend.mediaResume(id),
    mediaCancel: ([id]) => backend.mediaCancel(id),
  }

  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://harness')
    try {
      if (url.pathname === '/api/events') {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
        response.write(': connected\n\n')
        clients.add(response)
        request.on('close', () => clients.delete(response))
        return
      }
      if (url.pathname.startsWith('/api/') && request.method === 'POST') {
        const call = calls[url.pathname.slice(5)]
        if (!call) return send(response, 404, 'application/json', '{"error":"no such call"}')
        let body = ''
        for await (const chunk of request) body += chunk
        const result = await call(body ? JSON.parse(body) : [])
        return send(response, 200, 'application/json', JSON.stringify(result ?? null))
      }
      if (url.pathname.startsWith('/media-file/')) {
        // "Open" in a browser: the finished file the queue verified (nothing for another path or an unfinished one).
        const file = await backend.mediaPath(decodeURIComponent(url.pathname.slice('/media-file/'.length)))
        if (!file) return send(response, 404, 'application/json', '{"error":"not downloaded"}')
        return send(response, 200, 'application/octet-stream', await readFile(file))
      }
      if (url.pathname === '/harness-preload.js') {
        return send(response, 200, TYPES['.js'], await readFile(path.join(here, 'preload.js')))
      }
      const name = url.pathname === '/' ? 'index.html' : path.basename(url.pathname)
      let file = await readFile(path.join(rendererDir, name))
      if (name === 'index.html') {
        // Where Electron would run preload.js, the page loads the harness's stand-in first.
        file = file.toString().replace('<script src="app.js">', '<script src="harness-preload.js"></script>\n  <script src="app.js">')
      }
      return send(response, 200, TYPES[path.extname(name)] ?? 'application/octet-stream', file)
    } catch (error) {
      const status = error.code === 'ENOENT' ? 404 : 500
      return send(response, status, 'application/json', JSON.stringify({ error: error.message, code: error.code }))
    }
  })
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    async close() {
      for (const response of clients) response.end()
      await new Promise((resolve) => server.close(resolve))
      await backend.close()
    },
  }
}

function send(response, status, type, body) {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
  response.end(body)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const harness = await startHarness({
    dbPath: process.env.SEQSYNC_DB,
    serverUrl: process.env.SEQSYNC_URL ?? 'http://127.0.0.1:8080',
    token: process.env.SEQSYNC_TOKEN,
    integrationId: process.env.SEQSYNC_INTEGRATION ?? 'wa-1',
  }, Number(process.env.PORT ?? 3000))
  console.log(`harness on ${harness.url}`)
}

// The real peer for comparison: `pouchdb-server` 4.2 serving a database of the same messages, and `pouchdb-node` 9
// replicating it into a local LevelDB with batch_size 500. Loading the server is not timed; the replication is, in
// a process of its own (client-pouch.mjs) so its peak RSS and event-loop delay are its own.
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import path from 'node:path'

import { Database, nodeClient, startChild } from './support.mjs'

const require = createRequire(import.meta.url)

/** A port nobody listens on now (pouchdb-server cannot report the port it got for 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
    probe.on('error', reject)
  })
}
const CHUNK = 5_000

/** The first `limit` messages of a synced client file, as PouchDB documents. */
function* messageDocs(dbPath, limit) {
  const db = new Database(dbPath, { readonly: true })
  try {
    for (const row of db.prepare('SELECT * FROM messages ORDER BY seq LIMIT ?').iterate(limit)) {
      const { id, ...fields } = row
      yield { _id: id, ...fields }
    }
  } finally {
    db.close()
  }
}

/** Serves `docs` messages from pouchdb-server and replicates them; resolves the replication's measurements. */
export async function pouchRun({ clientDb, docs, scratch }) {
  const serverDir = path.join(scratch, 'pouch-server')
  mkdirSync(serverDir, { recursive: true })
  const serverBin = require.resolve('pouchdb-server/bin/pouchdb-server')
  const server = await startChild(process.execPath, [serverBin, '--port', String(await freePort()), '--dir', serverDir,
    '--no-stdout-logs'], /started on (http:\/\/[\d.:]+)/, { cwd: serverDir })
  try {
    const url = `${server.match[1]}/messages`
    const put = await fetch(url, { method: 'PUT' })
    if (!put.ok && put.status !== 412) throw new Error(`PUT ${url}: HTTP ${put.status}`)
    let batch = []
    const flush = async () => {
      const response = await fetch(`${url}/_bulk_docs`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ docs: batch }),
      })
      if (!response.ok) throw new Error(`POST _bulk_docs: HTTP ${response.status}`)
      batch = []
    }
    let loaded = 0
    for (const doc of messageDocs(clientDb, docs)) {
      batch.push(doc)
      loaded++
      if (batch.length === CHUNK) await flush()
    }
    if (batch.length) await flush()
    const result = await nodeClient('client-pouch.mjs', { url, dir: path.join(scratch, 'pouch-client') })
    return { ...result, loaded }
  } finally {
    await server.stop()
  }
}


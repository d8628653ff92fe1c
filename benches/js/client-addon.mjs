// One sync through the Node addon (@seqsync/node), in a process of its own: prints { seconds, maxRssMb, loop }.
// The clock covers syncAll only (opening the engine is not part of a sync).
import { createRequire } from 'node:module'
import path from 'node:path'

import { maxRssMb, repoDir, withLoopDelay } from './support.mjs'

const { SyncEngine } = createRequire(import.meta.url)(path.join(repoDir, 'bindings-node', 'sync.js'))
const { dbPath, url, token, integration } = JSON.parse(process.argv[2])
const engine = await SyncEngine.open({ dbPath, serverUrl: url, token, integrationId: integration })
try {
  const { seconds, loop } = await withLoopDelay(() => engine.syncAll())
  console.log(JSON.stringify({ seconds, loop, maxRssMb: maxRssMb() }))
} finally {
  await engine.close()
}

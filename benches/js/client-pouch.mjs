// One replication by PouchDB (pouchdb-node 9, batch_size 500) from a pouchdb-server database into a local LevelDB,
// in a process of its own: prints { seconds, maxRssMb, loop, docs }.
import { createRequire } from 'node:module'

import { maxRssMb, withLoopDelay } from './support.mjs'

const PouchDB = createRequire(import.meta.url)('pouchdb-node')
const { url, dir } = JSON.parse(process.argv[2])
const local = new PouchDB(dir)
const { seconds, loop } = await withLoopDelay(() => PouchDB.replicate(url, local, { batch_size: 500 }))
const { doc_count: docs } = await local.info()
await local.close()
console.log(JSON.stringify({ seconds, loop, maxRssMb: maxRssMb(), docs }))

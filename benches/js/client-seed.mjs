// One sync through the seed-style client (examples/seed-client-node: fetch + better-sqlite3, the seed's loop and
// page sizes), in a process of its own: prints { seconds, maxRssMb, loop }.
import { seedSync } from '../../examples/seed-client-node/seed-client.mjs'
import { maxRssMb, withLoopDelay } from './support.mjs'

const { dbPath, url, token, integration } = JSON.parse(process.argv[2])
const { seconds, loop } = await withLoopDelay(() => seedSync({ url, token, integrationId: integration, dbPath }))
console.log(JSON.stringify({ seconds, loop, maxRssMb: maxRssMb() }))

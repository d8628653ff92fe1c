// The end-to-end benchmark: seeds server-example (embedded SQLite store and PostgreSQL), then, run after run in
// this one invocation, syncs it into fresh SQLite files through the Rust engine (sync-cli), the Node addon and the
// seed-style client, replicates the same messages with PouchDB, loads the same rows straight into SQLite (the
// limit), and measures incremental syncs, peak memory, event-loop delay and the server's cost per page.
// Every client's row counts must equal the server's: any difference fails the run (exit 1), whatever the times.
//
// Usage (builds first: see benches/e2e.sh): node benches/js/e2e.mjs --size ci|quick|full [--stores sqlite,postgres]
//   [--messages N] [--no-pouch] [--out DIR] [--database-url postgres://user@host:port] [--reuse]
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'

import { pouchRun } from './pouch.mjs'
import { markdown } from './report.mjs'
import { bin, fileCounts, median, nodeClient, repoDir, run, serverCounts, startChild, timed } from './support.mjs'

const SIZES = {
  ci: { conversations: 100, messages: 5_000, contacts: 100, pouchDocs: 2_000 },
  quick: { conversations: 1_000, messages: 100_000, contacts: 750, pouchDocs: 100_000 },
  full: { conversations: 10_000, messages: 1_000_000, contacts: 7_500, pouchDocs: 100_000 },
}
const TOKEN = 'bench-token'
const INTEGRATION = 'wa-bench'
const SEED_COLLECTIONS = ['conversations', 'messages', 'contacts']
const PAGE = 1_500
const PAGE_SAMPLES = 15

const { values: opts } = parseArgs({
  options: {
    size: { type: 'string', default: 'quick' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    'no-pouch': { type: 'boolean', default: false },
    out: { type: 'string' },
    'database-url': { type: 'string', default: process.env.SEQSYNC_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432' },
    reuse: { type: 'boolean', default: false },
    messages: { type: 'string' },
  },
})
if (!SIZES[opts.size]) throw new Error(`--size must be one of ${Object.keys(SIZES).join(', ')}, not ${opts.size}`)
// --messages N: another size with the same ratios (100 messages per conversation, 0.75 contacts per conversation).
const size = opts.messages === undefined ? SIZES[opts.size] : scaled(Number(opts.messages))

function scaled(messages) {
  if (!Number.isInteger(messages) || messages < 2 * PAGE) throw new Error(`--messages must be an integer of at least ${2 * PAGE}`)
  const conversations = Math.ceil(messages / 100)
  return { conversations, messages, contacts: Math.ceil(conversations * 0.75), pouchDocs: Math.min(messages, 100_000) }
}
const out = path.resolve(opts.out ?? path.join(repoDir, 'target', 'bench', opts.size))
mkdirSync(out, { recursive: true })
const failures = []
const results = { size: opts.size, sizes: size, started: new Date().toISOString(), runs: [], incremental: [], pageCost: [], seeding: [] }

const log = (...args) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...args)

/** Records a client's row counts against the server's; a difference is a failure of the whole run. */
function check(label, counts, expected, collections) {
  const wrong = collections.filter((c) => counts[c] !== expected[c])
  if (wrong.length) failures.push(`${label}: ${wrong.map((c) => `${c} ${counts[c]} != server ${expected[c]}`).join(', ')}`)
  return wrong.length === 0
}

const sum = (counts, collections) => collections.reduce((n, c) => n + counts[c], 0)

/** The store's seed/serve arguments, after making sure it is empty (unless --reuse and it is already seeded). */
async function prepareStore(store) {
  if (store === 'sqlite') {
    const db = path.join(out, 'server.db')
    if (!opts.reuse) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true })
    return { args: ['--db', db], fresh: !existsSync(db), drop: async () => {} }
  }
  // Its own database: with --reuse a stable name (kept for the next run), else one per run (dropped after it), so
  // runs on a shared PostgreSQL do not collide.
  const name = opts.reuse ? `seqsync_bench_${opts.size}` : `seqsync_bench_${opts.size}_${process.pid}`
  const admin = `${opts['database-url']}/postgres`
  const { stdout } = await run('psql', [admin, '-tAc', `SELECT 1 FROM pg_database WHERE datname = '${name}'`])
  const present = stdout.trim() === '1'
  if (!opts.reuse || !present) {
    await run('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${name}`])
    await run('psql', [admin, '-qc', `CREATE DATABASE ${name}`])
  }
  const drop = opts.reuse ? async () => {} : () => run('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${name}`])
  return { args: ['--database-url', `${opts['database-url']}/${name}`], fresh: !opts.reuse || !present, drop }
}

async function seed(storeArgs, sizes, generatorSeed) {
  const args = ['seed', ...storeArgs, '--integration', INTEGRATION, '--conversations', String(sizes.conversations),
    '--messages', String(sizes.messages), '--contacts', String(sizes.contacts), '--seed', String(generatorSeed)]
  const started = performance.now()
  await run(bin('server-example'), args)
  return (performance.now() - started) / 1000
}

/** Time to fetch and read one page of messages at a cursor (median of PAGE_SAMPLES), and how many rows it held. */
async function pageCost(url, sinceSeq) {
  const times = []
  let rows = 0
  let bytes = 0
  for (let i = 0; i < PAGE_SAMPLES; i++) {
    const started = performance.now()
    const response = await fetch(`${url}/sync/messages/${INTEGRATION}?since_seq=${sinceSeq}&limit=${PAGE}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    const body = await response.text()
    times.push(performance.now() - started)
    if (!response.ok) throw new Error(`page at ${sinceSeq}: HTTP ${response.status}`)
    rows = JSON.parse(body).messages.length
    bytes = Buffer.byteLength(body)
  }
  return { ms: median(times), rows, bytes }
}

/** The three clients, each into its own fresh file; returns their file paths for the incremental runs. */
async function initialSyncs(store, url, expected, collections, dir) {
  const files = { rust: path.join(dir, 'rust.db'), addon: path.join(dir, 'addon.db'), seed: path.join(dir, 'seed.db') }
  const client = { url, token: TOKEN, integration: INTEGRATION }
  const all = sum(expected, collections)

  log(`${store}: Rust engine (sync-cli pull)`)
  const rust = await timed(bin('sync-cli'), ['pull', '--url', url, '--token', TOKEN, '--integration', INTEGRATION,
    '--db', files.rust, '--quiet'], dir)
  const rustExact = check(`${store} sync-cli`, fileCounts(files.rust, collections), expected, collections)
  results.runs.push({ client: 'Rust engine (sync-cli)', store, rows: all, seconds: rust.seconds, maxRssMb: rust.maxRssMb, exact: rustExact })

  log(`${store}: Node addon`)
  const addon = await nodeClient('client-addon.mjs', { ...client, dbPath: files.addon })
  const addonExact = check(`${store} addon`, fileCounts(files.addon, collections), expected, collections)
  results.runs.push({ client: 'Node addon', store, rows: all, ...addon, exact: addonExact })

  log(`${store}: seed-style client`)
  const seeded = await nodeClient('client-seed.mjs', { ...client, dbPath: files.seed })
  const seedExact = check(`${store} seed-style`, fileCounts(files.seed, SEED_COLLECTIONS), expected, SEED_COLLECTIONS)
  results.runs.push({ client: 'seed-style (fetch + better-sqlite3)', store, rows: sum(expected, SEED_COLLECTIONS), ...seeded, exact: seedExact })
  return files
}

/** Adds 100 messages (and the one conversation and contact they need) on the server, then syncs every client. */
async function incremental(store, storeArgs, url, files, before, collections, dir) {
  await seed(storeArgs, { conversations: 1, messages: 100, contacts: 1 }, Date.now() % 1_000_000)
  const expected = await serverCounts(url, TOKEN, INTEGRATION)
  const client = { url, token: TOKEN, integration: INTEGRATION }
  const newRows = sum(expected, collections) - sum(before, collections)
  log(`${store}: incremental sync of ${newRows} new rows`)
  const rust = await timed(bin('sync-cli'), ['pull', '--url', url, '--token', TOKEN, '--integration', INTEGRATION,
    '--db', files.rust, '--quiet'], dir)
  const addon = await nodeClient('client-addon.mjs', { ...client, dbPath: files.addon })
  const seeded = await nodeClient('client-seed.mjs', { ...client, dbPath: files.seed })
  const exact = [
    check(`${store} sync-cli incremental`, fileCounts(files.rust, collections), expected, collections),
    check(`${store} addon incremental`, fileCounts(files.addon, collections), expected, collections),
    check(`${store} seed-style incremental`, fileCounts(files.seed, SEED_COLLECTIONS), expected, SEED_COLLECTIONS),
  ]
  results.incremental.push(
    { client: 'Rust engine (sync-cli, whole process)', store, newRows, seconds: rust.seconds, exact: exact[0] },
    { client: 'Node addon (syncAll)', store, newRows, seconds: addon.seconds, exact: exact[1] },
    { client: 'seed-style', store, newRows: sum(expected, SEED_COLLECTIONS) - sum(before, SEED_COLLECTIONS), seconds: seeded.seconds, exact: exact[2] },
  )
}

async function benchStore(store) {
  const dir = path.join(out, store)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const { args: storeArgs, fresh, drop } = await prepareStore(store)
  if (fresh) {
    log(`${store}: seeding ${size.messages} messages`)
    results.seeding.push({ store, seconds: await seed(storeArgs, size, 42) })
  }
  const server = await startChild(bin('server-example'), ['serve', ...storeArgs, '--listen', '127.0.0.1:0',
    '--token', `${TOKEN}=${INTEGRATION}`], / on (http:\/\/\S+)/)
  try {
    const url = server.match[1]
    const expected = await serverCounts(url, TOKEN, INTEGRATION)
    const collections = Object.keys(expected)
    const files = await initialSyncs(store, url, expected, collections, dir)

    // The page at cursor 0 against the last full page of the log (its cursor from the synced file).
    const db = new (await import('./support.mjs')).Database(files.rust, { readonly: true })
    const endCursor = db.prepare('SELECT seq FROM messages ORDER BY seq DESC LIMIT 1 OFFSET ?').get(PAGE).seq
    db.close()
    const start = await pageCost(url, 0)
    const end = await pageCost(url, endCursor)
    results.pageCost.push({ store, startMs: start.ms, startRows: start.rows, startBytes: start.bytes, endMs: end.ms, endRows: end.rows,
      endBytes: end.bytes, endCursor })

    if (store === results.firstStore) await clientSideLimits(files.rust, dir)
    await incremental(store, storeArgs, url, files, expected, collections, dir)
  } finally {
    await server.stop()
    await drop()
  }
}

/** The SQLite limit (indexes kept, then deferred) and PouchDB, from the first store's synced file. */
async function clientSideLimits(rustDb, dir) {
  log('SQLite limit: the same rows in one transaction, no network')
  for (const [label, extra] of [['indexes maintained', []], ['indexes built after the load', ['--defer-indexes']]]) {
    const { stdout } = await run(bin('sqlite-limit'), ['--from', rustDb, '--to', path.join(dir, 'limit.db'), ...extra])
    const limit = JSON.parse(stdout)
    results.runs.push({ client: `SQLite limit (${label})`, store: 'none', rows: limit.rows, seconds: limit.seconds, limit: extra.length ? 'deferred' : 'kept' })
  }
  rmSync(path.join(dir, 'limit.db'), { force: true })
  if (opts['no-pouch']) return
  const docs = Math.min(size.pouchDocs, size.messages)
  log(`PouchDB: serving and replicating ${docs} messages`)
  const pouch = await pouchRun({ clientDb: rustDb, docs, scratch: dir })
  const exact = pouch.docs === docs
  if (!exact) failures.push(`PouchDB: ${pouch.docs} documents replicated, ${docs} served`)
  results.runs.push({ client: 'PouchDB (pouchdb-node 9, batch_size 500)', store: 'pouchdb-server 4.2', rows: docs, ...pouch, exact })
}

const stores = opts.stores.split(',').filter(Boolean)
results.firstStore = stores[0]
for (const store of stores) {
  if (!['sqlite', 'postgres'].includes(store)) throw new Error(`--stores takes sqlite and/or postgres, not ${store}`)
  await benchStore(store)
}
results.finished = new Date().toISOString()
results.failures = failures
const table = markdown(results)
writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
writeFileSync(path.join(out, 'results.md'), table)
console.log(table)
log(`results in ${out}/results.{md,json}`)
if (failures.length) {
  console.error(`NOT EXACT:\n  ${failures.join('\n  ')}`)
  process.exit(1)
}

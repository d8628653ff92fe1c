// Reads the replica with better-sqlite3 in a loop until told to stop. It runs in a process of its own, as another app
// would: better-sqlite3 carries its own copy of SQLite, and two copies of SQLite in one process do not see each other's
// POSIX locks (https://www.sqlite.org/howtocorrupt.html, 2.2), so a reader in the addon's process must use the
// engine's own listRows/query instead.
//
// Each check is one read transaction: for each collection, the number of rows must equal the number of rows at or
// below the collection's cursor in sync_state (no page visible without its cursor, no cursor without its rows).
const Database = require('better-sqlite3')
const { readLoop } = require('./read-loop.cjs')

const { dbPath, integration, collections, expectedMessages } = JSON.parse(process.argv[2])
const db = new Database(dbPath, { readonly: true, fileMustExist: true })
const cursors = db.prepare('SELECT collection, last_seq FROM sync_state WHERE integration_id = ?')
const countStatements = Object.fromEntries(collections.map((c) => [c, db.prepare(
  `SELECT COUNT(*) AS "all", COUNT(*) FILTER (WHERE seq <= ?) AS behind FROM "${c}" WHERE integration_id = ?`)]))

const check = db.transaction(() => {
  const byCollection = new Map(cursors.all(integration).map((r) => [r.collection, r.last_seq]))
  const seen = {}
  for (const c of collections) {
    const cursor = byCollection.get(c) ?? 0
    const { all, behind } = countStatements[c].get(cursor, integration)
    if (all !== behind) throw new Error(`${c}: ${all} rows but ${behind} at or below cursor ${cursor}`)
    seen[c] = all
  }
  return seen
})

let partial = 0
readLoop(() => {
  const seen = check()
  if (seen.messages > 0 && seen.messages < expectedMessages) partial++
  return seen
}, (last, checks) => ({ checks, partial, last }))

// Typed access for an Electron app's own queries: seqsync-drizzle generates the Drizzle schema from the server's
// sync schema, tsc --strict compiles it, and another process reads the replica through it with drizzle-orm +
// better-sqlite3 while a sync writes the file.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { cleanup, counts, forkReader, loadPackage, packageDir, repoDir, seed, serverStatus, startServer, tempDir }
  from './support.mjs'

const { SyncEngine, drizzleSchema } = loadPackage()
const TOKEN = 'secret'
const INTEGRATION = 'wa-drizzle'
let dir, build, server, expected

before(async () => {
  dir = tempDir()
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 200, messages: 20_000, contacts: 100 })
  server = await startServer(db, { [TOKEN]: INTEGRATION })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
  // Inside the repository (target/tmp), so that the compiled schema resolves drizzle-orm from its node_modules.
  const tmp = path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoDir, 'target'), 'tmp')
  mkdirSync(tmp, { recursive: true })
  build = mkdtempSync(path.join(tmp, 'drizzle-'))
})

after(async () => {
  await server?.stop()
  cleanup(dir)
  if (build) cleanup(build)
})

/** seqsync-drizzle against the server, then tsc --strict: the generated file type-checks and compiles to CJS. */
function generateAndCompile() {
  const schemaTs = path.join(build, 'schema.ts')
  execFileSync(process.execPath, [path.join(packageDir, 'bin', 'seqsync-drizzle.js'), '--url', server.url,
    '--token', TOKEN, '--out', schemaTs])
  writeFileSync(path.join(build, 'package.json'), '{ "type": "commonjs" }\n')
  execFileSync(path.join(repoDir, 'node_modules', '.bin', 'tsc'), ['--strict', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--outDir', build, schemaTs],
  { encoding: 'utf8' })
  return path.join(build, 'schema.js')
}

test('the generated schema compiles under tsc --strict and drizzle reads the replica in another process during a sync',
  async () => {
    const schemaJs = generateAndCompile()
    const dbPath = path.join(dir, 'client.db')
    const engine = await SyncEngine.open({ dbPath, serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION,
      pageSizes: { messages: 500 }, commitRows: 2000 })
    // The engine creates the file and its tables before another library opens it.
    await engine.syncCollection('conversations')
    const reader = forkReader(fileURLToPath(new URL('./drizzle-reader.cjs', import.meta.url)),
      { dbPath, schemaJs, integration: INTEGRATION, expectedMessages: expected.messages })
    assert.deepEqual(await reader.next(), { ready: true })
    await engine.syncAll()
    reader.child.send('stop')
    const seen = await reader.next()
    await engine.close()

    assert.equal(seen.error, undefined, seen.error)
    assert.equal(seen.messages, expected.messages, 'drizzle sees every message at the end')
    assert.equal(seen.conversations, expected.conversations)
    assert.deepEqual(seen.types, { lastMessageAt: true, archived: 'boolean' })
    assert.ok(seen.partial > 0, `drizzle read the messages part way (${seen.reads} reads)`)
  })

test('drizzleSchema refuses a schema it cannot translate, naming the part', () => {
  assert.throws(() => drizzleSchema({ collections: [{ name: 'notes', columns: [{ name: 'x', type: 'blob' }] }] }),
    /notes\.x has the unknown type "blob"/)
  assert.throws(() => drizzleSchema({ collections: [{ name: "x'); drop", columns: [] }] }), /not a schema name/)
  assert.throws(() => drizzleSchema('{}'), /collections/)
})

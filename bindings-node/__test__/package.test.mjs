// The npm package as a user installs it: `npm pack` of @seqsync/node and of its linux-x64-gnu platform package
// (npm/linux-x64-gnu, the napi-rs layout: the addon ships in a per-platform package), both installed into a fresh
// project in a temporary folder outside the repository; a TypeScript program type-checks with `tsc --strict` and
// runs against the real server, and so do a CommonJS `require` and an ESM `import`; its `seqsync-drizzle` command
// works.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { cleanup, counts, loadPackage, packageDir, seed, serverStatus, startServer, tempDir } from './support.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const PLATFORM = 'linux-x64-gnu'
const TOKEN = 'secret'
const INTEGRATION = 'wa-pkg'
let dir, app, server, expected

const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'],
  { cwd, encoding: 'utf8' })
/** Packs `from` into `into` and returns the tarball's path. */
const pack = (from, into) => path.join(into, npm(['pack', '--pack-destination', into], from).trim().split('\n').pop())
const run = (file, db) => {
  const result = spawnSync('node', [file, server.url, TOKEN, INTEGRATION, path.join(dir, db)], { cwd: app, encoding: 'utf8' })
  assert.equal(result.status, 0, `${file}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

before(async () => {
  dir = tempDir('seqsync-npm-')
  seed(path.join(dir, 'server.db'), INTEGRATION, { conversations: 4, messages: 300, contacts: 4 })
  server = await startServer(path.join(dir, 'server.db'), { [TOKEN]: INTEGRATION })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))

  loadPackage() // builds the addon if missing
  const addon = `seqsync.${PLATFORM}.node`
  const platformDir = path.join(dir, PLATFORM)
  cpSync(path.join(packageDir, 'npm', PLATFORM), platformDir, { recursive: true })
  copyFileSync(path.join(packageDir, addon), path.join(platformDir, addon))
  const tarballs = [pack(packageDir, dir), pack(platformDir, dir)]

  app = path.join(dir, 'app')
  cpSync(path.join(here, 'package-app'), app, { recursive: true })
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  // TypeScript and Node's types from the registry, as a user would (npm's cache makes later runs quick).
  npm(['install', '--prefer-offline', ...tarballs, 'typescript@5', '@types/node@20'], app)
})

after(async () => {
  await server?.stop()
  cleanup(dir)
})

test('the main package carries no addon: it loads the one of the platform package', () => {
  const installed = path.join(app, 'node_modules', '@seqsync')
  assert.deepEqual(readdirSync(path.join(installed, 'node')).filter((f) => f.endsWith('.node')), [])
  assert.ok(existsSync(path.join(installed, `node-${PLATFORM}`, `seqsync.${PLATFORM}.node`)))
})

test('a TypeScript program type-checks with tsc --strict and syncs the server', () => {
  execFileSync(path.join(app, 'node_modules', '.bin', 'tsc'), ['-p', app], { encoding: 'utf8' })
  const out = run('dist/main.js', 'ts.db')
  assert.deepEqual(out.counts, expected)
  assert.equal(out.rows, Object.values(expected).reduce((a, b) => a + b))
  assert.equal(out.stages.at(-1), 'finished')
  assert.ok(out.firstChatMessages > 0)
  assert.deepEqual(out.writes, { op: 'update', pending: ['pending'], outcomes: ['applied'] })
  assert.deepEqual(out.media, { inFolder: true, state: 'done', done: 1, progress: true })
})

test('wrong usage fails to type-check', () => {
  const result = spawnSync(path.join(app, 'node_modules', '.bin', 'tsc'),
    ['--strict', '--noEmit', '--types', 'node', path.join(app, 'wrong.ts')], { cwd: app, encoding: 'utf8' })
  assert.notEqual(result.status, 0)
  assert.match(result.stdout, /onProgres/)
  assert.match(result.stdout, /not assignable/)
  assert.match(result.stdout, /"upsert"/)
})

test('CommonJS require and ESM import of the installed package', () => {
  const total = Object.values(expected).reduce((a, b) => a + b)
  assert.equal(run('main.cjs', 'cjs.db').rows, total)
  assert.equal(run('main.mjs', 'esm.db').rows, total)
})

test('the installed seqsync-drizzle command writes the Drizzle schema of the server', () => {
  const bin = path.join(app, 'node_modules', '.bin', 'seqsync-drizzle')
  const source = execFileSync(bin, ['--url', server.url, '--token', TOKEN], { cwd: app, encoding: 'utf8' })
  for (const collection of Object.keys(expected)) {
    assert.match(source, new RegExp(`^export const \\w+ = sqliteTable\\('${collection}', \\{$`, 'm'))
  }
})

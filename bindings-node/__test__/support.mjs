// Test support: the real addon (built with the napi CLI if missing), the real server-example binary (built with cargo
// if missing), seeded into a temporary directory and served on loopback as a child process.
import { fork, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const packageDir = path.resolve(here, '..')
export const repoDir = path.resolve(packageDir, '..')
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(repoDir, 'target')
// SEQSYNC_PROFILE: the cargo profile folder whose binaries the tests run (scripts/test.sh runs them on its debug
// build, to compile the workspace once; `release` when unset).
const profile = process.env.SEQSYNC_PROFILE ?? 'release'
export const serverBinary = path.join(targetDir, profile, 'server-example')

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] })
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with ${result.status}`)
}

/** The package as a user gets it: sync.js over the addon built for this platform. */
export function loadPackage() {
  if (!readdirSync(packageDir).some((f) => f.endsWith('.node'))) {
    run('npm', ['run', 'build'], packageDir)
  }
  return createRequire(import.meta.url)(path.join(packageDir, 'sync.js'))
}

function ensureServer() {
  if (!existsSync(serverBinary)) run('cargo', ['build', ...(profile === 'release' ? ['--release'] : []), '-p', 'server-example'], repoDir)
}

export function tempDir(prefix = 'seqsync-node-') {
  return mkdtempSync(path.join(tmpdir(), prefix))
}

/** Generates an integration into a server database with `server-example seed`. */
export function seed(db, integration, { conversations, messages, contacts }) {
  ensureServer()
  const args = ['seed', '--db', db, '--integration', integration, '--conversations', String(conversations),
    '--messages', String(messages), '--contacts', String(contacts)]
  const result = spawnSync(serverBinary, args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`seed failed: ${result.stderr}`)
}

/**
 * `server-example serve` on 127.0.0.1:0 (or `listen`, e.g. the address of a server stopped before, to restart it
 * where its clients expect it) as a child process; resolves once it prints its URL.
 * tokens: { token: 'integration' }, tokens that may read and write.
 */
export async function startServer(db, tokens, { listen = '127.0.0.1:0' } = {}) {
  ensureServer()
  const args = ['serve', '--db', db, '--listen', listen]
  for (const [token, integration] of Object.entries(tokens)) args.push('--token', `${token}=${integration}`)
  const child = spawn(serverBinary, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = out.match(/ on (http:\/\/\S+)/)
      if (match) resolve(match[1])
    })
    child.on('exit', (code) => reject(new Error(`server-example serve exited with ${code}: ${out}`)))
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  return {
    url,
    stopped: false,
    async stop() {
      child.kill('SIGTERM')
      await exited
      this.stopped = true
    },
  }
}

/** The server's `/sync/status/{id}`: `{ latest_seq, collections: { name: { latest_seq, count } } }`. */
export async function serverStatus(url, token, integration) {
  const response = await fetch(`${url}/sync/status/${integration}`, { headers: { authorization: `Bearer ${token}` } })
  if (!response.ok) throw new Error(`status: HTTP ${response.status}`)
  return response.json()
}

export function counts(status) {
  return Object.fromEntries(Object.entries(status.collections).map(([name, c]) => [name, c.count]))
}

/** Resolves once `predicate()` holds (checked every 10 ms), rejects after `timeoutMs`. */
export function until(predicate, what, timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const check = setInterval(() => {
      if (predicate()) { clearInterval(check); resolve() }
      else if (Date.now() - started > timeoutMs) { clearInterval(check); reject(new Error(`timed out waiting for ${what}`)) }
    }, 10)
  })
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true })
}

/** A reader script forked with `arg` (JSON): `next()` resolves with its next message, in order. */
export function forkReader(script, arg) {
  const child = fork(script, [JSON.stringify(arg)])
  const messages = []
  const waiters = []
  child.on('message', (m) => (waiters.length ? waiters.shift()(m) : messages.push(m)))
  const next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiters.push(resolve)))
  return { child, next }
}

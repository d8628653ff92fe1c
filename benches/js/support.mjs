// The harness's plumbing: child processes (the server, the clients), their timings and peak memory, and the
// server's status. Every client runs in a process of its own so its peak RSS is its own.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const here = path.dirname(fileURLToPath(import.meta.url))
export const repoDir = path.resolve(here, '..', '..')
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(repoDir, 'target')
// SEQSYNC_PROFILE: the cargo profile folder of the binaries (`release` for measurements; scripts/test.sh's smoke run
// uses its debug build).
export const bin = (name) => path.join(targetDir, process.env.SEQSYNC_PROFILE ?? 'release', name)
// better-sqlite3 comes from the root npm workspace (the seed-style client's dependency).
export const Database = createRequire(path.join(repoDir, 'package.json'))('better-sqlite3')

/** Runs a command to its end; resolves { stdout, stderr }; rejects with its stderr when it fails. */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code === 0) resolve({ stdout, stderr })
      else {
        // The head says what failed (a backtrace may follow it), the tail where.
        const said = stderr.length > 3000 ? `${stderr.slice(0, 1500)}\n…\n${stderr.slice(-1500)}` : stderr
        reject(new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}:\n${said}`))
      }
    })
  })
}

/** Runs a command under GNU time: resolves { seconds, maxRssMb, stdout }. */
export async function timed(command, args, scratch) {
  const file = path.join(scratch, `time-${process.hrtime.bigint()}.txt`)
  const { stdout } = await run('/usr/bin/time', ['-f', '%e %M', '-o', file, command, ...args])
  const [seconds, kib] = readFileSync(file, 'utf8').trim().split('\n').at(-1).split(' ').map(Number)
  return { seconds, maxRssMb: kib / 1024, stdout }
}

/** Runs one of the harness's Node client scripts; it prints one JSON line, returned parsed. */
export async function nodeClient(script, options) {
  const { stdout } = await run(process.execPath, [path.join(here, script), JSON.stringify(options)])
  return JSON.parse(stdout.trim().split('\n').at(-1))
}

/** Starts a long-running child that prints `pattern` once ready; resolves { match, stop }. */
export function startChild(command, args, pattern, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  let out = ''
  const exited = new Promise((resolve) => child.on('exit', resolve))
  return new Promise((resolve, reject) => {
    const look = (chunk) => {
      out += chunk
      const match = out.match(pattern)
      if (match) {
        child.stdout.off('data', look)
        child.stderr.off('data', look)
        resolve({ match, pid: child.pid, async stop() { child.kill('SIGTERM'); await exited } })
      }
    }
    child.stdout.on('data', look)
    child.stderr.on('data', look)
    child.on('exit', (code) => reject(new Error(`${path.basename(command)} exited with ${code} before it was ready:\n${out.slice(-2000)}`)))
  })
}

/** The server's `/sync/status/{id}` as { collection: live row count }. */
export async function serverCounts(url, token, integration) {
  const response = await fetch(`${url}/sync/status/${integration}`, { headers: { authorization: `Bearer ${token}` } })
  if (!response.ok) throw new Error(`GET /sync/status/${integration}: HTTP ${response.status}`)
  const status = await response.json()
  return Object.fromEntries(Object.entries(status.collections).map(([name, c]) => [name, c.count]))
}

/** Row counts of `collections` in a client's SQLite file. */
export function fileCounts(dbPath, collections) {
  const db = new Database(dbPath, { readonly: true })
  try {
    const counts = {}
    for (const c of collections) counts[c] = db.prepare(`SELECT COUNT(*) AS n FROM "${c}"`).get().n
    return counts
  } finally {
    db.close()
  }
}

/** Event-loop delay of this process while `work` runs: { p50, p99, max } in ms. */
export async function withLoopDelay(work) {
  const { monitorEventLoopDelay } = await import('node:perf_hooks')
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const started = performance.now()
  const result = await work()
  const seconds = (performance.now() - started) / 1000
  histogram.disable()
  const ms = (ns) => ns / 1e6
  return { result, seconds, loop: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) } }
}

/** Peak RSS of this process so far, MB. */
export const maxRssMb = () => process.resourceUsage().maxRSS / 1024

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

// One sync through the Node addon, for the crash trials: node pull.cjs DB URL TOKEN INTEGRATION [collection=rows,...]
// Exits 0 when the sync ends, 1 with the error's code and message otherwise.
const path = require('node:path')
const { SyncEngine } = require(path.join(__dirname, '..', '..', 'bindings-node'))

async function main() {
  const [dbPath, serverUrl, token, integrationId, sizes = ''] = process.argv.slice(2)
  const pageSizes = Object.fromEntries(sizes.split(',').filter(Boolean).map((s) => {
    const [name, rows] = s.split('=')
    return [name, Number(rows)]
  }))
  const engine = await SyncEngine.open({ dbPath, serverUrl, token, integrationId, pageSizes })
  try {
    await engine.syncAll()
  } finally {
    await engine.close()
  }
}

main().catch((e) => {
  console.error(`${e.code ?? 'error'}: ${e.message}`)
  process.exit(1)
})

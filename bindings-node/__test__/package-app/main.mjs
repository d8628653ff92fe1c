// ESM: `import` of the installed (CommonJS) package, named export and default. Arguments: url token integration db.
import seqsync, { SyncEngine } from '@seqsync/node'

const [serverUrl, token, integrationId, dbPath] = process.argv.slice(2)
if (seqsync.SyncEngine !== SyncEngine) throw new Error('the default export differs from the named one')
const engine = await SyncEngine.open({ dbPath, serverUrl, token, integrationId })
const report = await engine.syncAll()
await engine.close()
console.log(JSON.stringify({ rows: report.rows }))

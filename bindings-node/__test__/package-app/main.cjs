// CommonJS: `require` of the installed package. Arguments: url token integration db; prints the synced rows.
const { SyncEngine } = require('@seqsync/node')

const [serverUrl, token, integrationId, dbPath] = process.argv.slice(2)
SyncEngine.open({ dbPath, serverUrl, token, integrationId })
  .then(async (engine) => {
    const report = await engine.syncAll()
    await engine.close()
    console.log(JSON.stringify({ rows: report.rows }))
  })
  .catch((error) => {
    console.error(error.code, error.message)
    process.exit(1)
  })

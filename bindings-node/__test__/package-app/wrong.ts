// Must NOT type-check: a misspelt option and a wrong parameter type. Proves the package's types reach the user.
import { SyncEngine } from '@seqsync/node'

export async function wrong(engine: SyncEngine): Promise<void> {
  await engine.syncAll({ onProgres: () => {} })
  await engine.query('SELECT 1', [{ not: 'a value' }])
}

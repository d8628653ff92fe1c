// Must NOT type-check: a misspelt option, a wrong parameter type and an unknown write op. Proves the package's types reach the user.
import { SyncEngine } from '@seqsync/node'

export async function wrong(engine: SyncEngine): Promise<void> {
  await engine.syncAll({ onProgres: () => {} })
  await engine.query('SELECT 1', [{ not: 'a value' }])
  await engine.mutate({ collection: 'messages', id: 'm1', op: 'upsert' })
}

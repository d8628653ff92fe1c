// A user's TypeScript program over the installed package (type-checked with `tsc --strict`, then run): the
// documented API end to end. Prints the report and the stats as JSON. Arguments: url token integration db.
import {
  SyncEngine, type MediaEvent, type MediaItem, type MediaTotals, type Mutation, type PendingWriteInfo, type SyncProgress,
  type WriteOutcome,
} from '@seqsync/node'

async function main(): Promise<void> {
  const [serverUrl, token, integrationId, dbPath] = process.argv.slice(2)
  const engine = await SyncEngine.open({ dbPath, serverUrl, token, integrationId })
  const stages: string[] = []
  const report = await engine.syncAll({ onProgress: (p: SyncProgress) => stages.push(p.stage) })
  const stats = await engine.stats()
  const chats = await engine.listRows('conversations', { orderBy: 'last_message_at', descending: true, limit: 5 })
  const { rows } = await engine.query('SELECT COUNT(*) FROM messages WHERE conversation_id = ?', [String(chats[0].id)])
  // A local write (archive the chat), pending until the next sync pushes it.
  const written: Mutation = await engine.mutate({ collection: 'conversations', id: String(chats[0].id), op: 'update', fields: { archived: true } })
  const pending: PendingWriteInfo[] = await engine.pendingWrites()
  const outcomes: Array<WriteOutcome['status']> = []
  await engine.syncAll({ onWrite: (o: WriteOutcome) => outcomes.push(o.status) })
  // The media queue in a folder of our own: one media row of the replica downloaded, its events heard.
  const folder: string = await engine.media.configure({ targetDir: `${dbPath}-media`, autoDownload: [] })
  const kinds = new Set<MediaEvent['kind']>()
  await engine.media.onEvent((e: MediaEvent) => kinds.add(e.kind))
  const [[mediaId]] = (await engine.query('SELECT id FROM message_media LIMIT 1')).rows
  let item: MediaItem | null = await engine.media.download(String(mediaId), { priority: 5 })
  while (item?.state !== 'done' && item?.state !== 'failed') {
    await new Promise((resolve) => setTimeout(resolve, 20))
    item = await engine.media.item(String(mediaId))
  }
  // Events reach the event loop a moment after the queue records them.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const totals: MediaTotals = await engine.media.totals()
  const media = { inFolder: folder === `${dbPath}-media` && item.path?.startsWith(folder), state: item.state, done: totals.done, progress: kinds.has('progress') }
  await engine.close()
  const writes = { op: written.op, pending: pending.map((w) => w.state), outcomes }
  console.log(JSON.stringify({ rows: report.rows, counts: stats.counts, stages, firstChatMessages: rows[0][0], writes, media }))
}

main().catch((error: Error & { code?: string }) => {
  console.error(error.code, error.message)
  process.exit(1)
})

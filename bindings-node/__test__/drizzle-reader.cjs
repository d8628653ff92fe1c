// Reads the replica with drizzle-orm over better-sqlite3, through the schema seqsync-drizzle generated (compiled by
// the test), in a loop until told to stop: what an Electron app's own queries do, in a process of their own (see
// consistency-reader.cjs for why never in the addon's process). Each read is one transaction.
const Database = require('better-sqlite3')
const { drizzle } = require('drizzle-orm/better-sqlite3')
const { count, desc, eq } = require('drizzle-orm')
const { readLoop } = require('./read-loop.cjs')

const { dbPath, schemaJs, integration, expectedMessages } = JSON.parse(process.argv[2])
const { conversations, messages } = require(schemaJs)
const sqlite = new Database(dbPath, { readonly: true, fileMustExist: true })
const db = drizzle(sqlite)

const read = sqlite.transaction(() => ({
  messages: db.select({ n: count() }).from(messages).where(eq(messages.integrationId, integration)).get().n,
  conversations: db.select({ n: count() }).from(conversations).get().n,
  latest: db.select().from(conversations).orderBy(desc(conversations.lastMessageAt)).limit(1).get(),
}))

let partial = 0
readLoop(() => {
  const seen = read()
  if (seen.messages > 0 && seen.messages < expectedMessages) partial++
  return seen
}, ({ messages: m, conversations: c, latest }, reads) => ({
  reads, partial, messages: m, conversations: c,
  // The typed columns as drizzle maps them: a timestamp is a Date, a boolean a boolean.
  types: { lastMessageAt: latest.lastMessageAt instanceof Date, archived: typeof latest.archived },
}))

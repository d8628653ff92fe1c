import type {
  AutoDownloadRule,
  CollectionState,
  DatabaseStats,
  ListRowsOptions,
  MediaEvent,
  MediaItem,
  MediaSettings,
  MediaTotals,
  Mutation,
  OpenOptions,
  PendingWriteInfo,
  QueryRows,
  RecentFirstEvent,
  RowChanges,
  SearchHit,
  SearchOptions,
  SubscriptionInfo,
  SyncProgress,
  SyncResult,
  WriteInput,
  WriteOutcome,
} from './index'

export type {
  AutoDownloadRule, CollectionState, DatabaseStats, ListRowsOptions, MediaEvent, MediaItem, MediaSettings, MediaTotals,
  Mutation, OpenOptions, PendingWriteInfo, QueryRows, RowChanges,
  SearchHit, SearchOptions, SyncProgress, SyncResult, WriteInput, WriteOutcome, RecentFirstEvent, SubscriptionInfo,
}

/** Options of one sync. */
export interface SyncCallOptions {
  /** Called on the JavaScript thread with throttled progress events; keep it short. */
  onProgress?: (progress: SyncProgress) => void
  /** Aborting it cancels the sync between pages: the promise rejects with code `cancelled`, what was applied stays. */
  signal?: AbortSignal
  /** Called on the JavaScript thread with the outcome of each local write this sync pushes (it pushes first). */
  onWrite?: (outcome: WriteOutcome) => void
}

/** Options of `follow`. */
export interface FollowOptions {
  /** Called on the JavaScript thread after each local transaction that changed rows; keep it short. */
  onChange?: (change: RowChanges) => void
  /**
   * Called on the JavaScript thread with the outcome of each local write `follow` pushes (it pushes a few ms
   * after each `mutate`, and on reconnect): `applied` with the server's `seq` ("sent"), or `rejected` with `code`
   * and `message` (the row was rolled back to the server's version).
   */
  onWrite?: (outcome: WriteOutcome) => void
  /** Aborting it stops following: the promise resolves. */
  signal?: AbortSignal
  /** How long one long-poll waits for a change before asking again, in ms. Default: 25,000. */
  waitMs?: number
}

/**
 * The media download queue of an engine (`engine.media`): persistent in the replica file, resumable (`Range`),
 * verified (size and SHA-256 of the media row), at most `concurrency` downloads at once, highest priority first.
 * It opens on first use with the default settings (the user's Downloads folder) or on `configure`.
 */
export interface MediaQueue {
  /** Opens the queue with these settings (replacing earlier ones) and starts downloading; resolves with the folder. */
  configure(settings?: MediaSettings): Promise<string>
  /** Sends every later event (per-item `progress` throttled like sync progress, `state`, `totals`) to `listener`. */
  onEvent(listener: ((event: MediaEvent) => void) | null): Promise<void>
  /** Queues a synced media row (`not_found` when the replica has none); default priority 10 (auto-downloads: 0). */
  download(mediaId: string, options?: { priority?: number }): Promise<MediaItem>
  /** Stops an item, keeping its partial file (`not_found` when it is not in the queue). */
  pause(mediaId: string): Promise<MediaItem>
  /** Queues a paused or failed item again; it continues from its partial file. */
  resume(mediaId: string): Promise<MediaItem>
  /** Stops an item for good and removes its partial file. */
  cancel(mediaId: string): Promise<MediaItem>
  /** Gives a waiting item a new priority (higher starts first). */
  prioritize(mediaId: string, priority: number): Promise<MediaItem>
  /** Gives every waiting item of a conversation a new priority; resolves with how many. */
  prioritizeConversation(conversationId: string, priority: number): Promise<number>
  /** One item, or null when it is not in the queue. */
  item(mediaId: string): Promise<MediaItem | null>
  /** The integration's items, in the order they would start. */
  list(): Promise<MediaItem[]>
  /** Items per state, and the bytes of the unfinished ones. */
  totals(): Promise<MediaTotals>
  /** Applies the auto-download policy and the server's media changes now (every sync does it once the queue is open). */
  reconcile(): Promise<string[]>
}

/**
 * Failures reject with an `Error` whose `code` is one of these, and whose message says what went wrong and what to do.
 */
export type SyncErrorCode =
  | 'network' | 'timeout' | 'unauthorized' | 'forbidden' | 'not_found' | 'bad_request' | 'rate_limited'
  | 'server' | 'resync_required' | 'protocol' | 'bad_page' | 'store' | 'schema' | 'cancelled'
  | 'invalid_query' | 'invalid_write' | 'invalid_argument' | 'closed' | 'internal'

/** Keeps an SQLite replica of one integration in sync with a seqsync server. Work runs off the event loop. */
export declare class SyncEngine {
  private constructor()
  /** Opens (creating if needed) the database file; nothing is fetched until a sync. */
  static open(options: OpenOptions): Promise<SyncEngine>
  /** Pushes the local writes, then syncs every collection, in schema order, until each is up to date. */
  syncAll(options?: SyncCallOptions): Promise<SyncResult>
  /** Syncs one collection until it is up to date. */
  syncCollection(collection: string, options?: SyncCallOptions): Promise<SyncResult>
  /**
   * Keeps the database following the server live (long-polls; reconnects with backoff; resumes from the cursor).
   * Resolves when `signal` aborts or on `close()`; rejects only on what retrying cannot fix (`unauthorized`,
   * `forbidden`, `store`).
   */
  follow(options?: FollowOptions): Promise<void>
  /** Row counts per collection, file size and path. */
  stats(): Promise<DatabaseStats>
  /** The cursor of every collection that has one. */
  syncState(): Promise<CollectionState[]>
  /** Deletes the integration's rows and cursors: the next sync starts from scratch. */
  reset(): Promise<void>
  /** A page of rows of a collection (`id`, `seq`, then the columns), filtered and sorted; on a reader connection. */
  listRows(collection: string, options?: ListRowsOptions): Promise<Array<Record<string, unknown>>>
  /** One read-only SQL statement with `?` parameters; anything but a read rejects with `invalid_query`. */
  query(sql: string, params?: Array<null | boolean | number | string>): Promise<QueryRows>
  /**
   * The rows whose full-text columns match `query`, newest first (`order: 'relevance'`: best first), each with a snippet whose matches are marked
   * (`<mark>…</mark>` around text escaped for HTML, by default). Any text is a valid query in the default `plain`
   * mode; `prefix` also matches the last word's start; a bad `advanced` (FTS5 syntax) query rejects with
   * `invalid_query`.
   */
  search(query: string, options?: SearchOptions): Promise<SearchHit[]>
  /**
   * Writes a row locally at once, offline too (the replica and `listRows` show it now), and queues it for the next
   * push (`syncAll`, `syncCollection` and `follow` push). `update` changes only the given fields. Rejects with
   * `invalid_write`, writing nothing, for an unknown or read-only collection, an unknown field or a wrong type.
   */
  mutate(write: WriteInput): Promise<Mutation>
  /** Local writes not settled yet, oldest first: `pending` ("sending…") or `acknowledged` ("sent"). */
  pendingWrites(): Promise<PendingWriteInfo[]>
  /** The media download queue. */
  readonly media: MediaQueue
  /** What the engine replicates: everything (the default) or its subscribed conversations. */
  subscription(): Promise<SubscriptionInfo>
  /**
   * Subscribes to conversations (filter values): the next sync fetches only their rows (messages, media,
   * participants) and pulls the others on. From everything (the default) the others' rows are evicted and the
   * chosen ones kept, fetched again never.
   */
  subscribe(values: string[]): Promise<SubscriptionInfo>
  /** Unsubscribes: their rows are evicted now. One not subscribed rejects with `invalid_argument`. */
  unsubscribe(values: string[]): Promise<SubscriptionInfo>
  /** Archives subscribed conversations: their rows stay (readable, searchable), frozen; syncs skip them. */
  archive(values: string[]): Promise<SubscriptionInfo>
  /** Unarchives: the next sync catches them up from where they stopped. */
  unarchive(values: string[]): Promise<SubscriptionInfo>
  /** Back to every conversation: the filtered rows are deleted now and the next sync pulls them whole. */
  subscribeEverything(): Promise<SubscriptionInfo>
  /**
   * Syncs recent first: conversations and contacts, then `onEvent({ kind: 'chat_list_ready' })`; the newest
   * `perValue` (default 50) messages of each conversation, newest conversation first, each followed by
   * `head_landed`; then everything (ending as exact as `syncAll`), with conversations passed to `prioritize`
   * pulled whole first (`history_landed`).
   */
  syncRecentFirst(options?: { perValue?: number, onEvent?: (event: RecentFirstEvent) => void, signal?: AbortSignal }): Promise<SyncResult>
  /** Moves a conversation's history (one the user opened) to the front of the recent-first backfill. */
  prioritize(value: string): void
  /** Cancels running syncs and closes the file. Later calls reject with `closed`. */
  close(): Promise<void>
  readonly closed: boolean
}

/**
 * The Drizzle ORM schema (TypeScript source) of a sync schema (an object or its JSON text, as the server's
 * `GET /schema` serves it): one `sqliteTable` per collection with the implicit `id`, `integrationId` and `seq`
 * columns, booleans in `boolean` mode, timestamps in `timestamp_ms` mode and JSON in `json` mode, and each row type.
 * For reads in another process (drizzle-orm + better-sqlite3); the command `seqsync-drizzle` writes it to a file.
 * Throws a TypeError for a schema it cannot translate.
 */
export declare function drizzleSchema(schema: object | string): string

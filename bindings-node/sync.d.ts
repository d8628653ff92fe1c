import type {
  CollectionState,
  DatabaseStats,
  ListRowsOptions,
  Mutation,
  OpenOptions,
  PendingWriteInfo,
  QueryRows,
  RowChanges,
  SearchHit,
  SearchOptions,
  SyncProgress,
  SyncResult,
  WriteInput,
  WriteOutcome,
} from './index'

export type {
  CollectionState, DatabaseStats, ListRowsOptions, Mutation, OpenOptions, PendingWriteInfo, QueryRows, RowChanges,
  SearchHit, SearchOptions, SyncProgress, SyncResult, WriteInput, WriteOutcome,
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

//! The queue table in the replica's SQLite file, behind one connection of its own.
//!
//! Calls are blocking (SQLite); the downloader makes them from `spawn_blocking`. The connection waits up to
//! 5 s for the sync's write lock, which a held initial-sync transaction keeps for up to 2 s.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::downloader::Reconciled;
use crate::error::{Failure, MediaError};
use crate::item::{ItemState, MediaItem, MediaRecord, QueueTotals};
use crate::options::{AutoDownload, MediaColumns};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS media_downloads (
    scope TEXT NOT NULL,
    media_id TEXT NOT NULL,
    file_name TEXT,
    mime_type TEXT,
    size INTEGER,
    sha256 TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    hash_mismatches INTEGER NOT NULL DEFAULT 0,
    requested_bytes INTEGER NOT NULL DEFAULT 0,
    resumed_bytes INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    last_error TEXT,
    etag TEXT,
    path TEXT,
    not_before INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, media_id)
);
CREATE INDEX IF NOT EXISTS media_downloads_next ON media_downloads (state, priority DESC, created_at);
";

const COLUMNS: &str = "scope, media_id, file_name, mime_type, size, sha256, priority, state, bytes, attempts, \
                       error_code, last_error, path, requested_bytes, resumed_bytes";

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn item(row: &Row<'_>) -> rusqlite::Result<MediaItem> {
    Ok(MediaItem {
        scope: row.get(0)?,
        media_id: row.get(1)?,
        record: MediaRecord {
            file_name: row.get(2)?,
            mime_type: row.get(3)?,
            size: row.get::<_, Option<i64>>(4)?.map(|n| n.max(0) as u64),
            sha256: row.get(5)?,
        },
        priority: row.get(6)?,
        state: ItemState::parse(&row.get::<_, String>(7)?),
        bytes: row.get::<_, i64>(8)?.max(0) as u64,
        attempts: row.get::<_, i64>(9)?.max(0) as u32,
        error_code: row.get(10)?,
        last_error: row.get(11)?,
        path: row.get::<_, Option<String>>(12)?.map(Into::into),
        requested_bytes: row.get::<_, i64>(13)?.max(0) as u64,
        resumed_bytes: row.get::<_, i64>(14)?.max(0) as u64,
    })
}

/// The queue: one connection to the replica file.
pub(crate) struct Queue {
    conn: Mutex<Connection>,
    columns: MediaColumns,
}

impl Queue {
    /// Opens the replica file, creates the table, and puts back in the queue what a crash left downloading.
    pub(crate) fn open(path: &Path, columns: MediaColumns) -> Result<Queue, MediaError> {
        let fail = |source| MediaError::Open { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        // The replica is in WAL mode already when the sync opened it first; a queue opened first sets it.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)).map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        conn.execute("UPDATE media_downloads SET state = 'queued' WHERE state = 'downloading'", []).map_err(fail)?;
        Ok(Queue { conn: Mutex::new(conn), columns })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, MediaError> {
        // A panic while holding the lock leaves a connection SQLite has already rolled back: still usable.
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(f(&conn)?)
    }

    /// The replica's media row `media_id` of `scope`, if any.
    pub(crate) fn record(&self, scope: &str, media_id: &str) -> Result<Option<MediaRecord>, MediaError> {
        let c = &self.columns;
        let sql = format!(
            "SELECT {}, {}, {}, {} FROM {} WHERE integration_id = ?1 AND id = ?2",
            quote(&c.file_name),
            quote(&c.mime_type),
            quote(&c.size),
            quote(&c.sha256),
            quote(&c.collection)
        );
        self.with(|conn| {
            conn.query_row(&sql, params![scope, media_id], |row| {
                Ok(MediaRecord {
                    file_name: row.get(0)?,
                    mime_type: row.get(1)?,
                    size: row.get::<_, Option<i64>>(2)?.map(|n| n.max(0) as u64),
                    sha256: row.get::<_, Option<String>>(3)?.map(|s| s.to_ascii_lowercase()),
                })
            })
            .optional()
        })
    }

    /// Queues `media_id` (again, when it failed or was cancelled; a new priority when it waits). A finished
    /// item stays finished. Returns whether it is now waiting.
    pub(crate) fn enqueue(
        &self,
        scope: &str,
        media_id: &str,
        record: &MediaRecord,
        priority: i64,
    ) -> Result<bool, MediaError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO media_downloads (scope, media_id, file_name, mime_type, size, sha256, priority, state, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8)
                 ON CONFLICT (scope, media_id) DO UPDATE SET priority = excluded.priority,
                   state = CASE WHEN state IN ('failed', 'cancelled') THEN 'queued' ELSE state END,
                   attempts = CASE WHEN state IN ('failed', 'cancelled') THEN 0 ELSE attempts END,
                   hash_mismatches = CASE WHEN state IN ('failed', 'cancelled') THEN 0 ELSE hash_mismatches END,
                   not_before = 0",
                params![
                    scope,
                    media_id,
                    record.file_name,
                    record.mime_type,
                    record.size.map(|n| n as i64),
                    record.sha256,
                    priority,
                    now_ms()
                ],
            )?;
            conn.query_row(
                "SELECT state = 'queued' FROM media_downloads WHERE scope = ?1 AND media_id = ?2",
                params![scope, media_id],
                |row| row.get(0),
            )
        })
    }

    /// Claims the next item ready to start (highest priority, then oldest), marking it downloading; or says
    /// when the earliest waiting one will be ready.
    pub(crate) fn claim_next(&self) -> Result<Result<MediaItem, Option<i64>>, MediaError> {
        let now = now_ms();
        self.with(|conn| {
            let next = conn
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM media_downloads WHERE state = 'queued' AND not_before <= ?1 \
                         ORDER BY priority DESC, created_at, rowid LIMIT 1"
                    ),
                    [now],
                    item,
                )
                .optional()?;
            let Some(mut next) = next else {
                let wake: Option<i64> =
                    conn.query_row("SELECT min(not_before) FROM media_downloads WHERE state = 'queued'", [], |row| {
                        row.get(0)
                    })?;
                return Ok(Err(wake));
            };
            conn.execute(
                "UPDATE media_downloads SET state = 'downloading' WHERE scope = ?1 AND media_id = ?2",
                params![next.scope, next.media_id],
            )?;
            next.state = ItemState::Downloading;
            Ok(Ok(next))
        })
    }

    /// One item.
    pub(crate) fn get(&self, scope: &str, media_id: &str) -> Result<Option<MediaItem>, MediaError> {
        let sql = format!("SELECT {COLUMNS} FROM media_downloads WHERE scope = ?1 AND media_id = ?2");
        self.with(|conn| conn.query_row(&sql, params![scope, media_id], item).optional())
    }

    /// Every item, in the order they would start.
    pub(crate) fn list(&self) -> Result<Vec<MediaItem>, MediaError> {
        let sql = format!("SELECT {COLUMNS} FROM media_downloads ORDER BY priority DESC, created_at, rowid");
        self.with(|conn| {
            let mut statement = conn.prepare_cached(&sql)?;
            statement.query_map([], item)?.collect()
        })
    }

    /// Counts per state and the unfinished bytes.
    pub(crate) fn totals(&self) -> Result<QueueTotals, MediaError> {
        self.with(|conn| {
            let mut totals = QueueTotals::default();
            let mut statement = conn.prepare_cached(
                "SELECT state, count(*), sum(bytes), sum(coalesce(size, 0)) FROM media_downloads GROUP BY state",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let n = row.get::<_, i64>(1)? as u64;
                let (bytes, size) = (row.get::<_, i64>(2)? as u64, row.get::<_, i64>(3)? as u64);
                let count = match ItemState::parse(&row.get::<_, String>(0)?) {
                    ItemState::Done => &mut totals.done,
                    ItemState::Failed => &mut totals.failed,
                    ItemState::Cancelled => continue,
                    unfinished => {
                        totals.bytes += bytes;
                        totals.total_bytes += size;
                        match unfinished {
                            ItemState::Queued => &mut totals.queued,
                            ItemState::Downloading => &mut totals.downloading,
                            _ => &mut totals.paused,
                        }
                    }
                };
                *count = n;
            }
            Ok(totals)
        })
    }

    /// Bytes on disk so far.
    pub(crate) fn progress(&self, scope: &str, media_id: &str, bytes: u64) -> Result<(), MediaError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE media_downloads SET bytes = ?3 WHERE scope = ?1 AND media_id = ?2",
                params![scope, media_id, bytes as i64],
            )
            .map(drop)
        })
    }

    /// An attempt starts at `offset` of a file of `size` bytes: counts what it asks for and what it resumes
    /// from; returns the `ETag` the partial copy came with.
    pub(crate) fn start_attempt(
        &self,
        scope: &str,
        media_id: &str,
        offset: u64,
        size: u64,
    ) -> Result<Option<String>, MediaError> {
        self.with(|conn| {
            conn.query_row(
                "UPDATE media_downloads SET requested_bytes = requested_bytes + ?3, resumed_bytes = resumed_bytes + \
                 ?4, bytes = ?4 WHERE scope = ?1 AND media_id = ?2 RETURNING etag",
                params![scope, media_id, (size - offset) as i64, offset as i64],
                |row| row.get(0),
            )
        })
    }

    /// The `ETag` the bytes now being written came with.
    pub(crate) fn set_etag(&self, scope: &str, media_id: &str, etag: Option<&str>) -> Result<(), MediaError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE media_downloads SET etag = ?3 WHERE scope = ?1 AND media_id = ?2",
                params![scope, media_id, etag],
            )
            .map(drop)
        })
    }

    /// The file is verified and at `path`.
    pub(crate) fn done(&self, scope: &str, media_id: &str, path: &Path, size: u64) -> Result<(), MediaError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE media_downloads SET state = 'done', path = ?3, bytes = ?4, error_code = NULL, \
                 last_error = NULL WHERE scope = ?1 AND media_id = ?2 AND state = 'downloading'",
                params![scope, media_id, path.to_string_lossy(), size as i64],
            )
            .map(drop)
        })
    }

    /// Records a failed attempt: queued again after `retry_in`, or failed for good. Returns the new state.
    pub(crate) fn failed(
        &self,
        scope: &str,
        media_id: &str,
        failure: &Failure,
        retry_in: Option<Duration>,
    ) -> Result<ItemState, MediaError> {
        let (state, not_before) = match retry_in {
            Some(delay) => ("queued", now_ms() + delay.as_millis() as i64),
            None => ("failed", 0),
        };
        let hash = i64::from(matches!(failure, Failure::Hash { .. }));
        self.with(|conn| {
            conn.execute(
                "UPDATE media_downloads SET state = ?3, not_before = ?4, attempts = attempts + 1, \
                 hash_mismatches = hash_mismatches + ?5, error_code = ?6, last_error = ?7 \
                 WHERE scope = ?1 AND media_id = ?2 AND state = 'downloading'",
                params![scope, media_id, state, not_before, hash, failure.code(), failure.to_string()],
            )
            .map(drop)
        })?;
        Ok(ItemState::parse(state))
    }

    /// Attempts and hash mismatches so far.
    pub(crate) fn counts(&self, scope: &str, media_id: &str) -> Result<(u32, u32), MediaError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT attempts, hash_mismatches FROM media_downloads WHERE scope = ?1 AND media_id = ?2",
                params![scope, media_id],
                |row| Ok((row.get::<_, i64>(0)? as u32, row.get::<_, i64>(1)? as u32)),
            )
        })
    }

    /// Moves an item from one of `from` to `to`; returns whether it did.
    pub(crate) fn transition(
        &self,
        scope: &str,
        media_id: &str,
        from: &[ItemState],
        to: ItemState,
    ) -> Result<bool, MediaError> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let list = from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "UPDATE media_downloads SET state = ?3, not_before = 0 WHERE scope = ?1 AND media_id = ?2 AND state IN ({list})"
        );
        self.with(|conn| Ok(conn.execute(&sql, params![scope, media_id, to.as_str()])? > 0))
    }

    /// Gives the waiting (queued, paused or failed) items `media_ids` of `scope` a new priority; returns how many.
    pub(crate) fn set_priority(&self, scope: &str, media_ids: &[String], priority: i64) -> Result<u64, MediaError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let mut changed = 0;
            for id in media_ids {
                changed += tx.execute(
                    "UPDATE media_downloads SET priority = ?3 WHERE scope = ?1 AND media_id = ?2 \
                     AND state IN ('queued', 'paused', 'failed')",
                    params![scope, id, priority],
                )? as u64;
            }
            tx.commit()?;
            Ok(changed)
        })
    }

    /// The ids of the replica's media rows of `scope` in conversation `conversation` (`MediaColumns::conversation`).
    pub(crate) fn conversation_media(&self, scope: &str, conversation: &str) -> Result<Vec<String>, MediaError> {
        let c = &self.columns;
        let sql = format!(
            "SELECT id FROM {} WHERE integration_id = ?1 AND {} = ?2",
            quote(&c.collection),
            quote(&c.conversation)
        );
        self.with(|conn| conn.prepare(&sql)?.query_map(params![scope, conversation], |r| r.get(0))?.collect())
    }

    /// Compares the queue of `scope` with the replica's media rows: items whose row is gone, items whose file
    /// changed (size or SHA-256: reset to download again from zero), and rows the auto-download policy wants
    /// queued (added at priority 0, by the caller).
    pub(crate) fn reconcile(&self, scope: &str, auto: &AutoDownload) -> Result<Reconciled, MediaError> {
        let c = &self.columns;
        let (table, size, sha) = (quote(&c.collection), quote(&c.size), quote(&c.sha256));
        let gone_sql = format!(
            "SELECT d.media_id FROM media_downloads d LEFT JOIN {table} m ON m.integration_id = d.scope AND m.id = \
             d.media_id WHERE d.scope = ?1 AND d.state NOT IN ('cancelled', 'done') AND m.id IS NULL"
        );
        let changed_sql = format!(
            "SELECT d.media_id, m.{size}, lower(m.{sha}), m.{}, m.{} FROM media_downloads d JOIN {table} m ON \
             m.integration_id = d.scope AND m.id = d.media_id WHERE d.scope = ?1 AND (d.size IS NOT m.{size} OR \
             d.sha256 IS NOT lower(m.{sha}))",
            quote(&c.file_name),
            quote(&c.mime_type)
        );
        let new_sql = format!(
            "SELECT m.id, m.{}, m.{size} FROM {table} m WHERE m.integration_id = ?1 AND NOT EXISTS (SELECT 1 FROM \
             media_downloads d WHERE d.scope = m.integration_id AND d.media_id = m.id)",
            quote(&c.mime_type)
        );
        self.with(|conn| {
            let gone: Vec<String> =
                conn.prepare(&gone_sql)?.query_map([scope], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            let tx = conn.unchecked_transaction()?;
            for id in &gone {
                tx.execute(
                    "UPDATE media_downloads SET state = 'cancelled', error_code = 'deleted_on_server', last_error = \
                     'the media was deleted on the server' WHERE scope = ?1 AND media_id = ?2",
                    params![scope, id],
                )?;
            }
            let mut changed = Vec::new();
            {
                let mut statement = tx.prepare(&changed_sql)?;
                let mut rows = statement.query([scope])?;
                while let Some(row) = rows.next()? {
                    let id: String = row.get(0)?;
                    tx.execute(
                        "UPDATE media_downloads SET size = ?3, sha256 = ?4, file_name = ?5, mime_type = ?6, \
                         state = CASE WHEN state IN ('paused', 'cancelled') THEN state ELSE 'queued' END, bytes = 0, \
                         attempts = 0, hash_mismatches = 0, etag = NULL, not_before = 0 \
                         WHERE scope = ?1 AND media_id = ?2",
                        params![
                            scope,
                            id,
                            row.get::<_, Option<i64>>(1)?,
                            row.get::<_, Option<String>>(2)?,
                            row.get::<_, Option<String>>(3)?,
                            row.get::<_, Option<String>>(4)?
                        ],
                    )?;
                    changed.push(id);
                }
            }
            let mut added = Vec::new();
            {
                let mut statement = tx.prepare(&new_sql)?;
                let mut rows = statement.query([scope])?;
                while let Some(row) = rows.next()? {
                    let size = row.get::<_, Option<i64>>(2)?.map(|n| n.max(0) as u64);
                    if auto.wants(row.get::<_, Option<String>>(1)?.as_deref(), size) {
                        added.push(row.get::<_, String>(0)?);
                    }
                }
            }
            tx.commit()?;
            Ok(Reconciled { gone, changed, added })
        })
    }
}

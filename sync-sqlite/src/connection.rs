//! Opening connections: the pragmas every connection of both stores runs with.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::Error;

/// How long a statement waits for another connection's lock (another process, or a checkpoint) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Upper bound of the write connection's page cache, KiB. A 1M-row load took 6.6 s with the default cache and
/// 4.4 s with a large one when the store was designed; SQLite only allocates what it uses, so small stores pay nothing.
/// 16 MiB, not more: the memory budget is 100 MB for a whole Node process syncing 1M messages, of which
/// Node itself takes 43 MB. An initial sync into empty tables, which defers its indexes, ran as fast with 16 MiB
/// as with 64 MiB (the random-keyed primary index does not fit either way); keeping indexes up to date row by
/// row gains from a larger cache (the direct insert: 12.3 s with 24 MiB, 10.1 s with 64 MiB, 1M messages).
pub(crate) const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// Opens (creating it if needed) the file for writing, in WAL mode with `synchronous = NORMAL`.
///
/// WAL lets readers (the app's UI queries, the server's page reads) run while a page is written. `NORMAL` under
/// WAL never corrupts the file or splits a transaction; a power cut may lose the last commits, which a sync
/// fetches again since the cursor is lost with them (PROTOCOL.md invariant 4). Foreign keys stay off: rows of a
/// child collection may arrive before their parents, and the server handles deletes itself.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, Error> {
    let fail = |cause| Error::Open { path: path.to_path_buf(), cause };
    let conn = Connection::open(path).map_err(fail)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        // An in-memory database answers "memory": it works, without concurrent readers.
        tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode; readers will wait for writes");
    }
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
    conn.pragma_update(None, "foreign_keys", false).map_err(fail)?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB).map_err(fail)?;
    // Checkpoint every 64 MiB of WAL instead of 4 MiB: a page of random-keyed rows dirties thousands of B-tree
    // pages, and frequent checkpoints copied (and fsynced) the same pages back again and again. Measured on a
    // 200,000-message sync: 17.2 s with the default, 10.6 s with this.
    conn.pragma_update(None, "wal_autocheckpoint", 16384).map_err(fail)?;
    Ok(conn)
}

/// Bytes of the file a server reader maps into memory: SQLite's default upper bound (`SQLITE_MAX_MMAP_SIZE`,
/// just under 2 GiB); pages beyond are read as before. A recent-first sync reads each conversation's rows where they lie in the
/// seq-ordered table, one random page per row: through `read()` each cost a copy of the page out of the OS cache
/// into a 2 MiB page cache that never holds the working set. Mapped, a page is read in place. At 1M messages
/// (`selective-bench`, BENCHMARKS.md) a recent-first sync went from +29 % to −2 % against a plain sync, which
/// reads neighbouring rows and did not change. The cost: an I/O error on a mapped page is a `SIGBUS` instead of an
/// error, the reason SQLite leaves it off by default; the server store's file is local by design.
pub(crate) const SERVER_READ_MMAP: i64 = 0x7fff_0000;

/// Opens a connection that only reads an existing file (already in WAL mode, so it reads while others write).
pub(crate) fn open_reader(path: &Path) -> Result<Connection, Error> {
    let fail = |cause| Error::Open { path: path.to_path_buf(), cause };
    // Read-write flags, but `query_only`: a read-only connection cannot create the WAL index (-shm) file.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    conn.pragma_update(None, "query_only", true).map_err(fail)?;
    Ok(conn)
}

//! The full-text index of a collection in the client replica: an FTS5 table over the collection's declared
//! `full_text` columns, kept current by triggers on the data table.
//!
//! The FTS5 table is an *external content* table: it stores the index only, and reads the text of a snippet by
//! `rowid` from a view of the data table (`<table>_fts_content`), so the text is not stored twice. Besides the
//! declared columns it indexes the row's integration as one token ([`integration_token`]), which a search ANDs
//! when the table holds another integration ([`scoped_query`]): a replica holding several integrations reads only
//! the searched one's matches, not every integration's newest ones first. It also indexes 3-letter prefixes
//! (`prefix='3'`), so the first letters typed in a search as you type read one doclist instead of merging those
//! of every word they begin. Triggers on the data table apply every insert, delete and change of an indexed
//! column to the index in the writing statement's own transaction: a page, a held transaction of an initial
//! sync, a local write or a plain SQL statement of the app all keep it current without calling anything (a page
//! of the engine writes its rows' entries in two statements instead: [`Fts::pause`]). An initial sync into an
//! empty table drops the triggers at its first page and rebuilds the index at its last (like the secondary
//! indexes), and [`Fts::ensure`] rebuilds
//! it whenever the triggers are missing (a crash in between, or a replica synced before the index existed).
//!
//! `VACUUM` may renumber the rowids of a table without an `INTEGER PRIMARY KEY`; the engine never runs it, and
//! an app that does must run `INSERT INTO <table>_fts(<table>_fts) VALUES ('rebuild')` after it.

use rusqlite::{Connection, OptionalExtension};
use sync_core::Collection;

/// Tokens: Unicode letters and digits, case folded, diacritics removed (`cafe` finds `café`, `Ærø` finds
/// `aero`), as the search query is tokenized too.
const TOKENIZER: &str = "unicode61 remove_diacritics 2";

/// The suffixes of the triggers' names: on insert, on delete, on update of an indexed column.
const TRIGGERS: [&str; 3] = ["insert", "delete", "update"];

/// The FTS5 column that holds each row's integration as one token (see [`integration_token`]), after the
/// collection's own columns. `integration_id` is a reserved column name, so no declared column takes it.
const INTEGRATION: &str = "integration_id";

/// The lengths (in characters) of the prefixes FTS5 indexes besides whole tokens: a query for a 3-letter prefix
/// (search as the user types) reads one doclist newest first instead of merging every term it begins.
const PREFIX: &str = "3";

/// FTS5's pending-terms limit while [`Fts::build`] indexes a whole table, and its default, set again after.
const BUILD_HASH_BYTES: i64 = 4 << 20;
const DEFAULT_HASH_BYTES: i64 = 1 << 20;
/// The page cache (KiB) while [`Fts::build`] runs, the previous size set again after.
const BUILD_CACHE_KIB: i64 = 4 << 10;

/// A table of the file that, while it holds a row, keeps every collection's triggers from writing its index:
/// [`Fts::pause`] fills it for the writes of one page, whose index entries it writes in two statements instead.
/// It only ever holds a row inside a page's transaction, so no other connection sees one.
const PAUSE: &str = "seqsync_fts_paused";

/// The full-text statements of one collection that declares `full_text` columns.
#[derive(Debug, Clone)]
pub(crate) struct Fts {
    /// The FTS5 table's name: `<table>_fts`.
    pub(crate) table: String,
    /// The view the index reads its text from, `<table>_fts_content`: the data table's rowid and full-text
    /// columns, and the integration token.
    view: String,
    /// `CREATE VIEW` of the content, exactly as `sqlite_master` keeps it.
    create_view: String,
    /// `CREATE VIRTUAL TABLE`, exactly as `sqlite_master` keeps it (compared to find an index of another layout).
    create: String,
    /// Gives the integration column no weight in bm25, so that relevance ranks by the declared columns only.
    rank: String,
    /// The three triggers (insert, delete, update of an indexed column), as `sqlite_master` keeps them.
    triggers: [(String, String); 3],
    /// Takes the rows of integration `?1` whose ids are in the JSON array `?2` out of the index.
    unindex_rows: String,
    /// Indexes the rows of integration `?1` whose ids are in the JSON array `?2`.
    index_rows: String,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The token of an integration in the index: `i` and the hex of its UTF-8 bytes (what SQL's `'i' || hex(x)`
/// gives), one token whatever characters the id holds. The FTS5 query of a search ANDs it, so FTS5 intersects
/// doclists and a search reads only its own integration's matches, however many others share the file.
fn integration_token(integration_id: &str) -> String {
    let mut token = String::with_capacity(1 + 2 * integration_id.len());
    token.push('i');
    for byte in integration_id.bytes() {
        token.push_str(&format!("{byte:02X}"));
    }
    token
}

/// The FTS5 query of a search: `query` over the declared columns only (never the integration token, which a
/// user's word or prefix could spell), among the rows of one integration when others share the table
/// (`integration_id` given; see [`shared`]). When none does, the token would match every row: intersecting with
/// it would only cost (by relevance, every match's entry in a doclist as long as the table).
pub(crate) fn scoped_query(query: &str, integration_id: Option<&str>) -> String {
    match integration_id {
        Some(id) => format!("{INTEGRATION} : \"{}\" AND - {INTEGRATION} : ( {query} )", integration_token(id)),
        None => format!("- {INTEGRATION} : ( {query} )"),
    }
}

/// Whether collection `c`'s table holds rows of another integration than `?1`: two seeks of its primary key.
pub(crate) fn shared(c: &Collection) -> String {
    let data = quoted(&c.name);
    format!(
        "SELECT EXISTS (SELECT 1 FROM {data} WHERE \"integration_id\" < ?1) \
         OR EXISTS (SELECT 1 FROM {data} WHERE \"integration_id\" > ?1)"
    )
}

impl Fts {
    /// The index of `c`, or `None` when it declares no full-text column.
    pub(crate) fn new(c: &Collection) -> Option<Fts> {
        if c.full_text.is_empty() {
            return None;
        }
        let data = quoted(&c.name);
        let table = format!("{}_fts", c.name);
        let view = format!("{table}_content");
        let fts = quoted(&table);
        let columns: Vec<String> = c.full_text.iter().map(|name| quoted(name)).collect();
        let integration = quoted(INTEGRATION);
        let token = |row: &str| format!("'i' || hex({row}.{integration})");
        let list = columns.join(", ");
        let all = format!("{list}, {integration}");
        let of = |row: &str| {
            let mut values: Vec<String> = columns.iter().map(|col| format!("{row}.{col}")).collect();
            values.push(token(row));
            values.join(", ")
        };
        let (new, old) = (of("new"), of("old"));
        let create_view = format!(
            "CREATE VIEW {} AS SELECT t.rowid AS rowid, {}, {} AS {integration} FROM {data} AS t",
            quoted(&view),
            columns.iter().map(|col| format!("t.{col}")).collect::<Vec<_>>().join(", "),
            token("t"),
        );
        let create = format!(
            "CREATE VIRTUAL TABLE {fts} USING fts5({all}, content={}, content_rowid='rowid', \
             tokenize='{TOKENIZER}', prefix='{PREFIX}')",
            quoted(&view)
        );
        let weights = vec!["1.0"; columns.len()].join(", ");
        let rank = format!("INSERT INTO {fts}({fts}, rank) VALUES ('rank', 'bm25({weights}, 0.0)')");
        let insert = format!("INSERT INTO {fts}(rowid, {all}) VALUES (new.rowid, {new});");
        let delete = format!("INSERT INTO {fts}({fts}, rowid, {all}) VALUES ('delete', old.rowid, {old});");
        let watched = c.full_text.iter().map(String::as_str).chain([INTEGRATION]);
        let changed = watched.map(|name| format!("old.{0} IS NOT new.{0}", quoted(name)));
        let changed = changed.collect::<Vec<_>>().join(" OR ");
        let live = format!("NOT EXISTS (SELECT 1 FROM {})", quoted(PAUSE));
        let trigger = |suffix: &str, body: String| {
            let name = trigger_name(&table, suffix);
            let sql = format!("CREATE TRIGGER {} {body}", quoted(&name));
            (name, sql)
        };
        let triggers = [
            trigger(TRIGGERS[0], format!("AFTER INSERT ON {data} WHEN {live} BEGIN {insert} END")),
            trigger(TRIGGERS[1], format!("AFTER DELETE ON {data} WHEN {live} BEGIN {delete} END")),
            trigger(
                TRIGGERS[2],
                format!("AFTER UPDATE OF {all} ON {data} WHEN ({changed}) AND {live} BEGIN {delete} {insert} END"),
            ),
        ];
        let rows = format!(
            "FROM {} WHERE rowid IN (SELECT rowid FROM {data} WHERE \"integration_id\" = ?1 \
             AND \"id\" IN (SELECT value FROM json_each(?2)))",
            quoted(&view)
        );
        let unindex_rows = format!("INSERT INTO {fts}({fts}, rowid, {all}) SELECT 'delete', rowid, {all} {rows}");
        let index_rows = format!("INSERT INTO {fts}(rowid, {all}) SELECT rowid, {all} {rows}");
        Some(Fts { table, view, create_view, create, rank, triggers, unindex_rows, index_rows })
    }

    /// Stops keeping the index current (an initial sync into the empty table is about to load it);
    /// [`Fts::build`] makes it whole again.
    pub(crate) fn drop_triggers(&self, conn: &Connection) -> rusqlite::Result<()> {
        drop_triggers(conn, &self.table)
    }

    /// Indexes every row of the data table again and installs the triggers, in the caller's transaction.
    /// (Another connection that opened the file mid-load may have installed them already: they are made again.)
    pub(crate) fn build(&self, conn: &Connection) -> rusqlite::Result<()> {
        let fts = quoted(&self.table);
        self.drop_triggers(conn)?;
        // FTS5 writes a segment whenever its pending terms pass `hashsize` (1 MiB by default): a rebuild of a
        // million rows wrote thousands of small segments and merged them again. 4 MiB during the build only
        // (pages keep the default) takes a fifth of its CPU; the page cache, which a rebuild that appends its
        // segments hardly uses, gives up as much for the while, so the build's memory stays as it was.
        let hashsize = |bytes: i64| format!("INSERT INTO {fts}({fts}, rank) VALUES ('hashsize', {bytes});");
        let cache: i64 = conn.pragma_query_value(None, "cache_size", |row| row.get(0))?;
        conn.pragma_update(None, "cache_size", -BUILD_CACHE_KIB)?;
        let built = conn.execute_batch(&format!(
            "{} INSERT INTO {fts}({fts}) VALUES ('rebuild'); {}",
            hashsize(BUILD_HASH_BYTES),
            hashsize(DEFAULT_HASH_BYTES)
        ));
        conn.pragma_update(None, "cache_size", cache)?;
        built?;
        conn.execute_batch(&format!("CREATE TABLE IF NOT EXISTS {} (paused INTEGER)", quoted(PAUSE)))?;
        self.triggers.iter().try_for_each(|(_, sql)| conn.execute_batch(sql))
    }

    /// Before a page writes rows `ids` (a JSON array) of integration `scope`: takes them out of the index and
    /// keeps the triggers from writing it until [`Fts::resume`], in the page's transaction. Row by row, every
    /// statement's savepoint makes FTS5 flush its pending terms into a segment of their own (`xSavepoint`):
    /// a page of 1,500 rows wrote 1,500 segments and merged them; two statements write one.
    pub(crate) fn pause(&self, conn: &Connection, scope: &str, ids: &str) -> rusqlite::Result<()> {
        conn.execute(&format!("INSERT INTO {} (paused) VALUES (1)", quoted(PAUSE)), [])?;
        conn.prepare_cached(&self.unindex_rows)?.execute([scope, ids]).map(drop)
    }

    /// After the page of [`Fts::pause`] wrote rows `ids`: indexes those that exist now, and lets the triggers
    /// write the index again.
    pub(crate) fn resume(&self, conn: &Connection, scope: &str, ids: &str) -> rusqlite::Result<()> {
        conn.prepare_cached(&self.index_rows)?.execute([scope, ids])?;
        conn.execute(&format!("DELETE FROM {}", quoted(PAUSE)), []).map(drop)
    }

    /// Whether the index is complete and kept current: the table and its triggers exist as this build makes them.
    pub(crate) fn is_current(&self, conn: &Connection) -> rusqlite::Result<bool> {
        let stored = |name: &str| -> rusqlite::Result<Option<String>> {
            conn.query_row("SELECT sql FROM sqlite_master WHERE name = ?1", [name], |row| row.get(0)).optional()
        };
        if stored(&self.view)?.as_deref() != Some(self.create_view.as_str())
            || stored(&self.table)?.as_deref() != Some(self.create.as_str())
        {
            return Ok(false);
        }
        for (name, sql) in &self.triggers {
            if stored(name)?.as_deref() != Some(sql.as_str()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Makes the index complete and current, in the caller's transaction: nothing when it is
    /// ([`Fts::is_current`]), else the view and the table are made again (their columns or layout may have
    /// changed: a replica indexed by an older build gains this layout on open, without a sync) and rebuilt.
    /// Returns whether it rebuilt.
    pub(crate) fn ensure(&self, conn: &Connection) -> rusqlite::Result<bool> {
        if self.is_current(conn)? {
            return Ok(false);
        }
        drop_tables(conn, &self.table)?;
        conn.execute_batch(&self.create_view)?;
        conn.execute_batch(&self.create)?;
        conn.execute_batch(&self.rank)?;
        self.build(conn)?;
        Ok(true)
    }
}

/// Drops the full-text index of a collection that no longer declares full-text columns, if it has one.
pub(crate) fn drop_index(conn: &Connection, c: &Collection) -> rusqlite::Result<()> {
    let table = format!("{}_fts", c.name);
    drop_triggers(conn, &table)?;
    drop_tables(conn, &table)
}

/// Drops the FTS5 table `table` and its content view (the table first: it reads the view).
fn drop_tables(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quoted(table)))?;
    conn.execute_batch(&format!("DROP VIEW IF EXISTS {}", quoted(&format!("{table}_content"))))
}

fn trigger_name(table: &str, suffix: &str) -> String {
    format!("{table}_{suffix}")
}

fn drop_triggers(conn: &Connection, table: &str) -> rusqlite::Result<()> {
    TRIGGERS.iter().try_for_each(|suffix| {
        conn.execute_batch(&format!("DROP TRIGGER IF EXISTS {}", quoted(&trigger_name(table, suffix))))
    })
}

/// The matches of a full-text query among a scope's rows of collection `c`: `id`, a snippet and `seq`, then (by
/// relevance) the bm25 rank. Binds `?1` the FTS5 query ([`scoped_query`]), `?2` integration_id, `?3` and `?4` the markers around a
/// match, `?5` the ellipsis, `?6` the snippet's most tokens, `?7` limit, then the non-null filter values in order.
/// Filter columns must have been checked against the schema.
///
/// `by_rank` false: newest first by the data table's rowid, which FTS5 walks backwards itself (the rowid is its
/// document id), so the scan stops after `limit` hits: no match beyond them is read or scored. `by_rank` true:
/// best first by bm25, which scores every match before the first is returned.
///
/// `CROSS JOIN` keeps the index as the outer loop (SQLite never reorders it): left free, the planner walks the
/// scope's rows by their `integration_id` index and asks FTS5 for each rowid, which evaluates the whole query once
/// per row (a prefix query over 258,000 messages: minutes instead of milliseconds).
pub(crate) fn search(c: &Collection, filter: &[(&str, bool)], by_rank: bool) -> String {
    let fts = quoted(&format!("{}_fts", c.name));
    let rank = if by_rank { format!(", {fts}.rank") } else { String::new() };
    let mut sql = format!(
        "SELECT t.\"id\", snippet({fts}, -1, ?3, ?4, ?5, ?6), t.\"seq\"{rank} FROM {fts} \
         CROSS JOIN {} AS t ON t.rowid = {fts}.rowid WHERE {fts} MATCH ?1 AND t.\"integration_id\" = ?2",
        quoted(&c.name)
    );
    let mut next = 8;
    for (column, is_null) in filter {
        if *is_null {
            sql.push_str(&format!(" AND t.{} IS NULL", quoted(column)));
        } else {
            sql.push_str(&format!(" AND t.{} = ?{next}", quoted(column)));
            next += 1;
        }
    }
    let order = if by_rank { format!("{fts}.rank") } else { format!("{fts}.rowid DESC") };
    sql.push_str(&format!(" ORDER BY {order} LIMIT ?7"));
    sql
}

#[cfg(test)]
mod tests {
    use sync_core::testing::test_schema;

    use super::*;

    /// The plan of a search: the full-text index scanned once, then each hit's row by rowid; never the scope's
    /// rows walked with a full-text probe per row (what SQLite 3.51 picks for a plain `JOIN`).
    #[test]
    fn a_search_scans_the_index_once_then_reads_each_hit_by_rowid() {
        let conn = Connection::open_in_memory().expect("open");
        let schema = test_schema();
        let posts = schema.collection("posts").expect("posts");
        conn.execute_batch(
            "CREATE TABLE posts (id TEXT, integration_id TEXT, seq INTEGER, thread_id TEXT, body TEXT, score REAL, \
             likes INTEGER, meta TEXT, PRIMARY KEY (integration_id, id));
             CREATE INDEX posts_thread ON posts (integration_id, thread_id);",
        )
        .expect("table");
        let fts = Fts::new(posts).expect("posts declare full-text columns");
        conn.execute_batch(&fts.create_view).expect("view");
        conn.execute_batch(&fts.create).expect("index");
        for (filter, by_rank) in [(vec![], true), (vec![("thread_id", false)], true), (vec![], false)] {
            let sql = format!("EXPLAIN QUERY PLAN {}", search(posts, &filter, by_rank));
            let mut stmt = conn.prepare(&sql).expect("plan");
            let mut rows = stmt.raw_query();
            let mut plan: Vec<String> = Vec::new();
            while let Some(row) = rows.next().expect("plan") {
                plan.push(row.get(3).expect("detail"));
            }
            assert!(plan[0].starts_with("SCAN posts_fts VIRTUAL TABLE"), "{plan:?}");
            assert!(plan[1].contains("USING INTEGER PRIMARY KEY (rowid=?)"), "{plan:?}");
            // Newest first is the index's own order, so nothing sorts (a sort would read every match first).
            if !by_rank {
                assert_eq!(plan.len(), 2, "{plan:?}");
            }
        }
    }

    /// The token the query ANDs is the one the view and the triggers index, for any id (non-ASCII, quotes,
    /// nothing but punctuation).
    #[test]
    fn the_query_names_the_integration_token_that_sql_indexes() {
        let conn = Connection::open_in_memory().expect("open");
        for id in ["wa-bench", "", "Ærø \"x\"", "--", "chitchat-0"] {
            let sql: String = conn.query_row("SELECT 'i' || hex(?1)", [id], |r| r.get(0)).expect("hex");
            assert_eq!(integration_token(id), sql);
        }
    }
}

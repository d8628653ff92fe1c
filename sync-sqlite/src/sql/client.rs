//! The client replica's statements.

use sea_query::{Order, Query, SqliteQueryBuilder};
use sync_core::Collection;

use super::*;

/// The statements of one collection of the client replica.
#[derive(Debug)]
pub(crate) struct ClientSql {
    /// Binds id, integration_id, seq, then the declared columns. An existing row is replaced only by a greater
    /// seq, so an older change never overwrites a newer one (PROTOCOL.md invariant 5).
    pub(crate) upsert: String,
    /// Binds integration_id, id, seq: deletes the row if the tombstone is newer than it.
    pub(crate) delete: String,
    /// Live rows by id.
    pub(crate) rows: RowsById,
    /// Binds integration_id, id: `SELECT seq, <declared…>` of one row.
    pub(crate) get: String,
    /// No binds: rows of all scopes.
    pub(crate) count: String,
    /// Binds integration_id: the scope's rows.
    pub(crate) count_scope: String,
    /// Binds integration_id: deletes the scope's rows.
    pub(crate) reset: String,
    /// No binds: a row if the table holds any row (of any scope), none if it is empty.
    pub(crate) any: String,
    /// The secondary indexes, dropped while an initial sync loads an empty table and built again after it.
    pub(crate) drop_indexes: Vec<String>,
    /// The same but the index that reads one filter value's rows (a conversation's messages), which a
    /// recent-first sync keeps for the app's reads of the heads while the history fills.
    pub(crate) drop_indexes_but_filter: Vec<String>,
    /// `CREATE INDEX IF NOT EXISTS` for the secondary indexes.
    pub(crate) create_indexes: Vec<String>,
    /// The full-text index, when the collection declares `full_text` columns.
    pub(crate) fts: Option<Fts>,
    /// Selective sync, when the collection declares a filter column.
    pub(crate) filter: Option<ClientFilterSql>,
}

/// The statements of selective sync over a collection's filter column (served by the client's filter index, or
/// the primary key for a collection filtered by `id`).
#[derive(Debug)]
pub(crate) struct ClientFilterSql {
    /// Binds integration_id, value: deletes the rows of one filter value.
    pub(crate) evict: String,
    /// Binds integration_id, a JSON array of values: deletes the rows of every other value (and of none).
    pub(crate) evict_others: String,
    /// Binds integration_id, id: the row's filter value.
    pub(crate) value_of: String,
}

impl ClientFilterSql {
    fn new(c: &Collection, column: &str) -> Self {
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let (table, column) = (quote(&c.name), quote(column));
        ClientFilterSql {
            evict: format!("DELETE FROM {table} WHERE integration_id = ?1 AND {column} = ?2"),
            evict_others: format!(
                "DELETE FROM {table} WHERE integration_id = ?1 \
                 AND ({column} IS NULL OR {column} NOT IN (SELECT value FROM json_each(?2)))"
            ),
            value_of: format!("SELECT {column} FROM {table} WHERE integration_id = ?1 AND id = ?2"),
        }
    }
}

impl ClientSql {
    pub(crate) fn new(c: &Collection) -> Self {
        let table = c.name.clone();
        let mut upsert = Query::insert();
        upsert
            .into_table(table.clone())
            .columns(["id", "integration_id", "seq"].map(String::from).into_iter().chain(declared(c)))
            .values_panic((0..c.columns.len() + 3).map(|_| param()))
            .on_conflict(
                OnConflict::columns(["integration_id", "id"])
                    .update_columns(std::iter::once("seq".to_owned()).chain(declared(c)))
                    .action_and_where(Expr::col(("excluded", "seq")).gt(Expr::col((table.clone(), "seq"))))
                    .to_owned(),
            );
        let delete = Query::delete()
            .from_table(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("id").eq(param()))
            .and_where(Expr::col("seq").lt(param()))
            .build(SqliteQueryBuilder)
            .0;
        let mut get = Query::select();
        get.column("seq").columns(declared(c)).from(table.clone());
        get.and_where(Expr::col("integration_id").eq(param())).and_where(Expr::col("id").eq(param()));
        let count = Query::select().expr(Expr::cust("COUNT(*)")).from(table.clone()).build(SqliteQueryBuilder).0;
        let count_scope = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .build(SqliteQueryBuilder)
            .0;
        let reset = Query::delete()
            .from_table(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .build(SqliteQueryBuilder)
            .0;
        let any = Query::select().expr(Expr::cust("1")).from(table).limit(1).to_string(SqliteQueryBuilder);
        ClientSql {
            upsert: upsert.build(SqliteQueryBuilder).0,
            delete,
            rows: RowsById::new(c, Flavor::Client),
            get: get.build(SqliteQueryBuilder).0,
            count,
            count_scope,
            reset,
            any,
            drop_indexes: drop_indexes(c, Flavor::Client, false),
            drop_indexes_but_filter: drop_indexes(c, Flavor::Client, true),
            create_indexes: create_indexes(c, Flavor::Client),
            fts: Fts::new(c),
            filter: c.filter.as_deref().map(|column| ClientFilterSql::new(c, column)),
        }
    }
}

/// The cursor of one collection. Binds integration_id, collection.
pub(crate) const CURSOR: &str = "SELECT last_seq FROM sync_state WHERE integration_id = ?1 AND collection = ?2";
/// Binds integration_id, collection, last_seq, updated_at.
pub(crate) const SAVE_CURSOR: &str = "INSERT INTO sync_state (integration_id, collection, last_seq, updated_at) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (integration_id, collection) \
     DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at";
/// All cursors of a scope. Binds integration_id.
pub(crate) const CURSORS: &str =
    "SELECT collection, last_seq, updated_at FROM sync_state WHERE integration_id = ?1 ORDER BY collection";
/// Binds integration_id.
pub(crate) const DELETE_CURSORS: &str = "DELETE FROM sync_state WHERE integration_id = ?1";
/// Binds integration_id, collection.
pub(crate) const DELETE_CURSOR: &str = "DELETE FROM sync_state WHERE integration_id = ?1 AND collection = ?2";

/// Binds integration_id: a row if the scope syncs only its subscribed values.
pub(crate) const IS_SELECTIVE: &str = "SELECT 1 FROM sync_selective WHERE integration_id = ?1";
/// Binds integration_id.
pub(crate) const SET_SELECTIVE: &str = "INSERT OR IGNORE INTO sync_selective (integration_id) VALUES (?1)";
/// Binds integration_id.
pub(crate) const DROP_SELECTIVE: &str = "DELETE FROM sync_selective WHERE integration_id = ?1";
/// Binds integration_id: value, archived, in value order.
pub(crate) const SUBSCRIPTIONS: &str =
    "SELECT value, archived FROM sync_subscriptions WHERE integration_id = ?1 ORDER BY value";
/// Binds integration_id, value, archived: adds a value or sets its state.
pub(crate) const SET_SUBSCRIPTION: &str = "INSERT INTO sync_subscriptions (integration_id, value, archived) \
     VALUES (?1, ?2, ?3) ON CONFLICT (integration_id, value) DO UPDATE SET archived = excluded.archived";
/// Binds integration_id, value.
pub(crate) const DROP_SUBSCRIPTION: &str = "DELETE FROM sync_subscriptions WHERE integration_id = ?1 AND value = ?2";
/// Binds integration_id.
pub(crate) const DROP_SUBSCRIPTIONS: &str = "DELETE FROM sync_subscriptions WHERE integration_id = ?1";
/// Binds integration_id: collection, value, last_seq.
pub(crate) const VALUE_CURSORS: &str =
    "SELECT collection, value, last_seq FROM sync_value_state WHERE integration_id = ?1";
/// Binds integration_id, collection, value.
pub(crate) const VALUE_CURSOR: &str =
    "SELECT last_seq FROM sync_value_state WHERE integration_id = ?1 AND collection = ?2 AND value = ?3";
/// Binds integration_id, collection, value, last_seq, updated_at: the cursor never moves backwards.
pub(crate) const SAVE_VALUE_CURSOR: &str = "INSERT INTO sync_value_state \
     (integration_id, collection, value, last_seq, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT (integration_id, collection, value) DO UPDATE SET last_seq = excluded.last_seq, \
     updated_at = excluded.updated_at WHERE excluded.last_seq > sync_value_state.last_seq";
/// Binds integration_id, value.
pub(crate) const DROP_VALUE_CURSORS: &str = "DELETE FROM sync_value_state WHERE integration_id = ?1 AND value = ?2";
/// Binds integration_id.
pub(crate) const DROP_ALL_VALUE_CURSORS: &str = "DELETE FROM sync_value_state WHERE integration_id = ?1";
/// The last prepared schema's JSON.
pub(crate) const LOAD_SCHEMA: &str = "SELECT schema_json FROM sync_schema WHERE id = 1";
/// Binds the schema's JSON, updated_at.
pub(crate) const SAVE_SCHEMA: &str = "INSERT INTO sync_schema (id, schema_json, updated_at) VALUES (1, ?1, ?2) \
     ON CONFLICT (id) DO UPDATE SET schema_json = excluded.schema_json, updated_at = excluded.updated_at";

/// This replica's client id.
pub(crate) const CLIENT_ID: &str = "SELECT client_id FROM sync_client WHERE id = 1";
/// Takes the next mutation id.
pub(crate) const NEXT_MUTATION_ID: &str =
    "UPDATE sync_client SET last_mutation_id = last_mutation_id + 1 WHERE id = 1 RETURNING last_mutation_id";
/// Binds mutation_id, integration_id, collection, id, op, fields, base_seq, created_at.
pub(crate) const INSERT_OUTBOX: &str = "INSERT INTO sync_outbox \
     (mutation_id, integration_id, collection, id, op, fields, base_seq, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/// An outbox read: the columns in [`Mutation`](sync_core::Mutation) order, then `ack_seq`.
macro_rules! outbox_select {
    ($where:literal) => {
        concat!("SELECT mutation_id, collection, id, op, fields, base_seq, ack_seq FROM sync_outbox ", $where)
    };
}
/// Binds integration_id, limit: the mutations not acknowledged yet.
pub(crate) const OUTBOX_PENDING: &str =
    outbox_select!("WHERE integration_id = ?1 AND ack_seq IS NULL ORDER BY mutation_id LIMIT ?2");
/// Binds integration_id: every entry.
pub(crate) const OUTBOX_ALL: &str = outbox_select!("WHERE integration_id = ?1 ORDER BY mutation_id");
/// Binds integration_id, collection, id: the row's entries.
pub(crate) const OUTBOX_OF_ROW: &str =
    outbox_select!("WHERE integration_id = ?1 AND collection = ?2 AND id = ?3 ORDER BY mutation_id");
/// Binds ack_seq, mutation_id, integration_id.
pub(crate) const ACK_OUTBOX: &str =
    "UPDATE sync_outbox SET ack_seq = ?1 WHERE mutation_id = ?2 AND integration_id = ?3 RETURNING collection, id";
/// Binds mutation_id, integration_id.
pub(crate) const DROP_OUTBOX: &str =
    "DELETE FROM sync_outbox WHERE mutation_id = ?1 AND integration_id = ?2 RETURNING collection, id";
/// Binds integration_id, through: acknowledged entries up to a mutation id.
pub(crate) const SETTLE_OUTBOX: &str = "DELETE FROM sync_outbox \
     WHERE integration_id = ?1 AND ack_seq IS NOT NULL AND mutation_id <= ?2 RETURNING collection, id";
/// Binds integration_id, collection, cursor: acknowledged entries the collection's cursor has reached.
pub(crate) const SETTLE_BY_CURSOR: &str = "DELETE FROM sync_outbox \
     WHERE integration_id = ?1 AND collection = ?2 AND ack_seq <= ?3 RETURNING id";
/// Binds integration_id, collection, id: the kept server version (seq, row JSON or NULL).
pub(crate) const SHADOW: &str =
    "SELECT seq, row FROM sync_shadow WHERE integration_id = ?1 AND collection = ?2 AND id = ?3";
/// Binds integration_id, collection, id, seq, row: keeps a server version (a newer one replaces it).
pub(crate) const SAVE_SHADOW: &str = "INSERT INTO sync_shadow (integration_id, collection, id, seq, row) \
     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (integration_id, collection, id) \
     DO UPDATE SET seq = excluded.seq, row = excluded.row WHERE excluded.seq > sync_shadow.seq";
/// Binds integration_id, collection, id.
pub(crate) const DROP_SHADOW: &str =
    "DELETE FROM sync_shadow WHERE integration_id = ?1 AND collection = ?2 AND id = ?3";
/// The (integration, collection) pairs holding kept server versions.
pub(crate) const SHADOWED: &str = "SELECT DISTINCT integration_id, collection FROM sync_shadow";
/// Binds integration_id: after a reset, every kept server version of the scope is "no row" until pulled again.
pub(crate) const RESET_SHADOWS: &str =
    "UPDATE sync_shadow SET seq = 0, row = NULL WHERE integration_id = ?1 RETURNING collection, id";

/// A page of live rows of a client table for a UI: `SELECT id, seq, <declared…> FROM t WHERE integration_id = ?
/// [AND <col> = ? | AND <col> IS NULL]… ORDER BY [<col> ASC|DESC,] id LIMIT ? OFFSET ?`. Binds integration_id,
/// the non-null filter values in order, limit, offset. Column names must have been checked against the schema.
pub(crate) fn list_rows(c: &Collection, filter: &[(&str, bool)], order_by: Option<(&str, bool)>) -> String {
    let mut query = Query::select();
    query.columns(["id", "seq"]).columns(declared(c)).from(c.name.clone());
    query.and_where(Expr::col("integration_id").eq(param()));
    for (column, is_null) in filter {
        let column = Expr::col(column.to_string());
        query.and_where(if *is_null { column.is_null() } else { column.eq(param()) });
    }
    if let Some((column, descending)) = order_by {
        query.order_by(column.to_string(), if descending { Order::Desc } else { Order::Asc });
    }
    // The key last, so that pages of equal sort values are stable.
    query.order_by("id", Order::Asc).limit(0).offset(0);
    query.build(SqliteQueryBuilder).0
}

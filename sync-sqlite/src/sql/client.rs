//! The client replica's statements.

use sea_query::{Order, Query, SqliteQueryBuilder};
use sync_core::Collection;

use super::*;

/// The statements of one collection of the client replica.
#[derive(Debug)]
pub(crate) struct ClientSql {
    /// Binds id, integration_id, seq, then the declared columns. An existing row is replaced only by a greater
    /// seq, so an older change never overwrites a newer one (DESIGN.md invariant 5).
    pub(crate) upsert: String,
    /// Binds integration_id, id, seq: deletes the row if the tombstone is newer than it.
    pub(crate) delete: String,
    /// Live rows by id.
    pub(crate) rows: RowsById,
    /// No binds: rows of all scopes.
    pub(crate) count: String,
    /// Binds integration_id: deletes the scope's rows.
    pub(crate) reset: String,
    /// No binds: a row if the table holds any row (of any scope), none if it is empty.
    pub(crate) any: String,
    /// The secondary indexes, dropped while an initial sync loads an empty table and built again after it.
    pub(crate) drop_indexes: Vec<String>,
    /// `CREATE INDEX IF NOT EXISTS` for the secondary indexes.
    pub(crate) create_indexes: Vec<String>,
    /// The full-text index, when the collection declares `full_text` columns.
    pub(crate) fts: Option<Fts>,
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
        let count = Query::select().expr(Expr::cust("COUNT(*)")).from(table.clone()).build(SqliteQueryBuilder).0;
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
            count,
            reset,
            any,
            drop_indexes: drop_indexes(c, Flavor::Client),
            create_indexes: create_indexes(c, Flavor::Client),
            fts: Fts::new(c),
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
/// The last prepared schema's JSON.
pub(crate) const LOAD_SCHEMA: &str = "SELECT schema_json FROM sync_schema WHERE id = 1";
/// Binds the schema's JSON, updated_at.
pub(crate) const SAVE_SCHEMA: &str = "INSERT INTO sync_schema (id, schema_json, updated_at) VALUES (1, ?1, ?2) \
     ON CONFLICT (id) DO UPDATE SET schema_json = excluded.schema_json, updated_at = excluded.updated_at";

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

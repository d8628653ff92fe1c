//! The server store's statements.

use sync_core::Collection;

use super::*;

/// The statements of one collection of the server store.
#[derive(Debug)]
pub(crate) struct ServerSql {
    /// Binds id, integration_id, seq, then the declared columns; revives a tombstone.
    pub(crate) upsert: String,
    /// Binds integration_id, id: the row's `deleted` flag, if it has a row (and its filter value, when the
    /// collection has a declared filter column).
    pub(crate) deleted: String,
    /// Selective sync, when the collection declares a filter column.
    pub(crate) filter: Option<FilterSql>,
    /// Binds seq, integration_id, id: turns a live row into a tombstone with a new seq, nulling the nullable
    /// columns (no one reads them again). Changes nothing for a missing or already-deleted row.
    pub(crate) tombstone: String,
    /// Binds integration_id, since_seq, limit: rows and tombstones in seq order (id, seq, deleted, declared…).
    pub(crate) page: String,
    /// Live rows by id.
    pub(crate) rows: RowsById,
    /// Binds integration_id, id: the declared columns of a live row.
    pub(crate) get: String,
    /// For every (child collection, column) referencing this collection: binds integration_id, the parent id;
    /// selects the ids of the live child rows.
    pub(crate) children: Vec<(String, String)>,
}

/// The statements of a collection's filter column.
#[derive(Debug)]
pub(crate) struct FilterSql {
    /// Position of the filter column among the declared ones; `None` when the filter is `id`.
    pub(crate) column: Option<usize>,
    /// Binds integration_id, value, since_seq: the value's rows and tombstones in seq order (id, seq, deleted,
    /// declared…), read lazily (one range scan of the filter index).
    pub(crate) rows: String,
    /// Binds integration_id, value, bound, limit: the value's newest live rows below the bound, newest first.
    pub(crate) head: String,
}

impl FilterSql {
    fn new(c: &Collection, filter: &str) -> Self {
        let select = || {
            let mut query = Query::select();
            query
                .columns(["id", "seq", "deleted"].map(String::from).into_iter().chain(declared(c)))
                .from(c.name.clone())
                .and_where(Expr::col("integration_id").eq(param()))
                .and_where(Expr::col(filter.to_owned()).eq(param()));
            query
        };
        let rows =
            select().and_where(Expr::col("seq").gt(param())).order_by("seq", Order::Asc).build(SqliteQueryBuilder).0;
        let head = select()
            .and_where(Expr::col("deleted").eq(Expr::cust("0")))
            .and_where(Expr::col("seq").lt(param()))
            .order_by("seq", Order::Desc)
            .limit(0)
            .build(SqliteQueryBuilder)
            .0;
        FilterSql { column: c.column_index(filter), rows, head }
    }
}

impl ServerSql {
    pub(crate) fn new(c: &Collection, schema: &Schema) -> Self {
        let table = c.name.clone();
        let mut upsert = Query::insert();
        upsert
            .into_table(table.clone())
            .columns(["id", "integration_id", "seq", "deleted"].map(String::from).into_iter().chain(declared(c)))
            .values_panic((0..c.columns.len() + 4).map(|i| if i == 3 { Expr::cust("0") } else { param() }))
            .on_conflict(
                OnConflict::columns(["integration_id", "id"])
                    .update_columns(["seq", "deleted"].map(String::from).into_iter().chain(declared(c)))
                    .to_owned(),
            );
        let mut tombstone = Query::update();
        tombstone.table(table.clone()).value("seq", param()).value("deleted", Expr::cust("1"));
        // A tombstone keeps its filter value: filtered pages send it to the value's subscribers.
        let keep = c.filter.as_deref();
        for column in c.columns.iter().filter(|column| column.nullable && Some(column.name.as_str()) != keep) {
            tombstone.value(column.name.clone(), Expr::cust("NULL"));
        }
        tombstone
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("id").eq(param()))
            .and_where(Expr::col("deleted").eq(Expr::cust("0")));
        let filter_column = c.filter.as_deref().filter(|f| *f != "id");
        let deleted = Query::select()
            .column("deleted")
            .columns(filter_column.map(str::to_owned))
            .from(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("id").eq(param()))
            .build(SqliteQueryBuilder)
            .0;
        let page = Query::select()
            .columns(["id", "seq", "deleted"].map(String::from).into_iter().chain(declared(c)))
            .from(table.clone())
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("seq").gt(param()))
            .order_by("seq", Order::Asc)
            .limit(0)
            .build(SqliteQueryBuilder)
            .0;
        let get = Query::select()
            .columns(declared(c))
            .from(table)
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("id").eq(param()))
            .and_where(Expr::col("deleted").eq(Expr::cust("0")))
            .build(SqliteQueryBuilder)
            .0;
        let mut children = Vec::new();
        for child in &schema.collections {
            for column in child.columns.iter().filter(|column| column.references.as_deref() == Some(&c.name)) {
                let select = Query::select()
                    .column("id")
                    .from(child.name.clone())
                    .and_where(Expr::col("integration_id").eq(param()))
                    .and_where(Expr::col(column.name.clone()).eq(param()))
                    .and_where(Expr::col("deleted").eq(Expr::cust("0")))
                    .build(SqliteQueryBuilder)
                    .0;
                children.push((child.name.clone(), select));
            }
        }
        ServerSql {
            upsert: upsert.build(SqliteQueryBuilder).0,
            deleted,
            filter: c.filter.as_deref().map(|f| FilterSql::new(c, f)),
            tombstone: tombstone.build(SqliteQueryBuilder).0,
            page,
            rows: RowsById::new(c, Flavor::Server),
            get,
            children,
        }
    }
}

/// A scope's seq counter. Binds integration_id.
pub(crate) const SCOPE_SEQ: &str = "SELECT seq FROM scopes WHERE integration_id = ?1";
/// Binds integration_id, seq.
pub(crate) const SAVE_SCOPE: &str = "INSERT INTO scopes (integration_id, seq) VALUES (?1, ?2) \
     ON CONFLICT (integration_id) DO UPDATE SET seq = excluded.seq";
/// Adds to a collection's live count and raises its latest seq. Binds integration_id, collection, live delta,
/// latest_seq.
pub(crate) const ADD_COUNTS: &str = "INSERT INTO collection_counts (integration_id, collection, live, latest_seq) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (integration_id, collection) \
     DO UPDATE SET live = live + excluded.live, latest_seq = max(latest_seq, excluded.latest_seq)";
/// Binds integration_id.
pub(crate) const SCOPE_COUNTS: &str =
    "SELECT collection, live, latest_seq FROM collection_counts WHERE integration_id = ?1";
/// A collection's live count and greatest seq. Binds integration_id, collection.
pub(crate) const COLLECTION_HEAD: &str =
    "SELECT live, latest_seq FROM collection_counts WHERE integration_id = ?1 AND collection = ?2";
/// The rows that left a filter value, in seq order. Binds integration_id, collection, old value, since_seq.
pub(crate) const MOVES: &str = "SELECT id, seq FROM moves \
     WHERE integration_id = ?1 AND collection = ?2 AND old_value = ?3 AND seq > ?4 ORDER BY seq";
/// Records that a row left a filter value. Binds integration_id, collection, old value, seq, id.
pub(crate) const SAVE_MOVE: &str =
    "INSERT INTO moves (integration_id, collection, old_value, seq, id) VALUES (?1, ?2, ?3, ?4, ?5)";
/// Binds integration_id, collection.
pub(crate) const COLLECTION_COUNT: &str =
    "SELECT live FROM collection_counts WHERE integration_id = ?1 AND collection = ?2";
/// A client's last processed mutation id and seq bound. Binds integration_id, client_id.
pub(crate) const PUSH_CLIENT: &str =
    "SELECT last_mutation_id, seq FROM push_clients WHERE integration_id = ?1 AND client_id = ?2";
/// Binds integration_id, client_id, last_mutation_id, seq.
pub(crate) const SAVE_PUSH_CLIENT: &str = "INSERT INTO push_clients (integration_id, client_id, last_mutation_id, seq) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (integration_id, client_id) \
     DO UPDATE SET last_mutation_id = excluded.last_mutation_id, seq = excluded.seq";

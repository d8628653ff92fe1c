//! Every SQL text of both stores, in one place.
//!
//! Data-table DDL and the per-collection statements are generated from the schema with sea-query once, when a
//! schema is prepared, and run through rusqlite's statement cache. Statements over the engine's own tables are
//! constants. Placeholders are positional (`?`); each statement's doc says what binds where.

use sea_query::{
    ColumnDef, Expr, ExprTrait, Index, IndexCreateStatement, OnConflict, Order, Query, SqliteQueryBuilder, Table,
};
use sync_core::{Collection, Column, ColumnType, Schema};

/// Which store a data table belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// The client replica: rows only, deleted rows are gone.
    Client,
    /// The server store: rows and tombstones (`deleted = 1`).
    Server,
}

/// The SQLite type a column is stored as.
pub(crate) fn sqlite_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text | ColumnType::Json => "TEXT",
        ColumnType::Integer | ColumnType::Timestamp | ColumnType::Boolean => "INTEGER",
        ColumnType::Real => "REAL",
    }
}

/// The columns every data table has besides the declared ones, with their types.
pub(crate) fn implicit_columns(flavor: Flavor) -> &'static [(&'static str, &'static str)] {
    match flavor {
        Flavor::Client => &[("id", "TEXT"), ("integration_id", "TEXT"), ("seq", "INTEGER")],
        Flavor::Server => &[("id", "TEXT"), ("integration_id", "TEXT"), ("seq", "INTEGER"), ("deleted", "INTEGER")],
    }
}

/// A placeholder: sea-query renders a value as `?` when a statement is built rather than printed.
fn param() -> Expr {
    Expr::val(0)
}

fn column_def(column: &Column) -> ColumnDef {
    let mut def = ColumnDef::new(column.name.clone());
    def.custom(sqlite_type(column.ty));
    if !column.nullable {
        def.not_null();
    }
    def
}

fn declared(c: &Collection) -> impl Iterator<Item = String> + '_ {
    c.columns.iter().map(|column| column.name.clone())
}

/// `CREATE TABLE IF NOT EXISTS` for a collection's data table, keyed by `(integration_id, id)`.
pub(crate) fn create_table(c: &Collection, flavor: Flavor) -> String {
    let mut table = Table::create();
    table.table(c.name.clone()).if_not_exists();
    for (name, ty) in implicit_columns(flavor) {
        let mut def = ColumnDef::new(*name);
        def.custom(*ty).not_null();
        if *name == "deleted" {
            def.default(0);
        }
        table.col(def);
    }
    for column in &c.columns {
        table.col(column_def(column));
    }
    table.primary_key(Index::create().col("integration_id").col("id"));
    table.to_string(SqliteQueryBuilder)
}

fn index(c: &Collection, name: String, columns: &[String]) -> String {
    let mut index = Index::create();
    index.if_not_exists().name(name).table(c.name.clone()).col("integration_id");
    for column in columns {
        index.col(column.clone());
    }
    IndexCreateStatement::to_string(&index, SqliteQueryBuilder)
}

/// A collection's secondary indexes: `(integration_id, seq)` (pages and cursors), then the schema's indexes
/// (client) or one index per reference column so that cascading deletes cost O(children) (server). Each is a
/// name and the columns after `integration_id`.
fn secondary_indexes(c: &Collection, flavor: Flavor) -> Vec<(String, Vec<String>)> {
    let mut out = vec![(format!("idx_{}_seq", c.name), vec!["seq".to_owned()])];
    match flavor {
        Flavor::Client => {
            out.extend(c.indexes.iter().map(|declared| (c.index_name(declared), declared.columns.clone())));
        }
        Flavor::Server => out.extend(
            c.columns
                .iter()
                .filter(|column| column.references.is_some())
                .map(|column| (format!("idx_{}_{}", c.name, column.name), vec![column.name.clone()])),
        ),
    }
    out
}

/// `CREATE INDEX IF NOT EXISTS` for each of a collection's secondary indexes.
pub(crate) fn create_indexes(c: &Collection, flavor: Flavor) -> Vec<String> {
    secondary_indexes(c, flavor).into_iter().map(|(name, columns)| index(c, name, &columns)).collect()
}

/// `DROP INDEX IF EXISTS` for each of a collection's secondary indexes.
fn drop_indexes(c: &Collection, flavor: Flavor) -> Vec<String> {
    secondary_indexes(c, flavor)
        .into_iter()
        .map(|(name, _)| Index::drop().if_exists().name(name).to_string(SqliteQueryBuilder))
        .collect()
}

/// `ALTER TABLE … ADD COLUMN` for a nullable column missing from an existing table.
pub(crate) fn add_column(table: &str, column: &Column) -> String {
    Table::alter().table(table.to_owned()).add_column(column_def(column)).to_string(SqliteQueryBuilder)
}

/// The existing columns of table `?1`: name, type, NOT NULL, has a default, position in the primary key.
pub(crate) const TABLE_INFO: &str =
    "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?1) ORDER BY cid";

/// Live rows in id order: `SELECT id, seq, <declared…> FROM t WHERE integration_id = ? [AND id > ?]
/// [AND deleted = 0] ORDER BY id LIMIT ?`.
#[derive(Debug)]
pub(crate) struct RowsById {
    /// Binds integration_id, limit.
    pub(crate) first: String,
    /// Binds integration_id, after_id, limit.
    pub(crate) after: String,
}

impl RowsById {
    fn new(c: &Collection, flavor: Flavor) -> Self {
        RowsById { first: rows_by_id(c, flavor, false), after: rows_by_id(c, flavor, true) }
    }
}

fn rows_by_id(c: &Collection, flavor: Flavor, after: bool) -> String {
    let mut query = Query::select();
    query.columns(["id", "seq"]).columns(declared(c)).from(c.name.clone());
    query.and_where(Expr::col("integration_id").eq(param()));
    if after {
        query.and_where(Expr::col("id").gt(param()));
    }
    if flavor == Flavor::Server {
        query.and_where(Expr::col("deleted").eq(Expr::cust("0")));
    }
    query.order_by("id", Order::Asc).limit(0);
    query.build(SqliteQueryBuilder).0
}

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

/// The statements of one collection of the server store.
#[derive(Debug)]
pub(crate) struct ServerSql {
    /// Binds id, integration_id, seq, then the declared columns; revives a tombstone.
    pub(crate) upsert: String,
    /// Binds integration_id, id: the row's `deleted` flag, if it has a row.
    pub(crate) deleted: String,
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
        for column in c.columns.iter().filter(|column| column.nullable) {
            tombstone.value(column.name.clone(), Expr::cust("NULL"));
        }
        tombstone
            .and_where(Expr::col("integration_id").eq(param()))
            .and_where(Expr::col("id").eq(param()))
            .and_where(Expr::col("deleted").eq(Expr::cust("0")));
        let deleted = Query::select()
            .column("deleted")
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
/// Binds integration_id, collection.
pub(crate) const COLLECTION_COUNT: &str =
    "SELECT live FROM collection_counts WHERE integration_id = ?1 AND collection = ?2";

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

#[cfg(test)]
mod tests {
    use sync_core::{Collection, Column, ColumnType, Schema};

    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Collection::new("notes", vec![Column::new("body", ColumnType::Text).required()]).index(&["body"]),
            Collection::new("tags", vec![Column::new("note_id", ColumnType::Text).references("notes")]),
        ])
        .expect("valid")
    }

    #[test]
    fn client_statements() {
        let schema = schema();
        let notes = &schema.collections[0];
        assert_eq!(
            create_table(notes, Flavor::Client),
            r#"CREATE TABLE IF NOT EXISTS "notes" ( "id" TEXT NOT NULL, "integration_id" TEXT NOT NULL, "seq" INTEGER NOT NULL, "body" TEXT NOT NULL, PRIMARY KEY ("integration_id", "id") )"#
        );
        assert_eq!(
            create_indexes(notes, Flavor::Client),
            vec![
                r#"CREATE INDEX IF NOT EXISTS "idx_notes_seq" ON "notes" ("integration_id", "seq")"#,
                r#"CREATE INDEX IF NOT EXISTS "idx_notes_body" ON "notes" ("integration_id", "body")"#,
            ]
        );
        let sql = ClientSql::new(notes);
        assert_eq!(
            sql.upsert,
            r#"INSERT INTO "notes" ("id", "integration_id", "seq", "body") VALUES (?, ?, ?, ?) ON CONFLICT ("integration_id", "id") DO UPDATE SET "seq" = "excluded"."seq", "body" = "excluded"."body" WHERE "excluded"."seq" > "notes"."seq""#
        );
        assert_eq!(sql.delete, r#"DELETE FROM "notes" WHERE "integration_id" = ? AND "id" = ? AND "seq" < ?"#);
        assert_eq!(sql.any, r#"SELECT 1 FROM "notes" LIMIT 1"#);
        assert_eq!(sql.drop_indexes, vec![r#"DROP INDEX IF EXISTS "idx_notes_seq""#, r#"DROP INDEX IF EXISTS "idx_notes_body""#]);
        assert_eq!(sql.create_indexes, create_indexes(notes, Flavor::Client));
        assert_eq!(
            sql.rows.after,
            r#"SELECT "id", "seq", "body" FROM "notes" WHERE "integration_id" = ? AND "id" > ? ORDER BY "id" ASC LIMIT ?"#
        );
        assert_eq!(
            add_column("notes", &Column::new("n", ColumnType::Real)),
            r#"ALTER TABLE "notes" ADD COLUMN "n" REAL"#
        );
    }

    #[test]
    fn server_statements() {
        let schema = schema();
        let sql = ServerSql::new(&schema.collections[0], &schema);
        assert_eq!(
            sql.upsert,
            r#"INSERT INTO "notes" ("id", "integration_id", "seq", "deleted", "body") VALUES (?, ?, ?, 0, ?) ON CONFLICT ("integration_id", "id") DO UPDATE SET "seq" = "excluded"."seq", "deleted" = "excluded"."deleted", "body" = "excluded"."body""#
        );
        assert_eq!(
            sql.page,
            r#"SELECT "id", "seq", "deleted", "body" FROM "notes" WHERE "integration_id" = ? AND "seq" > ? ORDER BY "seq" ASC LIMIT ?"#
        );
        assert_eq!(
            sql.children,
            vec![(
                "tags".to_owned(),
                r#"SELECT "id" FROM "tags" WHERE "integration_id" = ? AND "note_id" = ? AND "deleted" = (0)"#.to_owned()
            )]
        );
        let tags = ServerSql::new(&schema.collections[1], &schema);
        assert_eq!(
            tags.tombstone,
            r#"UPDATE "tags" SET "seq" = ?, "deleted" = 1, "note_id" = NULL WHERE "integration_id" = ? AND "id" = ? AND "deleted" = (0)"#
        );
        assert_eq!(
            create_indexes(&schema.collections[1], Flavor::Server)[1],
            r#"CREATE INDEX IF NOT EXISTS "idx_tags_note_id" ON "tags" ("integration_id", "note_id")"#
        );
    }
}
